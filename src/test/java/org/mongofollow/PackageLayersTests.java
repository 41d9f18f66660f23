package org.mongofollow;

import org.junit.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The plugin's packages form the layers the README's layout section names: a package uses only packages of its own layer
 * or of the layers below it, so that there is no cycle between them. Read from the sources (code, not comments).
 */
public class PackageLayersTests {

    /** Layer of each package, lowest first; "" is the plugin class's own package. */
    private static final Map<String, Integer> LAYERS = Map.ofEntries(
        Map.entry("operation", 1),
        Map.entry("memory", 1),
        Map.entry("apply", 2),
        Map.entry("source", 3),
        Map.entry("metadata", 4),
        Map.entry("security", 4),
        Map.entry("task", 5),
        Map.entry("copy", 6),
        Map.entry("action", 7),
        Map.entry("rest", 8),
        Map.entry("", 9)
    );

    private static final Path SOURCES = Path.of("src/main/java/org/mongofollow");
    private static final Pattern REFERENCE = Pattern.compile("org\\.mongofollow\\.(?:([a-z]+)\\.)?[A-Z]");
    private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    @Test
    public void everyPackageUsesOnlyItsLayerAndTheLayersBelow() throws IOException {
        List<String> violations = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(SOURCES)) {
            files = walk.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertTrue("no sources under " + SOURCES.toAbsolutePath(), files.size() > 50);
        for (Path file : files) {
            String own = SOURCES.relativize(file.getParent() == null ? SOURCES : file.getParent()).toString().replace('/', '.');
            Integer ownLayer = LAYERS.get(own);
            if (ownLayer == null) {
                violations.add(file + ": package [" + own + "] has no layer (add it here and to the README's layout)");
                continue;
            }
            String code = COMMENT.matcher(Files.readString(file, StandardCharsets.UTF_8)).replaceAll(" ");
            Matcher m = REFERENCE.matcher(code);
            while (m.find()) {
                String used = m.group(1) == null ? "" : m.group(1);
                Integer usedLayer = LAYERS.get(used);
                if (usedLayer == null || usedLayer > ownLayer) {
                    violations.add(SOURCES.relativize(file) + " (layer " + ownLayer + ") uses [" + used + "] (layer " + usedLayer + ")");
                }
            }
        }
        assertEquals("uses against the layering:\n" + String.join("\n", violations), List.of(), violations);
    }
}

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
 * or of the layers below it, so that there is no cycle between them. Read from the sources (code, not comments). The
 * compatibility layer ({@code compat}, one source root per Elasticsearch line under {@code src/es8} and {@code src/es9}) is
 * the lowest: it knows Elasticsearch's versions and nothing of the plugin.
 */
public class PackageLayersTests {

    /** Layer of each package, lowest first; "" is the plugin class's own package. */
    private static final Map<String, Integer> LAYERS = Map.ofEntries(
        Map.entry("compat", 0),
        Map.entry("operation", 1),
        Map.entry("memory", 1),
        Map.entry("apply", 2),
        Map.entry("source", 3),
        Map.entry("ingest", 3),
        Map.entry("metadata", 4),
        Map.entry("security", 4),
        Map.entry("task", 5),
        Map.entry("copy", 6),
        Map.entry("action", 7),
        Map.entry("autofollow", 8),
        Map.entry("rest", 9),
        Map.entry("", 10)
    );

    private static final Path SOURCES = Path.of("src/main/java/org/mongofollow");
    private static final List<Path> COMPAT_SOURCES = List.of(
        Path.of("src/es8/main/java/org/mongofollow"),
        Path.of("src/es9/main/java/org/mongofollow")
    );
    private static final Pattern REFERENCE = Pattern.compile("org\\.mongofollow\\.(?:([a-z]+)\\.)?[A-Z]");
    private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    @Test
    public void everyPackageUsesOnlyItsLayerAndTheLayersBelow() throws IOException {
        List<String> violations = new ArrayList<>();
        List<Path> files = javaFiles(SOURCES);
        assertTrue("no sources under " + SOURCES.toAbsolutePath(), files.size() > 50);
        List<Path> roots = new ArrayList<>();
        files.forEach(f -> roots.add(SOURCES));
        for (Path compat : COMPAT_SOURCES) {
            List<Path> compatFiles = javaFiles(compat);
            assertTrue("no sources under " + compat.toAbsolutePath(), compatFiles.isEmpty() == false);
            files = new ArrayList<>(files);
            files.addAll(compatFiles);
            compatFiles.forEach(f -> roots.add(compat));
        }
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Path root = roots.get(i);
            String own = root.relativize(file.getParent()).toString().replace('/', '.');
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
                    violations.add(root.relativize(file) + " (layer " + ownLayer + ") uses [" + used + "] (layer " + usedLayer + ")");
                }
            }
        }
        assertEquals("uses against the layering:\n" + String.join("\n", violations), List.of(), violations);
    }

    private static List<Path> javaFiles(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }
}

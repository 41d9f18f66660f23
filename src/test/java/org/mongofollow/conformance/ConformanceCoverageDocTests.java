package org.mongofollow.conformance;

import org.junit.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Keeps the audit tables honest: {@code docs/conformance-coverage.md} names only cases that exist and names every
 * case, and every row of the mapping table in {@code docs/bson-mapping.md} names a test that exists.
 */
public class ConformanceCoverageDocTests {

    private static final Path CASES = Paths.get("src/test/resources/conformance");
    private static final Pattern CASE_NAME = Pattern.compile("`((?:[ps]\\d{3}|\\d{2}[a-z]?)_[^`\\s]+)`");
    private static final Pattern TEST_NAME = Pattern.compile("`([A-Za-z][A-Za-z0-9]*)`");

    private static Set<String> caseNames() throws IOException {
        Set<String> names = new TreeSet<>();
        try (Stream<Path> files = Files.walk(CASES)) {
            files.filter(p -> p.toString().endsWith(".json"))
                .forEach(p -> names.add(p.getFileName().toString().replaceFirst("\\.json$", "")));
        }
        return names;
    }

    @Test
    public void coverageDocNamesExactlyTheCases() throws IOException {
        String doc = Files.readString(Paths.get("docs/conformance-coverage.md"), StandardCharsets.UTF_8);
        Set<String> named = new TreeSet<>();
        Matcher m = CASE_NAME.matcher(doc);
        while (m.find()) {
            named.add(m.group(1));
        }
        Set<String> cases = caseNames();
        assertTrue("the cases were not found under " + CASES.toAbsolutePath(), cases.size() > 60);
        Set<String> unknown = new TreeSet<>(named);
        unknown.removeAll(cases);
        assertEquals("docs/conformance-coverage.md names cases that do not exist", Set.of(), unknown);
        Set<String> unlisted = new TreeSet<>(cases);
        unlisted.removeAll(named);
        assertEquals("cases missing from docs/conformance-coverage.md (add each to the rules it exercises)", Set.of(), unlisted);
    }

    @Test
    public void everyMappingRowNamesATestThatExists() throws IOException {
        List<String> rows = new ArrayList<>();
        boolean inTable = false;
        for (String line : Files.readAllLines(Paths.get("docs/bson-mapping.md"), StandardCharsets.UTF_8)) {
            if (line.startsWith("| BSON type |")) {
                inTable = true;
            } else if (inTable && line.startsWith("|---") == false) {
                if (line.startsWith("|") == false) {
                    break;
                }
                rows.add(line);
            }
        }
        assertTrue("the mapping table of docs/bson-mapping.md was not found", rows.size() >= 20);
        String tests;
        try (Stream<Path> files = Files.walk(Paths.get("src/test/java"))) {
            StringBuilder all = new StringBuilder();
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                all.append(Files.readString(file, StandardCharsets.UTF_8)).append('\n');
            }
            tests = all.toString();
        }
        for (String row : rows) {
            String[] cells = row.split("\\|");
            String testCell = cells[cells.length - 1].isBlank() ? cells[cells.length - 2] : cells[cells.length - 1];
            Matcher m = TEST_NAME.matcher(testCell);
            List<String> names = new ArrayList<>();
            while (m.find()) {
                names.add(m.group(1));
            }
            assertFalse("row names no test: " + row, names.isEmpty());
            for (String name : names) {
                assertTrue("test [" + name + "] of row " + row + " does not exist",
                    Pattern.compile("public void " + name + "\\(").matcher(tests).find());
            }
        }
    }
}

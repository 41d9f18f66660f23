package org.mongofollow.rest.yaml;

import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One YAML REST test file in Elasticsearch's format: documents separated by {@code ---}, each with one
 * key: {@code setup}, {@code teardown}, or a test name, whose value is the list of steps.
 */
record YamlTestFile(String name, List<Map<String, Object>> setup, List<Map<String, Object>> teardown, List<Section> tests) {

    record Section(String name, List<Map<String, Object>> steps) {}

    @SuppressWarnings("unchecked")
    static YamlTestFile parse(String name, Path file) throws IOException {
        List<Map<String, Object>> setup = List.of();
        List<Map<String, Object>> teardown = List.of();
        List<Section> tests = new ArrayList<>();
        for (String document : Files.readString(file, StandardCharsets.UTF_8).split("(?m)^---\\s*$")) {
            if (document.lines().allMatch(line -> line.isBlank() || line.stripLeading().startsWith("#"))) {
                continue;
            }
            Map<String, Object> parsed = XContentHelper.convertToMap(XContentType.YAML.xContent(), document, true);
            if (parsed.size() != 1) {
                throw new IllegalArgumentException(file + ": each document must have exactly one section, got " + parsed.keySet());
            }
            Map.Entry<String, Object> section = parsed.entrySet().iterator().next();
            List<Map<String, Object>> steps = (List<Map<String, Object>>) section.getValue();
            switch (section.getKey()) {
                case "setup" -> setup = steps;
                case "teardown" -> teardown = steps;
                default -> tests.add(new Section(section.getKey(), steps));
            }
        }
        return new YamlTestFile(name, setup, teardown, tests);
    }
}

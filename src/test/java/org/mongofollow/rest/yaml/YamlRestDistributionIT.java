package org.mongofollow.rest.yaml;

import org.elasticsearch.client.Request;
import org.elasticsearch.client.RestClient;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs every YAML REST test under {@code rest-api-spec/test/} against the real Elasticsearch
 * distribution with the built plugin installed ({@code -Dtests.rest.cluster=host:port}, started by
 * {@code scripts/es-node} in Maven's pre-integration-test phase). One JUnit test per YAML test section.
 */
@RunWith(Parameterized.class)
public class YamlRestDistributionIT {

    private static RestClient client;
    private static RestApiSpec spec;

    private final YamlTestFile file;
    private final YamlTestFile.Section section;

    public YamlRestDistributionIT(String name, YamlTestFile file, YamlTestFile.Section section) {
        this.file = file;
        this.section = section;
    }

    @Parameterized.Parameters(name = "{0}")
    public static List<Object[]> tests() throws IOException, URISyntaxException {
        URL root = YamlRestDistributionIT.class.getClassLoader().getResource("rest-api-spec/test");
        if (root == null) {
            throw new IllegalStateException("no rest-api-spec/test on the test classpath");
        }
        Path rootPath = Path.of(root.toURI());
        List<Object[]> tests = new ArrayList<>();
        try (Stream<Path> files = Files.walk(rootPath)) {
            for (Path path : files.filter(p -> p.toString().endsWith(".yml")).sorted().toList()) {
                String name = rootPath.relativize(path).toString();
                YamlTestFile file = YamlTestFile.parse(name, path);
                for (YamlTestFile.Section section : file.tests()) {
                    tests.add(new Object[] { name + " / " + section.name(), file, section });
                }
            }
        }
        if (tests.isEmpty()) {
            throw new IllegalStateException("no YAML REST tests found under " + rootPath);
        }
        return tests;
    }

    @BeforeClass
    public static void connect() throws IOException {
        client = org.mongofollow.rest.DistributionHttp.connect();
        spec = RestApiSpec.load("rest-api-spec/api", "rest-api-spec-core/api");
    }

    @AfterClass
    public static void disconnect() throws IOException {
        if (client != null) {
            client.close();
        }
    }

    @Test
    public void test() throws IOException {
        YamlTestExecutor executor = new YamlTestExecutor(client, spec);
        executor.run(file.setup());
        try {
            executor.run(section.steps());
        } finally {
            executor.run(file.teardown());
        }
    }

    /** Every test starts from an empty cluster: delete the auto-follow patterns and the indices the test made. */
    @After
    public void wipeIndices() throws IOException {
        org.mongofollow.rest.DistributionHttp.deleteAutoFollowPatterns(client);
        Request delete = new Request("DELETE", "/*,-.*");
        delete.addParameter("expand_wildcards", "open,closed,hidden");
        client.performRequest(delete);
    }
}

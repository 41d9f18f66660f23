package org.mongofollow.rest;

import org.apache.http.entity.ContentType;
import org.apache.http.entity.StringEntity;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;
import org.junit.AfterClass;
import org.junit.Assume;
import org.junit.BeforeClass;
import org.junit.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * A follow of a MongoDB that nothing answers for is refused within a bounded time even when the
 * connection string sets no timeout: the plugin's default server selection timeout (10s) applies, and the
 * answer is a 503 (the YAML tests cover the same with a short serverSelectionTimeoutMS). A refused follow
 * leaves no MongoDB client behind.
 */
public class UnreachableMongoDistributionIT {

    private static RestClient client;

    @BeforeClass
    public static void connect() {
        client = DistributionHttp.connect();
    }

    @AfterClass
    public static void disconnect() throws IOException {
        if (client != null) {
            client.close();
        }
    }

    @Test
    public void testUnreachableWithoutTimeoutInTheConnectionStringAnswersWithinTheDefaultTimeout() throws IOException {
        Request put = new Request("PUT", "/unreachable-default-timeout/_mongo_follow");
        put.setEntity(new StringEntity("""
            {"connection": "mongodb://127.0.0.1:1/?replicaSet=rs0", "database": "shop", "collection": "orders", "initial_copy": false}
            """, ContentType.APPLICATION_JSON));
        long start = System.nanoTime();
        Response response;
        try {
            response = client.performRequest(put);
        } catch (ResponseException e) {
            response = e.getResponse();
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        String body = EntityUtils.toString(response.getEntity());
        assertEquals(body, 503, response.getStatusLine().getStatusCode());
        assertTrue(body, body.contains("cannot reach a MongoDB replica set member at [mongodb://127.0.0.1:1/?replicaSet=rs0]"));
        assertTrue("answered after " + seconds + "s", seconds >= 9 && seconds < 20);

        Response missing;
        try {
            missing = client.performRequest(new Request("GET", "/unreachable-default-timeout/_settings"));
        } catch (ResponseException e) {
            missing = e.getResponse();
        }
        assertEquals("nothing is created when the probe fails", 404, missing.getStatusLine().getStatusCode());
    }

    /**
     * Every refused follow of an unreachable MongoDB used to leave its MongoDB client behind, with a thread
     * monitoring that endpoint for the life of the node. Counted from the node's threads in /proc: the
     * driver names its monitor threads "cluster-..." (the kernel keeps the first 15 characters).
     */
    @Test
    public void testRefusedFollowsLeaveNoMongoClientBehind() throws Exception {
        Path pidFile = Path.of(System.getProperty("tests.es.logs")).toAbsolutePath().getParent().resolve("es.pid");
        String pid = Files.readString(pidFile).trim();
        Assume.assumeTrue("needs /proc", Files.isDirectory(Path.of("/proc", pid, "task")));
        long before = mongoMonitorThreads(pid);
        for (int port = 2; port < 8; port++) {
            Request put = new Request("PUT", "/unreachable-" + port + "/_mongo_follow");
            put.setEntity(new StringEntity("""
                {"connection": "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=200", "database": "shop", "collection": "orders", "initial_copy": false}
                """.formatted(port), ContentType.APPLICATION_JSON));
            ResponseException e = assertThrows(ResponseException.class, () -> client.performRequest(put));
            assertEquals(503, e.getResponse().getStatusLine().getStatusCode());
        }
        long after = mongoMonitorThreads(pid);
        assertTrue("MongoDB monitor threads before: " + before + ", after 6 refused follows: " + after, after <= before);
    }

    private static long mongoMonitorThreads(String pid) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", pid, "task"))) {
            return tasks.filter(task -> {
                try {
                    return Files.readString(task.resolve("comm")).startsWith("cluster-");
                } catch (IOException e) {
                    return false; // the thread ended meanwhile
                }
            }).count();
        }
    }
}

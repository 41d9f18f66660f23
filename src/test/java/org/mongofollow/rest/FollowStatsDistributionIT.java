package org.mongofollow.rest;

import org.mongofollow.rest.DistributionHttp.Answer;
import org.elasticsearch.client.RestClient;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The shard-level shapes of {@code _stats} and {@code _cat/mongo_follow} of a running follow, on the real
 * distribution. A shard task starts on its node shortly after {@code PUT} or {@code _resume} answers (it
 * asks MongoDB for the head of the oplog first) and appears in the stats once it runs, so these checks
 * wait for it; the YAML tests check what is decided synchronously (statuses, parameters, errors).
 */
public class FollowStatsDistributionIT {

    /** Every per-shard field of DESIGN.md section 5 that the follow engine fills (initial_copy comes with the copy). */
    private static final List<String> SHARD_FIELDS = List.of(
        "index", "shard_id", "source", "status",
        "source_head_position", "last_requested_position", "checkpoint", "lag_millis",
        "outstanding_read_requests", "outstanding_write_requests", "write_buffer_operation_count", "write_buffer_size_in_bytes",
        "successful_read_requests", "failed_read_requests", "operations_read", "operations_skipped", "bytes_read",
        "total_read_time_millis",
        "successful_write_requests", "failed_write_requests", "operations_written", "documents_rejected", "total_write_time_millis",
        "read_exceptions", "time_since_last_read_millis", "fatal_exception"
    );

    private static RestClient client;
    private static String connection;

    @BeforeClass
    public static void connect() {
        client = DistributionHttp.connect();
        connection = "mongodb://127.0.0.1:" + System.getProperty("tests.mongo.port") + "/?replicaSet=rs0";
    }

    @AfterClass
    public static void disconnect() throws IOException {
        if (client != null) {
            client.close();
        }
    }

    @After
    public void deleteIndices() throws IOException {
        DistributionHttp.deleteIndices(client, "stats-*");
    }

    /**
     * A follow of the embedded sharded cluster's oplogs through its mongos: each shard task lists the MongoDB shards it reads,
     * with how far it has read each one's oplog, at or after its checkpoint; the index's line sums them up (per MongoDB shard
     * the follower shard furthest behind, and the lowest checkpoint).
     */
    @Test
    @SuppressWarnings("unchecked")
    public void testAShardedFollowListsTheMongoDBShardsItReads() throws Exception {
        String mongos = "mongodb://127.0.0.1:" + System.getProperty("tests.mongo.sharded.port");
        assertEquals(200, call("PUT", "/stats-sharded/_mongo_follow", """
            {"connection": "%s", "database": "shop", "collection": "sharded", "initial_copy": false, "source": "auto",
             "settings": {"index.number_of_shards": 2, "index.number_of_replicas": 0}}
            """.formatted(mongos)).status());
        Map<String, Object> index = null;
        List<Map<String, Object>> shards = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        do {
            index = indexStats("stats-sharded");
            shards = (List<Map<String, Object>>) index.get("shards");
            if (shards.size() == 2 && shards.stream().allMatch(s -> s.get("mongodb_shards") != null && s.get("checkpoint") != null)) {
                break;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        assertTrue(String.valueOf(index), shards.size() == 2 && shards.stream().allMatch(s -> s.get("mongodb_shards") != null));
        Map<String, String> lowestReadTo = new java.util.TreeMap<>();
        String lowestCheckpoint = null;
        for (Map<String, Object> shard : shards) {
            List<Map<String, Object>> mongodbShards = (List<Map<String, Object>>) shard.get("mongodb_shards");
            assertEquals(String.valueOf(shard), List.of("shard0", "shard1"), mongodbShards.stream().map(s -> s.get("shard")).toList());
            String checkpoint = (String) shard.get("checkpoint");
            for (Map<String, Object> mongodbShard : mongodbShards) {
                String readTo = (String) mongodbShard.get("read_to");
                assertTrue(shard.toString(), comparePositions(readTo, checkpoint) >= 0);
                lowestReadTo.merge((String) mongodbShard.get("shard"), readTo, (a, b) -> comparePositions(a, b) <= 0 ? a : b);
            }
            lowestCheckpoint = lowestCheckpoint == null || comparePositions(checkpoint, lowestCheckpoint) < 0 ? checkpoint : lowestCheckpoint;
            assertNull(shard.get("fatal_exception"));
        }
        // the index's summary, from the same answer
        assertEquals(String.valueOf(index), lowestCheckpoint, index.get("checkpoint"));
        Map<String, String> summary = new java.util.TreeMap<>();
        for (Map<String, Object> mongodbShard : (List<Map<String, Object>>) index.get("mongodb_shards")) {
            summary.put((String) mongodbShard.get("shard"), (String) mongodbShard.get("read_to"));
        }
        assertEquals(String.valueOf(index), lowestReadTo, summary);
    }

    /**
     * The plugin's entitlement policy covers what the bundled MongoDB driver does on a follow: after a follow has opened its
     * client and read, the node's log holds no "Not entitled" line for the plugin. Elasticsearch 9 enforces the policy (a
     * refusal is logged at each client the driver opens, as its read of /.dockerenv was); 8.19 on Java 17 does not.
     */
    @Test
    @SuppressWarnings("unchecked")
    public void testTheDriverNeedsNothingBeyondTheEntitlementPolicy() throws Exception {
        assertEquals(200, call("PUT", "/stats-entitled/_mongo_follow", """
            {"connection": "%s", "database": "shop", "collection": "entitled", "initial_copy": false,
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0}}
            """.formatted(connection)).status());
        waitForShards("stats-entitled", 1);
        List<Map<String, Object>> feeds = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        do {
            feeds = (List<Map<String, Object>>) parse(call("GET", "/stats-entitled/_mongo_follow/_stats", null).body()).get("feeds");
            if (feeds.size() == 1 && ((Number) feeds.get(0).get("mongo_reads")).longValue() > 0) {
                break;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        assertTrue("the follow's client never read: " + feeds, feeds.size() == 1 && ((Number) feeds.get(0).get("mongo_reads")).longValue() > 0);
        List<String> refused = new java.util.ArrayList<>();
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(java.nio.file.Path.of(System.getProperty("tests.es.logs")))) {
            for (java.nio.file.Path file : files.filter(p -> p.toString().endsWith(".log")).toList()) {
                for (String line : java.nio.file.Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8)) {
                    if (line.contains("Not entitled") && line.contains("component [mongo-follow]")) {
                        refused.add(line);
                    }
                }
            }
        }
        assertEquals("entitlements the policy lacks", List.of(), refused);
    }

    /** "seconds:increment" positions compared. */
    private static int comparePositions(String a, String b) {
        String[] x = a.split(":");
        String[] y = b.split(":");
        int bySeconds = Long.compare(Long.parseLong(x[0]), Long.parseLong(y[0]));
        return bySeconds != 0 ? bySeconds : Long.compare(Long.parseLong(x[1]), Long.parseLong(y[1]));
    }

    @Test
    @SuppressWarnings("unchecked")
    public void testShardStatsAndCatLinesThroughPauseAndResume() throws Exception {
        assertEquals(200, call("PUT", "/stats-follower/_mongo_follow", """
            {"connection": "%s", "database": "shop", "collection": "orders", "initial_copy": false,
             "settings": {"index.number_of_shards": 2, "index.number_of_replicas": 0}}
            """.formatted(connection)).status());

        List<Map<String, Object>> shards = waitForShards("stats-follower", 2);
        for (int i = 0; i < 2; i++) {
            Map<String, Object> shard = shards.get(i);
            for (String field : SHARD_FIELDS) {
                assertTrue("no [" + field + "] in " + shard, shard.containsKey(field));
            }
            assertEquals("stats-follower", shard.get("index"));
            assertEquals(i, shard.get("shard_id"));
            assertEquals(connection + " shop.orders", shard.get("source"));
            assertEquals("active", shard.get("status"));
            assertTrue(shard.toString(), ((String) shard.get("checkpoint")).matches("\\d+:\\d+"));
            assertEquals(0, shard.get("failed_read_requests"));
            assertEquals(0, shard.get("failed_write_requests"));
            assertEquals(0, shard.get("operations_written"));
            assertEquals(List.of(), shard.get("read_exceptions"));
            assertNull(shard.get("fatal_exception"));
        }

        // sizes in bytes (?bytes=b), numeric errors, no failure while it runs (failure_reason left out by default)
        String sized = call("GET", "/_cat/mongo_follow/stats-follower?h=shard,buffered_size,bytes_read,errors,failure_reason&bytes=b&format=json", null).body();
        List<Object> rows;
        try (var parser = XContentType.JSON.xContent().createParser(org.elasticsearch.xcontent.XContentParserConfiguration.EMPTY, sized)) {
            rows = parser.list();
        }
        assertEquals(sized, 2, rows.size());
        for (Map<String, Object> row : (List<Map<String, Object>>) (List<?>) rows) {
            assertTrue(sized, String.valueOf(row.get("buffered_size")).matches("\\d+"));
            assertTrue(sized, String.valueOf(row.get("bytes_read")).matches("\\d+"));
            assertEquals(sized, "0", row.get("errors"));
            assertNull(sized, row.get("failure_reason"));
        }

        // the node's feed of the follow's endpoint, which both shards read through: its first read (a tail at the head)
        // is counted once it returns
        List<Map<String, Object>> feeds = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        do {
            feeds = (List<Map<String, Object>>) parse(call("GET", "/stats-follower/_mongo_follow/_stats", null).body()).get("feeds");
            if (feeds.size() == 1 && ((Number) feeds.get(0).get("mongo_reads")).longValue() > 0) {
                break;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        assertEquals(feeds.toString(), 1, feeds.size());
        assertEquals(connection, feeds.get(0).get("source"));
        for (String field : List.of("node", "mongo_reads", "entries_read", "bytes_read", "reads_served_from_window", "window_size_in_bytes", "window_segments")) {
            assertTrue("no [" + field + "] in " + feeds.get(0), feeds.get(0).containsKey(field));
        }
        assertTrue(feeds.toString(), ((Number) feeds.get(0).get("mongo_reads")).longValue() > 0);

        // ?human adds the readable form of each duration and size next to the number, as CCR's stats do
        Map<String, Object> human = (Map<String, Object>) ((List<Map<String, Object>>) indexStats("stats-follower", "?human").get("shards")).get(0);
        Map<String, String> readable = Map.of("lag_millis", "lag", "write_buffer_size_in_bytes", "write_buffer_size",
            "total_read_time_millis", "total_read_time", "total_write_time_millis", "total_write_time",
            "time_since_last_read_millis", "time_since_last_read");
        readable.forEach((raw, field) -> {
            // (a duration not known yet, -1, stays a number only)
            assertEquals(field + " in " + human, ((Number) human.get(raw)).longValue() >= 0, human.containsKey(field));
        });
        assertTrue(human.toString(), ((String) human.get("write_buffer_size")).matches("\\d+(\\.\\d+)?[kmgt]?b"));
        assertTrue(human.toString(), ((String) human.get("total_read_time")).matches("\\d+(\\.\\d+)?(nanos|micros|ms|s|m|h|d)"));
        assertFalse("no readable fields without ?human: " + shards.get(0), shards.get(0).containsKey("write_buffer_size"));
        Map<String, Object> humanFeeds = parse(call("GET", "/stats-follower/_mongo_follow/_stats?human", null).body());
        assertTrue(humanFeeds.toString(), ((List<Map<String, Object>>) humanFeeds.get("feeds")).get(0).containsKey("window_size"));

        // (lag in milliseconds with ?time=ms; empty until the shard knows the source head)
        String line = "stats-follower\\s+%d\\s+active\\s+\\d+:\\d+\\s+(\\d+\\s+)?\\d+\\s+\\d+\\s+0\\s*";
        String cat = call("GET", "/_cat/mongo_follow?v&time=ms", null).body();
        assertTrue(cat, cat.matches(
            "(?s)index\\s+shard\\s+status\\s+checkpoint\\s+lag\\s+buffered_ops\\s+ops_written\\s+errors\\s+copy\\s+copy_rate\\s+copy_eta\\s*\n"
                + line.formatted(0) + "\n" + line.formatted(1) + "\n"
        ));

        // paused: no shard tasks, one cat line with an empty shard
        assertEquals(200, call("POST", "/stats-follower/_mongo_follow/_pause", null).status());
        Map<String, Object> index = indexStats("stats-follower");
        assertEquals("paused", index.get("status"));
        assertEquals(List.of(), index.get("shards"));
        cat = call("GET", "/_cat/mongo_follow/stats-follower", null).body();
        assertTrue(cat, cat.matches("stats-follower\\s+paused\\s*\n"));

        // resumed: the shards come back, from the kept checkpoints
        assertEquals(200, call("POST", "/stats-follower/_mongo_follow/_resume", null).status());
        shards = waitForShards("stats-follower", 2);
        assertEquals("active", shards.get(0).get("status"));
        assertEquals("active", shards.get(1).get("status"));
        cat = call("GET", "/_cat/mongo_follow/stats-follower?h=index,shard,status", null).body();
        assertTrue(cat, cat.matches("stats-follower\\s+0\\s+active\\s*\nstats-follower\\s+1\\s+active\\s*\n"));

        // unfollowed: gone from stats and cat
        assertEquals(200, call("POST", "/stats-follower/_mongo_follow/_unfollow", null).status());
        assertEquals(List.of(), parse(call("GET", "/_mongo_follow/_stats", null).body()).get("indices"));
        assertEquals("", call("GET", "/_cat/mongo_follow", null).body());
    }

    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> waitForShards(String index, int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Map<String, Object> stats;
        do {
            stats = indexStats(index);
            List<Map<String, Object>> shards = (List<Map<String, Object>>) stats.get("shards");
            if (shards.size() == count && shards.stream().allMatch(activeShard())) {
                return shards;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        fail("the " + count + " shard tasks of [" + index + "] did not start within 20s: " + stats);
        return null;
    }

    private static Predicate<Map<String, Object>> activeShard() {
        return shard -> "active".equals(shard.get("status"));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> indexStats(String index) throws IOException {
        return indexStats(index, "");
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> indexStats(String index, String query) throws IOException {
        Answer answer = call("GET", "/" + index + "/_mongo_follow/_stats" + query, null);
        assertEquals(answer.body(), 200, answer.status());
        List<Map<String, Object>> indices = (List<Map<String, Object>>) parse(answer.body()).get("indices");
        assertEquals(answer.body(), 1, indices.size());
        return indices.get(0);
    }


    private static Map<String, Object> parse(String json) {
        return XContentHelper.convertToMap(XContentType.JSON.xContent(), json, true);
    }

    private static Answer call(String method, String path, String json) throws IOException {
        return DistributionHttp.call(client, method, path, json);
    }
}

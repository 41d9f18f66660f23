package org.mongofollow.rest;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.Document;
import org.elasticsearch.client.RestClient;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mongofollow.rest.DistributionHttp.Answer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The plugin on the real distribution with security on (the test node: {@code scripts/es-node} with
 * {@code ES_SECURITY=true}; users and roles from {@code src/test/resources/security/}): the built-in privileges
 * authorise every endpoint ({@code manage} to change a follow, {@code monitor} to see it), lists show only what the
 * caller may monitor, a follow writes as the user or API key that started it and stops, explained, when that user
 * loses the privilege, the connection allowlist holds, and no password or stored security header shows in any response,
 * log or audit log.
 */
public class SecurityDistributionIT {

    private static final String FOLLOW_USER = "follow-user";
    private static final String MONITOR_USER = "monitor-user";
    private static final String REVOCABLE_USER = "revocable-user";
    private static final String AUTO_USER = "auto-user";

    private static RestClient admin;
    private static RestClient follower;
    private static RestClient monitor;
    private static RestClient revocable;
    private static RestClient auto;
    private static MongoClient mongo;
    private static String connection;
    private static Path logs;

    /** Every response body this test saw. */
    private static final Map<String, String> seen = new LinkedHashMap<>();

    @BeforeClass
    public static void connect() {
        admin = DistributionHttp.connect();
        follower = DistributionHttp.connect(FOLLOW_USER, FOLLOW_USER + "-pw");
        monitor = DistributionHttp.connect(MONITOR_USER, MONITOR_USER + "-pw");
        revocable = DistributionHttp.connect(REVOCABLE_USER, REVOCABLE_USER + "-pw");
        auto = DistributionHttp.connect(AUTO_USER, AUTO_USER + "-pw");
        connection = "mongodb://127.0.0.1:" + System.getProperty("tests.mongo.port") + "/?replicaSet=rs0";
        mongo = MongoClients.create(connection);
        logs = Path.of(System.getProperty("tests.es.logs"));
    }

    @AfterClass
    public static void disconnect() throws IOException {
        for (RestClient client : new RestClient[] { admin, follower, monitor, revocable, auto }) {
            if (client != null) {
                client.close();
            }
        }
        if (mongo != null) {
            mongo.close();
        }
    }

    @After
    public void cleanUp() throws IOException {
        DistributionHttp.deleteAutoFollowPatterns(admin);
        call(admin, "PUT", "/_cluster/settings",
            "{\"persistent\": {\"mongo_follow.connection.allowlist\": null, \"mongo_follow.auto_follow.poll_interval\": null}}");
        DistributionHttp.deleteIndices(admin, "sec-*,allowed-*,other-*,revocable-*,.mongo-follow-rejected");
    }

    @Test
    public void testPrivilegesOfEveryEndpoint() throws Exception {
        // a superuser follows anything
        assertEquals(200, put(admin, "sec-admin", "admin_src").status());
        // a user with manage and write on allowed-* follows into allowed-x, and the follow writes as that user
        Answer put = put(follower, "allowed-x", "allowed_src");
        assertEquals(put.body(), 200, put.status());
        // ... but not into other-x: a 403 that names the action, the user and the index, and no index is created
        Answer refused = put(follower, "other-x", "allowed_src");
        assertEquals(refused.body(), 403, refused.status());
        assertTrue(refused.body(), refused.body().contains("security_exception"));
        assertTrue(refused.body(), refused.body().contains("indices:admin/mongo_follow/put"));
        assertTrue(refused.body(), refused.body().contains("[" + FOLLOW_USER + "]"));
        assertTrue(refused.body(), refused.body().contains("[other-x]"));
        assertEquals(404, call(admin, "GET", "/other-x", null).status());
        for (String action : List.of("_pause", "_resume", "_unfollow", "_resync")) {
            Answer answer = call(follower, "POST", "/sec-admin/_mongo_follow/" + action, null);
            assertEquals(action + ": " + answer.body(), 403, answer.status());
            assertTrue(answer.body(), answer.body().contains("indices:admin/mongo_follow/"));
        }

        MongoCollection<Document> source = mongo.getDatabase("sec").getCollection("allowed_src");
        for (int i = 0; i < 10; i++) {
            source.insertOne(new Document("_id", i).append("n", i));
        }
        source.insertOne(new Document("_id", "nan").append("n", Double.NaN)); // refused: a dead letter, written as the user
        waitForCount(admin, "allowed-x", 10);
        waitFor(() -> call(admin, "GET", "/.mongo-follow-rejected/_count?q=follower_index:allowed-x", null), a -> a.body().contains("\"count\":1"));
        assertAuditedWriteBy(FOLLOW_USER, "allowed-x");

        // monitor-only: sees the follows of allowed-*, never the others, and cannot change them
        call(admin, "PUT", "/allowed-plain", null); // a plain index the user may monitor: simply not listed
        for (String path : List.of("/_mongo_follow/_info", "/*/_mongo_follow/_info", "/_mongo_follow/_stats", "/_all/_mongo_follow/_stats")) {
            Answer answer = call(monitor, "GET", path, null);
            assertEquals(path + ": " + answer.body(), 200, answer.status());
            assertTrue(path + ": " + answer.body(), answer.body().contains("allowed-x"));
            assertFalse(path + ": " + answer.body(), answer.body().contains("sec-admin"));
            assertFalse(path + ": " + answer.body(), answer.body().contains("admin_src"));
            assertFalse(path + ": " + answer.body(), answer.body().contains("allowed-plain"));
        }
        Answer stats = waitFor(() -> call(monitor, "GET", "/_mongo_follow/_stats", null), a -> a.body().contains("\"shard_id\":0"));
        assertFalse(stats.body(), stats.body().contains("node_failures"));
        String cat = call(monitor, "GET", "/_cat/mongo_follow?h=index", null).body();
        assertEquals("allowed-x\n", cat);
        assertEquals(403, call(monitor, "GET", "/sec-admin/_mongo_follow/_stats", null).status());
        assertEquals(403, call(monitor, "GET", "/sec-admin/_mongo_follow/_info", null).status());
        assertEquals(200, call(monitor, "GET", "/sec-*/_mongo_follow/_info", null).status());
        assertEquals("{\"follower_indices\":[]}", call(monitor, "GET", "/sec-*/_mongo_follow/_info", null).body());
        Answer pause = call(monitor, "POST", "/allowed-x/_mongo_follow/_pause", null);
        assertEquals(pause.body(), 403, pause.status());
        assertTrue(pause.body(), pause.body().contains("indices:admin/mongo_follow/pause"));

        // the follow's own user pauses and resumes it
        assertEquals(200, call(follower, "POST", "/allowed-x/_mongo_follow/_pause", null).status());
        assertEquals(200, call(follower, "POST", "/allowed-x/_mongo_follow/_resume", null).status());
        source.insertOne(new Document("_id", 10).append("n", 10));
        waitForCount(admin, "allowed-x", 11);
        assertEquals(200, call(follower, "POST", "/allowed-x/_mongo_follow/_unfollow", null).status());
        assertNoSecretShows();
    }

    @Test
    public void testApiKeyFollows() throws Exception {
        // the follow user makes an API key (with its own privileges); the key follows and the follow writes as the key
        Answer key = call(follower, "POST", "/_security/api_key", "{\"name\": \"mongo-follow-test-key\"}");
        assertEquals(key.body(), 200, key.status());
        String encoded = (String) parse(key.body()).get("encoded");
        assertNotNull(key.body(), encoded);
        try (RestClient withKey = DistributionHttp.connect("ApiKey " + encoded)) {
            Answer refused = put(withKey, "other-k", "key_src");
            assertEquals(refused.body(), 403, refused.status());
            assertEquals(404, call(admin, "GET", "/other-k", null).status());
            Answer put = put(withKey, "allowed-k", "key_src");
            assertEquals(put.body(), 200, put.status());
            MongoCollection<Document> source = mongo.getDatabase("sec").getCollection("key_src");
            for (int i = 0; i < 5; i++) {
                source.insertOne(new Document("_id", i));
            }
            waitForCount(admin, "allowed-k", 5);
            assertAuditedWrite("\"authentication.type\":\"API_KEY\"", "allowed-k");

            // paused by the key, resumed by its owner: the follow then writes as the owner
            assertEquals(200, call(withKey, "POST", "/allowed-k/_mongo_follow/_pause", null).status());
            assertEquals(200, call(follower, "POST", "/allowed-k/_mongo_follow/_resume", null).status());
            source.insertOne(new Document("_id", 5));
            waitForCount(admin, "allowed-k", 6);
            assertAuditedWrite("\"authentication.type\":\"REALM\", \"user.name\":\"" + FOLLOW_USER + "\"", "allowed-k");
            assertEquals(200, call(follower, "POST", "/allowed-k/_mongo_follow/_unfollow", null).status());
        }
        call(follower, "DELETE", "/_security/api_key", "{\"name\": \"mongo-follow-test-key\"}");
        assertNoSecretShows(encoded);
    }

    @Test
    public void testRevokedPrivilegeStopsTheFollow() throws Exception {
        Path roles = logs.resolveSibling("config").resolve("roles.yml");
        String original = Files.readString(roles);
        try {
            Answer put = put(revocable, "revocable-x", "revocable_src");
            assertEquals(put.body(), 200, put.status());
            MongoCollection<Document> source = mongo.getDatabase("sec").getCollection("revocable_src");
            source.insertOne(new Document("_id", 1));
            waitForCount(admin, "revocable-x", 1);

            // take write away (the file realm reloads roles.yml by itself within seconds)
            Files.writeString(roles, original.replace("privileges: [manage, read, write, monitor]\n", "privileges: [manage, read, monitor]\n"));
            waitFor(() -> call(revocable, "PUT", "/revocable-probe/_doc/1", "{}"), a -> a.status() == 403);

            // a quiet follow notices it too (the test node checks every 2s: mongo_follow.privileges.check_interval)
            Map<String, Object> shard = waitForShard(admin, "revocable-x", s -> s.get("fatal_exception") != null);
            String fatal = String.valueOf(shard.get("fatal_exception"));
            assertTrue(fatal, fatal.contains("[" + REVOCABLE_USER + "]"));
            assertTrue(fatal, fatal.contains("indices:data/write/mongo_follow/apply"));
            assertTrue(fatal, fatal.contains("revocable-x"));
            assertTrue(fatal, fatal.contains("write"));
            assertEquals("failed", shard.get("status"));
            source.insertOne(new Document("_id", 2));
            Thread.sleep(1000);
            assertEquals(1, count(admin, "revocable-x")); // nothing written after the refusal

            // privileges back: pause and resume by a user who holds them start it again from its checkpoint
            Files.writeString(roles, original);
            waitFor(() -> call(revocable, "PUT", "/revocable-probe/_doc/1", "{}"), a -> a.status() == 201 || a.status() == 200);
            assertEquals(200, call(revocable, "POST", "/revocable-x/_mongo_follow/_pause", null).status());
            assertEquals(200, call(revocable, "POST", "/revocable-x/_mongo_follow/_resume", null).status());
            waitForCount(admin, "revocable-x", 2);
        } finally {
            Files.writeString(roles, original);
        }
        assertNoSecretShows();
    }

    @Test
    public void testConnectionAllowlist() throws Exception {
        // the test node allows 127.0.0.1:* and localhost:*; anything else is refused before any connection
        Answer refused = call(admin, "PUT", "/sec-elsewhere/_mongo_follow", """
            {"connection": "mongodb://10.255.255.1:27017/?replicaSet=rs0", "database": "sec", "collection": "c", "initial_copy": false}
            """);
        assertEquals(refused.body(), 400, refused.status());
        assertTrue(refused.body(), refused.body().contains("mongo_follow.connection.allowlist"));
        assertTrue(refused.body(), refused.body().contains("10.255.255.1:27017"));
        assertEquals(404, call(admin, "GET", "/sec-elsewhere", null).status());

        // dynamic: without 127.0.0.1 the same connection that worked is refused, and a named client is always allowed
        Answer set = call(admin, "PUT", "/_cluster/settings", "{\"persistent\": {\"mongo_follow.connection.allowlist\": [\"localhost:*\"]}}");
        assertEquals(set.body(), 200, set.status());
        Answer now = put(admin, "sec-loopback", "allowlist_src");
        assertEquals(now.body(), 400, now.status());
        assertTrue(now.body(), now.body().contains("mongo_follow.connection.allowlist"));
        Answer named = call(admin, "PUT", "/sec-named/_mongo_follow", """
            {"client": "rotated", "database": "sec", "collection": "allowlist_src", "initial_copy": false}
            """);
        assertEquals(named.body(), 200, named.status());
        assertEquals(200, call(admin, "POST", "/sec-named/_mongo_follow/_unfollow", null).status());
    }

    /**
     * The index's default pipeline runs on the copy, inserts and updates, as the follow's user: {@code set_security_user}
     * (the distribution's one processor, from x-pack-security) records that user in every document, updated ones included; the
     * node's ingest statistics count the documents.
     */
    @Test
    public void testPipelinesRunAsTheFollowsUser() throws Exception {
        Answer pipeline = call(admin, "PUT", "/_ingest/pipeline/mongo-follow-who",
            "{\"processors\": [{\"set_security_user\": {\"field\": \"indexed_by\", \"properties\": [\"username\"]}}]}");
        assertEquals(pipeline.body(), 200, pipeline.status());
        MongoCollection<Document> source = mongo.getDatabase("sec").getCollection("ingest_src");
        source.drop();
        for (int i = 0; i < 5; i++) {
            source.insertOne(new Document("_id", i).append("n", i));
        }
        Answer put = call(follower, "PUT", "/allowed-ingest/_mongo_follow", """
            {"connection": "%s", "database": "sec", "collection": "ingest_src",
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0, "index.default_pipeline": "mongo-follow-who"}}
            """.formatted(connection));
        assertEquals(put.body(), 200, put.status());
        for (int i = 5; i < 10; i++) {
            source.insertOne(new Document("_id", i).append("n", i));
        }
        source.updateOne(new Document("_id", 1), new Document("$set", new Document("n", 100)));
        waitForCount(admin, "allowed-ingest", 10);
        waitFor(() -> call(admin, "GET", "/allowed-ingest/_doc/1", null), a -> a.body().contains("\"n\":100"));
        Answer users = call(admin, "GET", "/allowed-ingest/_count?q=indexed_by.username:" + FOLLOW_USER, null);
        assertTrue(users.body(), users.body().contains("\"count\":10,"));
        Answer updated = call(admin, "GET", "/allowed-ingest/_doc/1", null);
        assertTrue(updated.body(), updated.body().contains("\"indexed_by\":{\"username\":\"" + FOLLOW_USER + "\"}"));
        Answer stats = call(admin, "GET", "/_nodes/stats/ingest?filter_path=nodes.*.ingest.pipelines.mongo-follow-who.count", null);
        java.util.regex.Matcher count = java.util.regex.Pattern.compile("\"count\":(\\d+)").matcher(stats.body());
        assertTrue(stats.body(), count.find());
        assertTrue(stats.body(), Integer.parseInt(count.group(1)) >= 11); // the copy's 5, the log's 5 and the looked-up update
        assertEquals(200, call(admin, "DELETE", "/allowed-ingest", null).status()); // the index uses the pipeline: it goes first
        assertEquals(200, call(admin, "DELETE", "/_ingest/pipeline/mongo-follow-who", null).status());
        assertNoSecretShows();
    }

    /**
     * An auto-follow pattern starts its follows with the privileges of the user who put it: into indices it may manage, and
     * a 403 in the pattern's stats elsewhere; putting one needs the manage cluster privilege, reading them monitor.
     */
    @Test
    public void testAutoFollowPatternsRunAsTheirUser() throws Exception {
        assertEquals(200, call(admin, "PUT", "/_cluster/settings", "{\"persistent\": {\"mongo_follow.auto_follow.poll_interval\": \"500ms\"}}").status());
        MongoCollection<Document> before = mongo.getDatabase("secauto").getCollection("before");
        MongoCollection<Document> later = mongo.getDatabase("secauto").getCollection("later");
        before.drop();
        later.drop();
        for (int i = 0; i < 3; i++) {
            before.insertOne(new Document("_id", i).append("n", i));
        }
        String pattern = """
            {"connection": "%s", "database": "secauto", "follow_index_pattern": "%s-{{collection}}",
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0}}
            """;
        Answer refused = call(follower, "PUT", "/_mongo_follow/auto_follow/sec", pattern.formatted(connection, "allowed-auto"));
        assertEquals(refused.body(), 403, refused.status());
        assertTrue(refused.body(), refused.body().contains("cluster:admin/mongo_follow/auto_follow/put"));
        Answer unseen = call(monitor, "GET", "/_mongo_follow/auto_follow", null);
        assertEquals(unseen.body(), 403, unseen.status());
        assertTrue(unseen.body(), unseen.body().contains("cluster:monitor/mongo_follow/auto_follow/get"));

        Answer put = call(auto, "PUT", "/_mongo_follow/auto_follow/sec", pattern.formatted(connection, "allowed-auto"));
        assertEquals(put.body(), 200, put.status());
        Answer putDenied = call(auto, "PUT", "/_mongo_follow/auto_follow/sec-denied", pattern.formatted(connection, "other-auto"));
        assertEquals(putDenied.body(), 200, putDenied.status());
        waitFor(() -> call(admin, "GET", "/allowed-auto-before/_mongo_follow/_info", null), a -> a.status() == 200);
        waitForCount(admin, "allowed-auto-before", 3);
        // a collection created while the pattern runs
        for (int i = 0; i < 2; i++) {
            later.insertOne(new Document("_id", i).append("n", i));
        }
        waitFor(() -> call(admin, "GET", "/allowed-auto-later/_mongo_follow/_info", null), a -> a.status() == 200);
        waitForCount(admin, "allowed-auto-later", 2);
        assertAuditedWriteBy(AUTO_USER, "allowed-auto-later");
        // where the user may not follow: a 403 in the pattern's stats, and no index
        Answer denied = waitFor(() -> call(auto, "GET", "/_mongo_follow/auto_follow/sec-denied/_stats", null),
            a -> a.body().contains("other-auto-later"));
        assertTrue(denied.body(), denied.body().contains("\"number_of_failed_follow_indices\":"));
        assertTrue(denied.body(), denied.body().contains("security_exception"));
        assertTrue(denied.body(), denied.body().contains("[" + AUTO_USER + "]"));
        assertEquals(404, call(admin, "GET", "/other-auto-before", null).status());
        Answer stats = call(auto, "GET", "/_mongo_follow/auto_follow/sec/_stats", null);
        assertTrue(stats.body(), stats.body().contains("\"number_of_successful_follow_indices\":2"));
        assertEquals(200, call(auto, "DELETE", "/_mongo_follow/auto_follow/sec-denied", null).status());
        assertEquals(200, call(auto, "DELETE", "/_mongo_follow/auto_follow/sec", null).status());
        assertNoSecretShows();
    }

    private static Answer put(RestClient client, String index, String collection) throws IOException {
        return call(client, "PUT", "/" + index + "/_mongo_follow", """
            {"connection": "%s", "database": "sec", "collection": "%s", "initial_copy": false,
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0}}
            """.formatted(connection, collection));
    }

    /** The audit log shows the follow's shard writes into {@code index} as {@code user}. */
    private static void assertAuditedWriteBy(String user, String index) throws Exception {
        assertAuditedWrite("\"user.name\":\"" + user + "\"", index);
    }

    /** The audit log shows the follow's shard writes into {@code index} by a subject whose audit line has {@code who}. */
    private static void assertAuditedWrite(String who, String index) throws Exception {
        waitFor(() -> {
            try (Stream<Path> files = Files.list(logs)) {
                for (Path file : files.filter(f -> f.getFileName().toString().endsWith("_audit.json")).toList()) {
                    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                        if (line.contains("\"access_granted\"") && line.contains(who)
                            && line.contains("indices:data/write/mongo_follow/apply[s][p]") && line.contains("\"" + index + "\"")) {
                            return new Answer(200, line);
                        }
                    }
                }
            }
            return new Answer(404, "");
        }, a -> a.status() == 200);
    }

    /**
     * No password and no stored security header in any response this test saw, in the cluster state, the task list or
     * the node's logs (the audit log included).
     */
    private static void assertNoSecretShows(String... moreSecrets) throws IOException {
        seen.put("cluster state", call(admin, "GET", "/_cluster/state", null).body());
        seen.put("tasks", call(admin, "GET", "/_tasks?detailed=true", null).body());
        seen.put("persistent tasks", call(admin, "GET", "/_cluster/state/metadata?filter_path=metadata.persistent_tasks", null).body());
        List<String> forbidden = new ArrayList<>(List.of("security_headers", "_xpack_security_authentication", "_xpack_security_secondary_authc"));
        forbidden.addAll(List.of(moreSecrets));
        for (String user : List.of(FOLLOW_USER, MONITOR_USER, REVOCABLE_USER, AUTO_USER, "mongo-follow-admin")) {
            forbidden.add(user + "-pw");
            forbidden.add(Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8)));
        }
        for (var entry : seen.entrySet()) {
            for (String secret : forbidden) {
                assertFalse(entry.getKey() + " shows [" + secret + "]: " + entry.getValue(), entry.getValue().contains(secret));
            }
        }
        try (Stream<Path> files = Files.list(logs)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
                for (String secret : forbidden) {
                    assertFalse(file + " shows [" + secret + "]", text.contains(secret));
                }
            }
        }
    }

    private static void waitForCount(RestClient client, String index, int expected) throws Exception {
        waitFor(() -> {
            call(client, "POST", "/" + index + "/_refresh", null);
            return new Answer(200, Integer.toString(count(client, index)));
        }, a -> a.body().equals(Integer.toString(expected)));
    }

    private static int count(RestClient client, String index) throws IOException {
        call(client, "POST", "/" + index + "/_refresh", null);
        Answer answer = call(client, "GET", "/" + index + "/_count", null);
        assertEquals(answer.body(), 200, answer.status());
        return ((Number) parse(answer.body()).get("count")).intValue();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> waitForShard(RestClient client, String index, java.util.function.Predicate<Map<String, Object>> condition)
        throws Exception {
        Answer answer = waitFor(() -> call(client, "GET", "/" + index + "/_mongo_follow/_stats", null), a -> {
            List<Map<String, Object>> indices = (List<Map<String, Object>>) parse(a.body()).get("indices");
            return indices != null && indices.size() == 1
                && ((List<Map<String, Object>>) indices.get(0).get("shards")).stream().anyMatch(condition);
        });
        List<Map<String, Object>> indices = (List<Map<String, Object>>) parse(answer.body()).get("indices");
        return ((List<Map<String, Object>>) indices.get(0).get("shards")).stream().filter(condition).findFirst().orElseThrow();
    }

    private interface Call {
        Answer get() throws IOException;
    }

    /** Calls until {@code done} holds, for up to 60 s (a deadline, not a timing assertion). */
    private static Answer waitFor(Call call, java.util.function.Predicate<Answer> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Answer last;
        do {
            last = call.get();
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        fail("not reached within 60s; last answer: " + last.status() + " " + last.body());
        return null;
    }

    private static Map<String, Object> parse(String json) {
        return XContentHelper.convertToMap(XContentType.JSON.xContent(), json, true);
    }

    private static Answer call(RestClient client, String method, String path, String json) throws IOException {
        Answer answer = DistributionHttp.call(client, method, path, json);
        if (path.startsWith("/_security/api_key") == false) { // its answer holds the new key, which the test looks for elsewhere
            seen.put(method + " " + path + " #" + seen.size(), answer.body());
        }
        return answer;
    }
}

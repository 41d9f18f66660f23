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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * No credential of a named client ever leaves the keystore: against the real distribution that the build
 * starts ({@code scripts/es-node} with {@code ES_NODE_FOR_TESTS=true} gives it the named client
 * {@code secured}: hosts and replica set in {@code elasticsearch.yml}, user name and password in the
 * keystore), follows are started with that client and with a connection string carrying the same
 * password, every endpoint that could show a follow is called (the plugin's, cluster state, tasks, node
 * settings, secure settings reload), and the password (and the user name) must appear in none of the
 * responses nor in the node's log files ({@code -Dtests.es.logs}).
 *
 * The embedded MongoDB ({@code -Dtests.mongo.port}) does not implement authentication, so a follow with
 * the {@code secured} client is refused with a 502 ({@code mongo_authentication_exception}) that says so, without the credentials.
 */
public class CredentialsDistributionIT {

    /** What scripts/es-node puts in the test node's keystore. */
    private static final String USERNAME = "mongo-follow-test-user";
    private static final String PASSWORD = "S3cr3t-Pa55w0rd-xyz";

    private static RestClient client;
    private static String mongo;
    private static Path logs;

    /** Every response body this test saw, with where it came from. */
    private final Map<String, String> seen = new LinkedHashMap<>();

    @BeforeClass
    public static void connect() {
        String cluster = System.getProperty("tests.rest.cluster");
        String logsDir = System.getProperty("tests.es.logs");
        String mongoPort = System.getProperty("tests.mongo.port");
        if (cluster == null || logsDir == null || mongoPort == null) {
            throw new IllegalStateException("-Dtests.rest.cluster, -Dtests.es.logs and -Dtests.mongo.port are required (mvn verify sets them)");
        }
        client = DistributionHttp.connect();
        mongo = "127.0.0.1:" + mongoPort;
        logs = Path.of(logsDir);
    }

    @AfterClass
    public static void disconnect() throws IOException {
        if (client != null) {
            client.close();
        }
    }

    @After
    public void deleteIndices() throws IOException {
        DistributionHttp.deleteIndices(client, "creds-*");
    }

    @Test
    public void testCredentialsAppearNowhere() throws IOException {
        // a follow through the named client: the embedded MongoDB has no authentication, so it refuses it
        Answer secured = call("PUT", "/creds-secured/_mongo_follow", follow("\"client\": \"secured\""));
        // MongoDB's refusal, not Elasticsearch's: a 502 of its own type (a 403 would read as a missing privilege)
        assertEquals(secured.body(), 502, secured.status());
        assertTrue(secured.body(), secured.body().contains("\"type\":\"mongo_authentication_exception\""));
        String reason = errorReason(secured);
        assertTrue(reason, reason.startsWith("MongoDB at [" + mongo + "/?replicaSet=rs0] refused the credentials of the follow's client"));
        assertTrue(reason, reason.contains("authentication failed"));
        assertTrue(reason, reason.contains("check mongo_follow.client.secured.username and mongo_follow.client.secured.password in the keystore"));
        assertIndexMissing("creds-secured");

        // a connection string with the password: refused before anything happens, pointing to the keystore
        for (String uri : List.of(
            "mongodb://" + USERNAME + ":" + PASSWORD + "@" + mongo + "/?replicaSet=rs0",
            "mongodb://" + USERNAME + ":" + PASSWORD + "@" + mongo + "/admin?replicaSet=rs0&authMechanism=SCRAM-SHA-256",
            "mongodb+srv://" + USERNAME + ":" + PASSWORD + "@cluster.invalid/?replicaSet=rs0",
            "mongodb://" + USERNAME + ":" + PASSWORD + "@"
        )) {
            Answer refused = call("PUT", "/creds-uri/_mongo_follow", follow("\"connection\": \"" + uri + "\""));
            assertEquals(refused.body(), 400, refused.status());
            assertTrue(refused.body(), errorReason(refused).contains("[connection]"));
        }
        Answer refused = call("PUT", "/creds-uri/_mongo_follow", follow("\"connection\": \"mongodb://" + USERNAME + ":" + PASSWORD + "@" + mongo + "/?replicaSet=rs0\""));
        assertTrue(refused.body(), errorReason(refused).contains("mongo_follow.client.NAME.password"));
        assertIndexMissing("creds-uri");

        // a follow that works, and one paused, so that every endpoint has something to show
        Answer followed = call("PUT", "/creds-followed/_mongo_follow", follow("\"connection\": \"mongodb://" + mongo + "/?replicaSet=rs0\""));
        assertEquals(followed.body(), 200, followed.status());
        Answer paused = call("PUT", "/creds-paused/_mongo_follow", follow("\"connection\": \"mongodb://" + mongo + "/?replicaSet=rs0\""));
        assertEquals(paused.body(), 200, paused.status());
        assertEquals(200, call("POST", "/creds-paused/_mongo_follow/_pause", null).status());
        // the resume body takes budgets only: a connection with a password is an unknown field
        Answer resume = call("POST", "/creds-paused/_mongo_follow/_resume", "{\"connection\": \"mongodb://u:" + PASSWORD + "@" + mongo + "\"}");
        assertEquals(resume.body(), 400, resume.status());

        // the named client again, now that follows run, and after a reload of the keystore
        assertEquals(502, call("PUT", "/creds-secured/_mongo_follow", follow("\"client\": \"secured\"")).status());
        Answer reload = call("POST", "/_nodes/reload_secure_settings", null);
        assertEquals(reload.body(), 200, reload.status());
        assertEquals(502, call("PUT", "/creds-secured/_mongo_follow", follow("\"client\": \"secured\"")).status());

        for (String path : List.of(
            "/_mongo_follow/_info",
            "/creds-*/_mongo_follow/_info",
            "/_mongo_follow/_stats",
            "/creds-followed/_mongo_follow/_stats",
            "/_cat/mongo_follow?v",
            "/_cat/mongo_follow?format=json",
            "/_cat/mongo_follow/creds-followed?v",
            "/_cluster/state",
            "/_cluster/state/metadata",
            "/_cluster/state/metadata?flat_settings",
            "/_tasks?detailed",
            "/_tasks?detailed&actions=*mongo*",
            "/_nodes/settings?flat_settings",
            "/_nodes/settings",
            "/_cluster/settings?include_defaults&flat_settings",
            "/creds-followed/_settings?include_defaults",
            "/_nodes/stats",
            "/_nodes/usage",
            "/_cat/tasks?v&detailed"
        )) {
            Answer answer = call("GET", path, null);
            assertEquals(path + ": " + answer.body(), 200, answer.status());
        }
        // the follows are in the cluster state, by client name or credential-free connection only
        assertTrue(seen.get("GET /_cluster/state/metadata").contains("mongo_follow"));
        assertTrue(seen.get("GET /_cluster/state").contains("mongo_follow/shard"));

        for (Map.Entry<String, String> answer : seen.entrySet()) {
            assertNoCredential(answer.getKey(), answer.getValue());
        }
        assertNoCredentialInLogs();
    }

    @Test
    public void testReloadSecureSettings() throws IOException {
        Answer reload = call("POST", "/_nodes/reload_secure_settings", null);
        assertEquals(reload.body(), 200, reload.status());
        Map<String, Object> body = XContentHelper.convertToMap(XContentType.JSON.xContent(), reload.body(), true);
        @SuppressWarnings("unchecked")
        Map<String, Object> nodes = (Map<String, Object>) body.get("_nodes");
        assertEquals(reload.body(), 1, ((Number) nodes.get("total")).intValue());
        assertEquals(reload.body(), 1, ((Number) nodes.get("successful")).intValue());
        assertEquals(reload.body(), 0, ((Number) nodes.get("failed")).intValue());
        assertFalse(reload.body(), reload.body().contains("reload_exception"));
        assertNoCredential("POST /_nodes/reload_secure_settings", reload.body());

        // the named client is still known after the reload, with its credentials
        Answer secured = call("PUT", "/creds-after-reload/_mongo_follow", follow("\"client\": \"secured\""));
        assertEquals(secured.body(), 502, secured.status());
        assertNoCredential("after reload", secured.body());
        assertTrue(logText().contains("reloaded mongo_follow client settings: 2 named client(s)"));
    }

    /**
     * Credentials put in the keystore and reloaded while a follow runs through the client: the embedded
     * MongoDB refuses them, the shard tasks retry and show the error in their stats, without the user name
     * or the password.
     */
    @Test
    public void testReloadedCredentialsOfARunningFollowAppearNowhere() throws Exception {
        String rotatedUser = "rotated-test-user";
        String rotatedPassword = "R0tated-Pa55w0rd-abc";
        Answer followed = call("PUT", "/creds-rotated/_mongo_follow", follow("\"client\": \"rotated\""));
        assertEquals(followed.body(), 200, followed.status());
        try {
            keystore("add", rotatedUser + "\n" + rotatedPassword + "\n");
            Answer reload = call("POST", "/_nodes/reload_secure_settings", null);
            assertEquals(reload.body(), 200, reload.status());
            assertFalse(reload.body(), reload.body().contains("reload_exception"));

            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            String stats;
            do {
                Thread.sleep(200);
                stats = call("GET", "/creds-rotated/_mongo_follow/_stats", null).body();
            } while (stats.contains("mongo_security_exception") == false && System.nanoTime() < deadline);
            assertTrue("the reads did not fail on the refused credentials: " + stats, stats.contains("mongo_security_exception"));
            assertFalse("the stats show the user name: " + stats, stats.contains(rotatedUser));
            assertTrue(stats, stats.contains("MongoDB refused the credentials of the follow's client (authentication failed"));

            for (String path : List.of("/_mongo_follow/_stats", "/_cat/mongo_follow?v", "/_tasks?detailed", "/_cluster/state", "/_mongo_follow/_info")) {
                String body = call("GET", path, null).body();
                assertFalse(path + ":\n" + body, body.contains(rotatedUser));
                assertFalse(path + ":\n" + body, body.contains(rotatedPassword));
            }
            String logText = logText();
            assertFalse(logText.contains(rotatedUser));
            assertFalse(logText.contains(rotatedPassword));
        } finally {
            call("POST", "/creds-rotated/_mongo_follow/_unfollow", null);
            keystore("remove", null);
            call("POST", "/_nodes/reload_secure_settings", null);
        }
    }

    /**
     * Runs the node's {@code bin/elasticsearch-keystore} (the node home is the parent of its logs folder) on
     * the user name and password of the client {@code rotated}; {@code values}, one a line, for {@code add}.
     */
    private static void keystore(String command, String values) throws IOException, InterruptedException {
        Path home = logs.toAbsolutePath().getParent();
        List<String> args = new ArrayList<>(List.of(home.resolve("bin/elasticsearch-keystore").toString(), command));
        if (values != null) {
            args.addAll(List.of("--stdin", "--force"));
        }
        args.addAll(List.of("mongo_follow.client.rotated.username", "mongo_follow.client.rotated.password"));
        ProcessBuilder builder = new ProcessBuilder(args).redirectErrorStream(true);
        builder.environment().remove("JAVA_HOME");
        builder.environment().put("ES_JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("ES_PATH_CONF", home.resolve("config").toString());
        Process process = builder.start();
        try (var stdin = process.getOutputStream()) {
            if (values != null) {
                stdin.write(values.getBytes(StandardCharsets.UTF_8));
            }
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals("elasticsearch-keystore " + command + ": " + output, 0, process.waitFor());
    }


    private static String follow(String endpoint) {
        return "{" + endpoint + ", \"database\": \"shop\", \"collection\": \"orders\", \"initial_copy\": false, "
            + "\"settings\": {\"index.number_of_replicas\": 0}}";
    }

    private Answer call(String method, String path, String json) throws IOException {
        Answer answer = DistributionHttp.call(client, method, path, json);
        seen.merge(method + " " + path, answer.body(), (a, b) -> a + "\n" + b);
        return answer;
    }

    private static String errorReason(Answer answer) {
        Map<String, Object> body = XContentHelper.convertToMap(XContentType.JSON.xContent(), answer.body(), true);
        @SuppressWarnings("unchecked")
        Map<String, Object> error = (Map<String, Object>) body.get("error");
        assertNotNull(answer.body(), error);
        return (String) error.get("reason");
    }

    private void assertIndexMissing(String index) throws IOException {
        Answer answer = call("GET", "/" + index + "/_settings", null);
        assertEquals(index + " must not have been created: " + answer.body(), 404, answer.status());
    }

    private static void assertNoCredential(String where, String text) {
        assertFalse("the password appears in " + where + ":\n" + text, text.contains(PASSWORD));
        assertFalse("the user name appears in " + where + ":\n" + text, text.contains(USERNAME));
    }

    private static void assertNoCredentialInLogs() throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(logs)) {
            walk.filter(Files::isRegularFile).forEach(files::add);
        }
        assertTrue("no log files under " + logs, files.stream().anyMatch(f -> f.getFileName().toString().endsWith(".log")));
        for (Path file : files) {
            // bytes as ISO-8859-1: every file (gc logs, json logs, compressed rollovers) reads without failing
            String text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            assertNull(file + " contains the password", text.contains(PASSWORD) ? file : null);
            assertNull(file + " contains the user name", text.contains(USERNAME) ? file : null);
        }
    }

    private static String logText() throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> walk = Files.walk(logs)) {
            for (Path file : walk.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
                all.append(Files.readString(file, StandardCharsets.ISO_8859_1));
            }
        }
        return all.toString();
    }
}

package org.mongofollow.rest;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Heap-sized adversaries against the real distribution, whose test node runs with a 512 MB heap (the mongo_follow
 * breaker at its default 20%): large transactions split over many shards, a backlog of large documents into 64 shards,
 * a hot 1 MB document updated two thousand times, and many large documents updated once each in one batch. The node stays up and every follow ends exact.
 */
public class MemoryAdversaryDistributionIT {

    private static final String PAD = "p".repeat(1 << 20);
    private static RestClient client;
    private static MongoClient mongo;
    private static String connection;

    @BeforeClass
    public static void connect() {
        client = DistributionHttp.connect();
        connection = "mongodb://127.0.0.1:" + System.getProperty("tests.mongo.port") + "/?replicaSet=rs0";
        mongo = MongoClients.create(connection);
    }

    @AfterClass
    public static void disconnect() throws IOException {
        if (mongo != null) {
            mongo.close();
        }
        if (client != null) {
            client.close();
        }
    }

    @After
    public void cleanUp() throws IOException {
        DistributionHttp.deleteIndices(client, "adversary-*");
        mongo.getDatabase("adversary").drop();
    }

    /** Three transactions of twelve 1 MB documents each (12 MB applyOps entries), followed into eight shards. */
    @Test
    public void largeTransactionsOverManyShards() throws Exception {
        MongoCollection<Document> items = mongo.getDatabase("adversary").getCollection("txn");
        mongo.getDatabase("adversary").createCollection("txn");
        follow("adversary-txn", "txn", 8);
        for (int t = 0; t < 3; t++) {
            try (ClientSession session = mongo.startSession()) {
                int base = t * 100;
                session.withTransaction(() -> {
                    for (int i = 0; i < 12; i++) {
                        items.insertOne(session, new Document("_id", base + i).append("n", base + i).append("pad", PAD));
                    }
                    return null;
                });
            }
        }
        waitFor("adversary-txn", "36 documents", () -> count("adversary-txn") == 36);
        assertNodeUp();
        // every document whole
        Map<String, Object> found = json(call("GET", "/adversary-txn/_search?size=0&q=n:211", null));
        assertEquals(1, ((Number) ((Map<?, ?>) ((Map<?, ?>) found.get("hits")).get("total")).get("value")).intValue());
        Map<String, Object> doc = json(call("GET", "/adversary-txn/_doc/211", null));
        assertEquals(PAD, ((Map<?, ?>) doc.get("_source")).get("pad"));
    }

    /**
     * Many shards: a backlog of 200 documents of 256 KB (50 MB of oplog, half the breaker's limit) followed into 64
     * shards at once, each shard task with the default budgets (12 reads of up to 32 MB outstanding): the node's breaker
     * and its one shared read keep it within the heap.
     */
    @Test
    public void aBacklogOfLargeDocumentsIntoManyShards() throws Exception {
        MongoCollection<Document> wide = mongo.getDatabase("adversary").getCollection("wide");
        mongo.getDatabase("adversary").createCollection("wide");
        follow("adversary-wide", "wide", 64);
        call("POST", "/adversary-wide/_mongo_follow/_pause", null);
        String quarter = PAD.substring(0, PAD.length() / 4);
        for (int i = 0; i < 200; i++) {
            wide.insertOne(new Document("_id", i).append("n", i).append("pad", quarter));
        }
        call("POST", "/adversary-wide/_mongo_follow/_resume", null);
        waitFor("adversary-wide", "200 documents", () -> count("adversary-wide") == 200);
        assertNodeUp();
        Map<String, Object> doc = json(call("GET", "/adversary-wide/_doc/137", null));
        assertEquals(quarter, ((Map<?, ?>) doc.get("_source")).get("pad"));
    }

    /** A 1 MB document updated two thousand times (small $set each): the primary combines them, the node stays up. */
    @Test
    public void aHotDocument() throws Exception {
        MongoCollection<Document> hot = mongo.getDatabase("adversary").getCollection("hot");
        mongo.getDatabase("adversary").createCollection("hot");
        follow("adversary-hot", "hot", 1);
        hot.insertOne(new Document("_id", "h").append("n", 0).append("pad", PAD));
        waitFor("adversary-hot", "the document", () -> count("adversary-hot") == 1);
        call("POST", "/adversary-hot/_mongo_follow/_pause", null);
        for (int i = 1; i <= 2000; i++) {
            hot.updateOne(Filters.eq("_id", "h"), Updates.set("n", i));
        }
        call("POST", "/adversary-hot/_mongo_follow/_resume", null);
        waitFor("adversary-hot", "n = 2000", () -> {
            Map<String, Object> doc = json(call("GET", "/adversary-hot/_doc/h?_source_excludes=pad", null));
            Map<?, ?> source = (Map<?, ?>) doc.get("_source");
            return source != null && Integer.valueOf(2000).equals(source.get("n"));
        });
        assertNodeUp();
        Map<String, Object> doc = json(call("GET", "/adversary-hot/_doc/h", null));
        assertEquals(PAD, ((Map<?, ?>) doc.get("_source")).get("pad"));
    }

    /**
     * Many large documents, each updated once while the follow is paused: 2,000 updates of 2,000 different 256 KB documents
     * (500 MB once rewritten, the whole heap) come in one batch of small diffs. The primary holds each document it rewrites until the
     * replicas have it, charged to the breaker, and defers the rest of the batch once the breaker is full: the node stays
     * up and the follow ends exact.
     */
    @Test
    public void manyLargeDocumentsUpdatedInOneBatch() throws Exception {
        MongoCollection<Document> many = mongo.getDatabase("adversary").getCollection("many");
        mongo.getDatabase("adversary").createCollection("many");
        follow("adversary-many", "many", 1);
        String quarter = PAD.substring(0, PAD.length() / 4);
        int documents = 2000;
        for (int i = 0; i < documents; i++) {
            many.insertOne(new Document("_id", i).append("n", 0).append("pad", quarter));
        }
        waitFor("adversary-many", documents + " documents", () -> count("adversary-many") == documents);
        call("POST", "/adversary-many/_mongo_follow/_pause", null);
        for (int i = 0; i < documents; i++) {
            many.updateOne(Filters.eq("_id", i), Updates.set("n", i + 1));
        }
        call("POST", "/adversary-many/_mongo_follow/_resume", null);
        waitFor("adversary-many", "every document updated", () -> count("adversary-many", "n:0") == 0);
        assertNodeUp();
        for (int i : new int[] { 0, 999, documents - 1 }) {
            Map<?, ?> source = (Map<?, ?>) json(call("GET", "/adversary-many/_doc/" + i, null)).get("_source");
            assertEquals(i + 1, source.get("n"));
            assertEquals(quarter, source.get("pad"));
        }
        assertEquals(documents, count("adversary-many"));
    }

    private void follow(String index, String collection, int shards) throws IOException {
        Answer put = call("PUT", "/" + index + "/_mongo_follow", """
            {"connection": "%s", "database": "adversary", "collection": "%s", "initial_copy": false,
             "settings": {"index.number_of_shards": %d, "index.number_of_replicas": 0}}
            """.formatted(connection, collection, shards));
        assertEquals(put.body(), 200, put.status());
        assertEquals(200, call("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null).status());
    }

    private long count(String index) throws IOException {
        return count(index, "");
    }

    /**
     * The documents of {@code index} matching {@code query} ({@code ?q=}), or -1 while the node refuses the count: under
     * these adversaries its parent breaker may answer a search with 429 for a moment, as it would a user's.
     */
    private long count(String index, String query) throws IOException {
        call("POST", "/" + index + "/_refresh", null);
        Answer answer = call("GET", "/" + index + "/_count" + (query.isEmpty() ? "" : "?q=" + query), null);
        if (answer.status() == 429) {
            return -1;
        }
        assertEquals(answer.body(), 200, answer.status());
        return ((Number) json(answer).get("count")).longValue();
    }

    private void assertNodeUp() throws IOException {
        assertEquals(200, call("GET", "/_cluster/health", null).status());
    }

    private interface Check {
        boolean done() throws Exception;
    }

    private void waitFor(String index, String what, Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (check.done()) {
                return;
            }
            Thread.sleep(200);
        }
        fail("[" + index + "] never had " + what + "; stats: " + call("GET", "/" + index + "/_mongo_follow/_stats", null).body());
    }

    private static Map<String, Object> json(Answer answer) {
        return XContentHelper.convertToMap(XContentType.JSON.xContent(), answer.body(), false);
    }

    private static Answer call(String method, String path, String json) throws IOException {
        return DistributionHttp.call(client, method, path, json);
    }
}

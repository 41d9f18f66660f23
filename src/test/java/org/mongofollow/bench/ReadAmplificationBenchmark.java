package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.model.Filters;

import org.bson.Document;
import org.bson.RawBsonDocument;
import org.mongofollow.demo.EsHttp;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.OplogReader;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Benchmark (not a test) of how much MongoDB serves for what a follow applies: follows are started on empty
 * collections and paused, N documents are inserted, then the follows are resumed and run until every index holds its
 * documents and every shard's checkpoint has passed the last insert. MongoDB's own {@code serverStatus} (the embedded
 * server reports it as mongod does) gives what it served meanwhile: {@code network.bytesOut} and
 * {@code metrics.document.returned}. Read amplification is bytesOut over the oplog bytes of the followed namespaces'
 * entries (the least any follower must read); entries returned per applied operation is the other view. Scenarios: one
 * follow into 1, 4 and 16 shards; 4 follows of 4 collections of one database, 2 shards each. All on one node. The last
 * line is {@code read amplification: X.XX (worst case)}.
 */
public final class ReadAmplificationBenchmark {

    private final EsHttp es;
    private final MongoClient mongo;
    private final String connection;
    private final int docs;

    private ReadAmplificationBenchmark(EsHttp es, MongoClient mongo, String connection, int docs) {
        this.es = es;
        this.mongo = mongo;
        this.connection = connection;
        this.docs = docs;
    }

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int docs = 20_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (MongoClient mongo = MongoClients.create(connection)) {
            ReadAmplificationBenchmark bench = new ReadAmplificationBenchmark(new EsHttp(esUrl), mongo, connection, docs);
            double worst = 0;
            worst = Math.max(worst, bench.scenario("1 follow, 1 shard", "amp1", List.of("c"), 1));
            worst = Math.max(worst, bench.scenario("1 follow, 4 shards", "amp4", List.of("c"), 4));
            worst = Math.max(worst, bench.scenario("1 follow, 16 shards", "amp16", List.of("c"), 16));
            worst = Math.max(worst, bench.scenario("4 follows of 4 collections, 2 shards each", "ampmulti", List.of("c0", "c1", "c2", "c3"), 2));
            System.out.printf(Locale.ROOT, "read amplification: %.2f (worst case)%n", worst);
        }
    }

    private double scenario(String name, String database, List<String> collections, int shards) throws Exception {
        List<String> indices = new ArrayList<>();
        for (String collection : collections) {
            String index = "amp-" + database + "-" + collection;
            indices.add(index);
            es.call("DELETE", "/" + index, null);
            mongo.getDatabase(database).getCollection(collection).drop();
            mongo.getDatabase(database).createCollection(collection);
            es.expectOk("PUT", "/" + index + "/_mongo_follow", """
                {"connection": "%s", "database": "%s", "collection": "%s", "initial_copy": false,
                 "settings": {"index.number_of_shards": %d, "index.number_of_replicas": 0, "index.refresh_interval": "1s"}}
                """.formatted(connection, database, collection, shards));
            es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null);
            es.expectOk("POST", "/" + index + "/_mongo_follow/_pause", null);
        }
        OplogPosition start = majority();
        String text = "x".repeat(400);
        int perCollection = docs / collections.size();
        for (String collection : collections) {
            List<Document> batch = new ArrayList<>();
            for (int i = 0; i < perCollection; i++) {
                batch.add(new Document("_id", i).append("n", i).append("text", text));
                if (batch.size() == 1000) {
                    mongo.getDatabase(database).getCollection(collection).insertMany(batch);
                    batch = new ArrayList<>();
                }
            }
            if (batch.isEmpty() == false) {
                mongo.getDatabase(database).getCollection(collection).insertMany(batch);
            }
        }
        OplogPosition end = majority();
        long oplogBytes = 0;
        long oplogEntries = 0;
        for (RawBsonDocument entry : mongo.getDatabase("local").getCollection("oplog.rs", RawBsonDocument.class)
            .find(Filters.and(Filters.gt("ts", start.toBsonTimestamp()), Filters.lte("ts", end.toBsonTimestamp()),
                Filters.in("ns", collections.stream().map(c -> database + "." + c).toList())))
            .batchSize(1000)) {
            oplogBytes += entry.getByteBuffer().remaining();
            oplogEntries++;
        }

        Document before = status();
        long startNanos = System.nanoTime();
        for (String index : indices) {
            es.expectOk("POST", "/" + index + "/_mongo_follow/_resume", null);
        }
        for (String index : indices) {
            waitUntilApplied(index, perCollection, end);
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        Document after = status();
        for (String index : indices) {
            es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
            es.call("DELETE", "/" + index, null);
        }

        long bytesOut = number(after, "network", "bytesOut") - number(before, "network", "bytesOut");
        long returned = returned(after) - returned(before);
        long requests = number(after, "network", "numRequests") - number(before, "network", "numRequests");
        double amplification = bytesOut / (double) oplogBytes;
        System.out.printf(
            Locale.ROOT,
            "%-45s oplog %,d entries %,d bytes | served %,d bytes, %,d documents, %,d requests in %.1f s | amplification %.2f, "
                + "entries returned per operation %.2f%n",
            name, oplogEntries, oplogBytes, bytesOut, returned, requests, seconds, amplification, returned / (double) oplogEntries
        );
        return amplification;
    }

    @SuppressWarnings("unchecked")
    private void waitUntilApplied(String index, int count, OplogPosition end) throws InterruptedException {
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (System.nanoTime() < deadline) {
            es.call("POST", "/" + index + "/_refresh", null);
            Map<String, Object> counted = es.call("GET", "/" + index + "/_count", null).json();
            if (counted.get("count") instanceof Number n && n.intValue() == count) {
                Map<String, Object> stats = es.expectOk("GET", "/" + index + "/_mongo_follow/_stats", null);
                List<Map<String, Object>> shards = (List<Map<String, Object>>) ((List<Map<String, Object>>) stats.get("indices")).get(0).get("shards");
                if (shards.isEmpty() == false && shards.stream().allMatch(s -> OplogPosition.parse((String) s.get("checkpoint")).compareTo(end) >= 0)) {
                    return;
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("[" + index + "] did not reach " + count + " documents within 10 minutes");
    }

    private OplogPosition majority() {
        return new OplogReader(mongo, "admin", "none").majorityCommitPoint();
    }

    private Document status() {
        return mongo.getDatabase("admin").runCommand(new Document("serverStatus", 1));
    }

    private static long number(Document status, String section, String field) {
        return ((Number) status.get(section, Document.class).get(field)).longValue();
    }

    private static long returned(Document status) {
        return ((Number) status.get("metrics", Document.class).get("document", Document.class).get("returned")).longValue();
    }
}

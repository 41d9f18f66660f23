package org.mongofollow.bench;

import com.mongodb.client.MongoCollection;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.Request;
import org.elasticsearch.common.Strings;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.it.MongoFollowIntegTestCase;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Not a test (surefire does not pick it up; bench/copy-vs-bulk runs it): the initial copy of N documents of the
 * embedded MongoDB into a follower index, against {@code _bulk} of the same N documents (the same {@code _source}
 * after the BSON mapping, bodies built before the clock starts, batches of 1000 over HTTP from 2 clients) into an
 * index with the same settings (one shard, no replica), on the same one-node internal cluster, in the same run.
 * Untimed warm-up of both first, then rounds of (bulk, copy); the ratio is of the best round of each. The copy's
 * time runs from the PUT request to its stats saying done (planning, copy, sweep and the metadata updates included).
 * BENCH_DOCS (default 100000), BENCH_ROUNDS (default 2), BENCH_RANGES (default 4), BENCH_BATCH (default 1000).
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 1, numClientNodes = 0, supportsDedicatedMasters = false)
public class CopyVsBulkBenchmark extends MongoFollowIntegTestCase {

    private static int env(String name, int defaultValue) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? defaultValue : Integer.parseInt(value.trim());
    }

    private static final String SETTINGS = "{\"number_of_shards\": 1, \"number_of_replicas\": 0}";

    public void testCopyVersusBulk() throws Exception {
        int n = env("BENCH_DOCS", 100_000);
        int rounds = env("BENCH_ROUNDS", 2);
        int ranges = env("BENCH_RANGES", 4);
        int batch = env("BENCH_BATCH", 1000);
        List<BsonDocument> documents = documents(n, 42);
        MongoCollection<BsonDocument> source = collection("bench", "docs");
        for (int i = 0; i < n; i += 1000) {
            source.insertMany(documents.subList(i, Math.min(n, i + 1000)));
        }
        List<String> bodies = bulkBodies(documents, 1000);
        long bytes = bodies.stream().mapToLong(String::length).sum();
        System.out.printf(Locale.ROOT, "documents: %d, bulk bodies %.1f MB (about %d bytes per document)%n", n, bytes / 1e6, bytes / n);

        // warm-up: a small copy and a small bulk
        List<BsonDocument> sample = documents(5_000, 7);
        MongoCollection<BsonDocument> warm = collection("bench", "warm");
        warm.insertMany(sample);
        bulk("warm-bulk", bulkBodies(sample, 1000));
        copy("warm-copy", "warm", ranges, batch, sample.size());

        long bestBulk = Long.MAX_VALUE, bestCopy = Long.MAX_VALUE;
        for (int round = 1; round <= rounds; round++) {
            long bulkNanos = bulk("bulk-" + round, bodies);
            long copyNanos = copy("copy-" + round, "docs", ranges, batch, n);
            System.out.printf(
                Locale.ROOT,
                "round %d: _bulk %.2f s (%.0f docs/s), initial copy %.2f s (%.0f docs/s)%n",
                round,
                bulkNanos / 1e9,
                n / (bulkNanos / 1e9),
                copyNanos / 1e9,
                n / (copyNanos / 1e9)
            );
            bestBulk = Math.min(bestBulk, bulkNanos);
            bestCopy = Math.min(bestCopy, copyNanos);
        }
        System.out.printf(Locale.ROOT, "best: _bulk %.2f s, initial copy %.2f s (%d ranges in flight, batches of %d)%n", bestBulk / 1e9, bestCopy / 1e9, ranges, batch);
        System.out.printf(Locale.ROOT, "ratio copy/bulk: %.2f%n", (double) bestCopy / bestBulk);
    }

    private long bulk(String index, List<String> bodies) throws Exception {
        Request create = new Request("PUT", "/" + index);
        create.setJsonEntity("{\"settings\": " + SETTINGS + "}");
        call(create);
        ExecutorService clients = Executors.newFixedThreadPool(2);
        try {
            long start = System.nanoTime();
            List<Future<?>> sent = new ArrayList<>();
            for (String body : bodies) {
                sent.add(clients.submit(() -> {
                    Request request = new Request("POST", "/" + index + "/_bulk");
                    request.setJsonEntity(body);
                    Map<String, Object> response = call(request);
                    if (Boolean.TRUE.equals(response.get("errors"))) {
                        throw new AssertionError("bulk errors in " + index);
                    }
                    return null;
                }));
            }
            for (Future<?> f : sent) {
                f.get();
            }
            return System.nanoTime() - start;
        } finally {
            clients.shutdown();
            clients.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    private long copy(String index, String collection, int ranges, int batch, int expected) throws Exception {
        Request put = new Request("PUT", "/" + index + "/_mongo_follow");
        put.setJsonEntity(
            "{\"connection\": \"" + mongo.connectionString() + "\", \"database\": \"bench\", \"collection\": \"" + collection
                + "\", \"settings\": " + SETTINGS + ", \"checkpoint_interval\": \"200ms\", \"initial_copy\": {\"max_concurrent_ranges\": "
                + ranges + ", \"batch_size\": " + batch + "}}"
        );
        long start = System.nanoTime();
        call(put);
        while (true) {
            @SuppressWarnings("unchecked")
            Map<String, Object> copy = (Map<String, Object>) ((List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_stats")
                .get("indices")).get(0).get("initial_copy");
            if ("done".equals(copy.get("state"))) {
                long nanos = System.nanoTime() - start;
                assertEquals(copy.toString(), expected, ((Number) copy.get("documents_copied")).intValue());
                call("POST", "/" + index + "/_mongo_follow/_unfollow");
                return nanos;
            }
            assertNotEquals(copy.toString(), "failed", copy.get("state"));
            Thread.sleep(25);
        }
    }

    private static List<String> bulkBodies(List<BsonDocument> documents, int perRequest) throws Exception {
        List<String> bodies = new ArrayList<>();
        StringBuilder body = new StringBuilder();
        int inBody = 0;
        for (BsonDocument document : documents) {
            String id = DocumentIds.toElasticsearchId(document.get("_id"));
            body.append("{\"index\":{\"_id\":\"").append(id).append("\"}}\n");
            try (XContentBuilder builder = JsonXContent.contentBuilder()) {
                builder.map(BsonToJson.toSource(document));
                body.append(Strings.toString(builder)).append('\n');
            }
            if (++inBody == perRequest) {
                bodies.add(body.toString());
                body.setLength(0);
                inBody = 0;
            }
        }
        if (inBody > 0) {
            bodies.add(body.toString());
        }
        return bodies;
    }

    private static final String[] WORDS = ("time person year way day thing man world life hand part child eye woman place work week case "
        + "point government company number group problem fact water money story month lot right study book word business issue").split(" ");

    /** Documents of about 400 bytes: numbers, short strings, a 30-word text, a small array. */
    private static List<BsonDocument> documents(int n, long seed) {
        Random random = new Random(seed);
        List<BsonDocument> documents = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 30; w++) {
                text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
            }
            BsonArray tags = new BsonArray();
            for (int t = random.nextInt(4); t > 0; t--) {
                tags.add(new BsonString("t" + random.nextInt(20)));
            }
            documents.add(
                new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("item " + i))
                    .append("qty", new BsonInt32(random.nextInt(1000)))
                    .append("price", new BsonDouble(random.nextInt(100_000) / 100.0))
                    .append("text", new BsonString(text.toString().trim()))
                    .append("tags", tags)
            );
        }
        return documents;
    }
}

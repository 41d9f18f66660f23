package org.mongofollow.demo;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.apply.RejectedDocumentException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Checks that a follower index holds exactly the followed collection: the same {@code _id}s, and every
 * document's {@code _source} equal to the MongoDB document under the documented mapping
 * ({@link DocumentIds} for the id, {@link BsonToJson} for the source, docs/bson-mapping.md). Both sides go
 * through JSON before comparing, so numbers compare as JSON numbers.
 *
 * <pre>
 *   DemoVerifier --connection URI --database demo --collection orders --es http://127.0.0.1:9200 --index orders
 *                [--timeout SECONDS (default 120)]
 * </pre>
 *
 * Compares until both sides are equal (exit 0) or the timeout passes (exit 1, with a summary of the
 * differences). The collection should no longer be written to while it waits.
 */
public final class DemoVerifier {

    private DemoVerifier() {}

    public static void main(String[] args) throws Exception {
        String connection = null, database = "demo", collection = "orders", es = "http://127.0.0.1:9200", index = "orders";
        long timeoutSeconds = 120;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--connection" -> connection = args[++i];
                case "--database" -> database = args[++i];
                case "--collection" -> collection = args[++i];
                case "--es" -> es = args[++i];
                case "--index" -> index = args[++i];
                case "--timeout" -> timeoutSeconds = Long.parseLong(args[++i]);
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (connection == null) {
            System.err.println("--connection is required");
            System.exit(2);
        }
        ParentWatch.exitWithParent("verifier");
        EsHttp http = new EsHttp(es);
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        try (MongoClient client = MongoClients.create(connection)) {
            MongoCollection<BsonDocument> documents = client.getDatabase(database).getCollection(collection, BsonDocument.class);
            Diff diff;
            int rounds = 0;
            while (true) {
                rounds++;
                Map<String, Map<String, Object>> expected = expected(documents);
                Map<String, Map<String, Object>> actual = indexed(http, index);
                diff = Diff.of(expected, actual);
                if (diff.equal()) {
                    System.out.printf(
                        Locale.ROOT,
                        "CONVERGED: index [%s] holds exactly the %d documents of %s.%s (every _source equal under the BSON mapping), "
                            + "checked in %.1f s (%d comparison%s)%n",
                        index,
                        expected.size(),
                        database,
                        collection,
                        (System.nanoTime() - start) / 1e9,
                        rounds,
                        rounds == 1 ? "" : "s"
                    );
                    return;
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(1000);
            }
            System.out.printf(
                Locale.ROOT,
                "NOT CONVERGED after %d s: %s.%s has %d documents, index [%s] has %d; %d missing from the index, %d extra in the index, "
                    + "%d with a different _source%n",
                timeoutSeconds,
                database,
                collection,
                diff.expectedCount,
                index,
                diff.actualCount,
                diff.missing.size(),
                diff.extra.size(),
                diff.different.size()
            );
            for (String line : diff.examples(5)) {
                System.out.println("  " + line);
            }
            System.exit(1);
        }
    }

    /** The collection's documents as the follower must hold them. */
    static Map<String, Map<String, Object>> expected(MongoCollection<BsonDocument> documents) {
        Map<String, Map<String, Object>> expected = new HashMap<>();
        for (BsonDocument document : documents.find()) {
            String id = DocumentIds.toElasticsearchId(document.get("_id"));
            try {
                expected.put(id, EsHttp.normalize(BsonToJson.toSource(document)));
            } catch (RejectedDocumentException e) {
                // a rejected document goes to the dead-letter index and must be absent from the follower
            }
        }
        return expected;
    }

    /** Every document of the index by _id (refreshed first), read with a scroll. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> indexed(EsHttp http, String index) {
        http.expectOk("POST", "/" + index + "/_refresh", null);
        Map<String, Map<String, Object>> documents = new HashMap<>();
        Map<String, Object> page = http.expectOk("POST", "/" + index + "/_search?scroll=1m", "{\"size\": 1000, \"sort\": [\"_doc\"]}");
        String scrollId = (String) page.get("_scroll_id");
        try {
            while (true) {
                List<Map<String, Object>> hits = (List<Map<String, Object>>) ((Map<String, Object>) page.get("hits")).get("hits");
                if (hits.isEmpty()) {
                    break;
                }
                for (Map<String, Object> hit : hits) {
                    documents.put((String) hit.get("_id"), EsHttp.normalize((Map<String, Object>) hit.get("_source")));
                }
                page = http.expectOk("POST", "/_search/scroll", "{\"scroll\": \"1m\", \"scroll_id\": \"" + scrollId + "\"}");
                scrollId = (String) page.get("_scroll_id");
            }
        } finally {
            http.call("DELETE", "/_search/scroll", "{\"scroll_id\": \"" + scrollId + "\"}");
        }
        return documents;
    }

    record Diff(int expectedCount, int actualCount, List<String> missing, List<String> extra, List<String> different,
                Map<String, Map<String, Object>> expected, Map<String, Map<String, Object>> actual) {

        static Diff of(Map<String, Map<String, Object>> expected, Map<String, Map<String, Object>> actual) {
            List<String> missing = new ArrayList<>(), extra = new ArrayList<>(), different = new ArrayList<>();
            for (String id : new TreeSet<>(expected.keySet())) {
                Map<String, Object> got = actual.get(id);
                if (got == null) {
                    missing.add(id);
                } else if (got.equals(expected.get(id)) == false) {
                    different.add(id);
                }
            }
            for (String id : new TreeSet<>(actual.keySet())) {
                if (expected.containsKey(id) == false) {
                    extra.add(id);
                }
            }
            return new Diff(expected.size(), actual.size(), missing, extra, different, expected, actual);
        }

        boolean equal() {
            return missing.isEmpty() && extra.isEmpty() && different.isEmpty();
        }

        List<String> examples(int limit) {
            List<String> lines = new ArrayList<>();
            missing.stream().limit(limit).forEach(id -> lines.add("missing " + id + ": expected " + EsHttp.toJson(expected.get(id))));
            extra.stream().limit(limit).forEach(id -> lines.add("extra " + id + ": " + EsHttp.toJson(actual.get(id))));
            different.stream()
                .limit(limit)
                .forEach(id -> lines.add("different " + id + ":\n    expected " + EsHttp.toJson(expected.get(id)) + "\n    indexed  " + EsHttp.toJson(actual.get(id))));
            return lines;
        }
    }
}

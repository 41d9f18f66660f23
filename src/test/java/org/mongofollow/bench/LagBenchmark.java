package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.Document;
import org.mongofollow.demo.EsHttp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Benchmark (not a test) of a follow's lag under a steady load. First the follow's maximum is measured (a ready backlog
 * of {@code --probe-docs} documents applied from a resume), then a writer inserts at half that rate (batches every
 * 10 ms) for {@code --seconds} per phase, and a sample of the writes (the first document of a batch, {@code --samples}
 * per second) is timed from the moment MongoDB acknowledged it:
 * <ul>
 *   <li><b>applied</b>: until a real-time {@code GET} of the document finds it;</li>
 *   <li><b>searchable</b>: until a search for its {@code _id} finds it, with the index's {@code refresh_interval} stated
 *   (one phase per {@code --refresh} value, by default {@code 1s} then {@code 100ms}).</li>
 * </ul>
 * Each phase prints p50, p99 and max of both lags.
 */
public final class LagBenchmark {

    private final EsHttp es;
    private final MongoClient mongo;
    private final String connection;

    private LagBenchmark(EsHttp es, MongoClient mongo, String connection) {
        this.es = es;
        this.mongo = mongo;
        this.connection = connection;
    }

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int seconds = 60;
        int samplesPerSecond = 20;
        int probeDocs = 50_000;
        double rate = -1;
        List<String> refreshes = List.of("1s", "100ms");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--samples" -> samplesPerSecond = Integer.parseInt(args[++i]);
                case "--probe-docs" -> probeDocs = Integer.parseInt(args[++i]);
                case "--rate" -> rate = Double.parseDouble(args[++i]);
                case "--refresh" -> refreshes = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (MongoClient mongo = MongoClients.create(connection)) {
            LagBenchmark bench = new LagBenchmark(new EsHttp(esUrl), mongo, connection);
            if (rate <= 0) {
                double max = bench.maximum(probeDocs);
                rate = max / 2;
                System.out.printf(Locale.ROOT, "follow maximum: %.0f docs/s from a ready backlog of %d documents; load: %.0f docs/s (50%%)%n", max, probeDocs, rate);
            }
            for (String refresh : refreshes) {
                bench.phase(rate, seconds, samplesPerSecond, refresh);
            }
        }
    }

    private static String document(int i) {
        return "doc-" + i;
    }

    private MongoCollection<Document> collection(String name) {
        return mongo.getDatabase("lag").getCollection(name);
    }

    private void follow(String index, String collection, String refresh) {
        es.call("DELETE", "/" + index, null);
        collection(collection).drop();
        mongo.getDatabase("lag").createCollection(collection);
        es.expectOk("PUT", "/" + index + "/_mongo_follow", """
            {"connection": "%s", "database": "lag", "collection": "%s", "initial_copy": false,
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0, "index.refresh_interval": "%s"}}
            """.formatted(connection, collection, refresh));
        es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null);
    }

    /** The follow's rate of applying a ready backlog, docs/s. */
    private double maximum(int docs) throws InterruptedException {
        return Backlog.applyRate(es, mongo.getDatabase("lag"), connection, "lag-probe", "probe", docs);
    }

    private void phase(double rate, int seconds, int samplesPerSecond, String refresh) throws Exception {
        String index = "lag-" + refresh;
        follow(index, "steady", refresh);
        MongoCollection<Document> collection = collection("steady");
        int perBatch = (int) Math.max(1, Math.round(rate / 100)); // a batch every 10 ms
        int sampleEvery = Math.max(1, 100 / samplesPerSecond);
        List<Long> applied = Collections.synchronizedList(new ArrayList<>());
        List<Long> searchable = Collections.synchronizedList(new ArrayList<>());
        ExecutorService probes = Executors.newFixedThreadPool(8);
        AtomicBoolean failed = new AtomicBoolean();
        long start = System.nanoTime();
        long batches = 0;
        int next = 0;
        while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(seconds)) {
            long due = start + batches * 10_000_000L;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            List<Document> batch = new ArrayList<>(perBatch);
            String sampled = document(next);
            for (int i = 0; i < perBatch; i++) {
                batch.add(new Document("_id", document(next++)).append("n", next).append("text", "y".repeat(400)));
            }
            collection.insertMany(batch);
            long acknowledged = System.nanoTime();
            if (batches % sampleEvery == 0) {
                probes.execute(() -> probe(index, sampled, acknowledged, applied, searchable, failed));
            }
            batches++;
        }
        long written = next;
        double achieved = written / ((System.nanoTime() - start) / 1e9);
        probes.shutdown();
        probes.awaitTermination(2, TimeUnit.MINUTES);
        es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
        es.call("DELETE", "/" + index, null);
        collection.drop();
        System.out.printf(
            Locale.ROOT,
            "refresh_interval %-5s: %d s at %.0f docs/s (%d documents, %d samples)%s%n",
            refresh, seconds, achieved, written, applied.size(), failed.get() ? " (some samples were not found within 60 s)" : ""
        );
        System.out.printf(Locale.ROOT, "  applied    (real-time GET finds it): %s%n", percentiles(applied));
        System.out.printf(Locale.ROOT, "  searchable (a search finds it):       %s%n", percentiles(searchable));
    }

    private void probe(String index, String id, long acknowledged, List<Long> applied, List<Long> searchable, AtomicBoolean failed) {
        long deadline = acknowledged + TimeUnit.SECONDS.toNanos(60);
        boolean found = false;
        while (found == false && System.nanoTime() < deadline) {
            found = es.call("GET", "/" + index + "/_doc/" + id + "?realtime=true&_source=false", null).status() == 200;
            if (found == false) {
                sleep();
            }
        }
        if (found == false) {
            failed.set(true);
            return;
        }
        applied.add(System.nanoTime() - acknowledged);
        found = false;
        while (found == false && System.nanoTime() < deadline) {
            Map<String, Object> count = es.call("GET", "/" + index + "/_count?q=_id:" + id, null).json();
            found = count.get("count") instanceof Number n && n.longValue() == 1;
            if (found == false) {
                sleep();
            }
        }
        if (found) {
            searchable.add(System.nanoTime() - acknowledged);
        } else {
            failed.set(true);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String percentiles(List<Long> nanos) {
        if (nanos.isEmpty()) {
            return "no samples";
        }
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        return String.format(
            Locale.ROOT,
            "p50 %d ms, p99 %d ms, max %d ms",
            sorted.get(sorted.size() / 2) / 1_000_000,
            sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1)) / 1_000_000,
            sorted.get(sorted.size() - 1) / 1_000_000
        );
    }
}

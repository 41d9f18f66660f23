package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.Document;
import org.mongofollow.demo.EsHttp;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark (not a test) of what follows cost the cluster state: F follows of S shards each on one node, first idle (a
 * writer inserts into another collection of the same database, so MongoDB's commit point, and with it every follow's
 * live checkpoint, keeps moving), then busy (the writer inserts into the followed collections, round robin). Each
 * phase counts the cluster-state versions published in its window and prints them per minute.
 */
public final class ClusterStateChurnBenchmark {

    private final EsHttp es;
    private final MongoClient mongo;
    private final String connection;

    private ClusterStateChurnBenchmark(EsHttp es, MongoClient mongo, String connection) {
        this.es = es;
        this.mongo = mongo;
        this.connection = connection;
    }

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int follows = 10;
        int shards = 2;
        int seconds = 60;
        int rate = 200;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--follows" -> follows = Integer.parseInt(args[++i]);
                case "--shards" -> shards = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--rate" -> rate = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (MongoClient mongo = MongoClients.create(connection)) {
            ClusterStateChurnBenchmark bench = new ClusterStateChurnBenchmark(new EsHttp(esUrl), mongo, connection);
            List<String> collections = bench.startFollows(follows, shards);
            System.out.printf(Locale.ROOT, "%d follows of %d shards each, %d s per phase, writer at %d docs/s%n", follows, shards, seconds, rate);
            bench.phase("idle (writes to another collection)", List.of("other"), seconds, rate);
            bench.phase("busy (writes to every followed collection)", collections, seconds, rate);
            for (int f = 0; f < follows; f++) {
                bench.es.call("DELETE", "/churn-" + f, null);
            }
        }
    }

    private List<String> startFollows(int follows, int shards) throws InterruptedException {
        mongo.getDatabase("churn").drop();
        List<String> collections = new ArrayList<>();
        for (int f = 0; f < follows; f++) {
            String collection = "c" + f;
            collections.add(collection);
            mongo.getDatabase("churn").createCollection(collection);
            es.call("DELETE", "/churn-" + f, null);
            es.expectOk("PUT", "/churn-" + f + "/_mongo_follow", """
                {"connection": "%s", "database": "churn", "collection": "%s", "initial_copy": false,
                 "settings": {"index.number_of_shards": %d, "index.number_of_replicas": 0}}
                """.formatted(connection, collection, shards));
        }
        es.expectOk("GET", "/_cluster/health/churn-*?wait_for_status=green&timeout=60s", null);
        Thread.sleep(5000); // the tasks start and settle
        return collections;
    }

    private long clusterStateVersion() {
        return ((Number) es.expectOk("GET", "/_cluster/state/version", null).get("version")).longValue();
    }

    private void phase(String name, List<String> collections, int seconds, int rate) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong inserted = new AtomicLong();
        Thread writer = new Thread(() -> {
            long next = System.nanoTime();
            int i = 0;
            while (stop.get() == false) {
                MongoCollection<Document> target = mongo.getDatabase("churn").getCollection(collections.get(i % collections.size()));
                target.insertOne(new Document("_id", name.substring(0, 4) + "-" + i).append("n", i));
                inserted.incrementAndGet();
                i++;
                next += 1_000_000_000L / rate;
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }, "churn-writer");
        writer.start();
        Thread.sleep(2000);
        long before = clusterStateVersion();
        long start = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        long after = clusterStateVersion();
        double minutes = (System.nanoTime() - start) / 60e9;
        stop.set(true);
        writer.join();
        System.out.printf(
            Locale.ROOT,
            "%s: %d cluster-state versions in %.1f s = %.1f per minute (%d documents inserted)%n",
            name,
            after - before,
            minutes * 60,
            (after - before) / minutes,
            inserted.get()
        );
    }
}

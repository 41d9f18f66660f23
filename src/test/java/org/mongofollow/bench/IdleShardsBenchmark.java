package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;

import org.mongofollow.demo.EsHttp;

import java.util.Locale;

/**
 * Benchmark (not a test): whether idle followed shards slow a busy follow on the same node. The busy follow's rate of
 * applying a ready backlog is measured three times, side by side in one run: alone, with F idle follows of S shards each
 * running on the node (their collections quiet), and alone again after the idle follows are paused. The last line is
 * {@code ratio with idle shards / alone: X.XX} (the mean of the two alone measurements as the reference).
 */
public final class IdleShardsBenchmark {

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int follows = 100;
        int shards = 2;
        int docs = 30_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--follows" -> follows = Integer.parseInt(args[++i]);
                case "--shards" -> shards = Integer.parseInt(args[++i]);
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        EsHttp es = new EsHttp(esUrl);
        try (MongoClient mongo = MongoClients.create(connection)) {
            MongoDatabase busy = mongo.getDatabase("busy");
            MongoDatabase quiet = mongo.getDatabase("quiet");
            Backlog.applyRate(es, busy, connection, "busy-warmup", "warmup", docs); // untimed: the JIT and the pools warm up
            double before = Backlog.applyRate(es, busy, connection, "busy-follow", "items", docs);
            System.out.printf(Locale.ROOT, "alone: %.0f docs/s%n", before);

            quiet.drop();
            for (int f = 0; f < follows; f++) {
                quiet.createCollection("c" + f);
                es.call("DELETE", "/idle-" + f, null);
                es.expectOk("PUT", "/idle-" + f + "/_mongo_follow", """
                    {"connection": "%s", "database": "quiet", "collection": "c%d", "initial_copy": false,
                     "settings": {"index.number_of_shards": %d, "index.number_of_replicas": 0}}
                    """.formatted(connection, f, shards));
            }
            es.expectOk("GET", "/_cluster/health/idle-*?wait_for_status=green&timeout=120s", null);
            Thread.sleep(10_000); // every idle shard task started and waits at the head of the oplog
            double with = Backlog.applyRate(es, busy, connection, "busy-follow", "items", docs);
            System.out.printf(Locale.ROOT, "with %d idle follows of %d shards (%d idle shard tasks): %.0f docs/s%n", follows, shards,
                follows * shards, with);

            for (int f = 0; f < follows; f++) {
                es.expectOk("POST", "/idle-" + f + "/_mongo_follow/_pause", null);
            }
            Thread.sleep(5_000);
            double after = Backlog.applyRate(es, busy, connection, "busy-follow", "items", docs);
            System.out.printf(Locale.ROOT, "alone again (idle follows paused): %.0f docs/s%n", after);
            for (int f = 0; f < follows; f++) {
                es.call("DELETE", "/idle-" + f, null);
            }
            System.out.printf(Locale.ROOT, "ratio with idle shards / alone: %.2f%n", with / ((before + after) / 2));
        }
    }
}

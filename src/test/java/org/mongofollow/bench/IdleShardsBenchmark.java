package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;

import org.mongofollow.demo.EsHttp;

import java.util.Locale;

/**
 * Benchmark (not a test): whether idle followed shards slow a busy follow on the same node. The busy follow's rate of
 * applying a ready backlog is measured in R rounds, each alone (F idle follows of S shards each paused) then with them
 * running on the node (their collections quiet, every shard task waiting at the head of the oplog), interleaved so that
 * a shared machine's load hits both alike. The last line is {@code ratio with idle shards / alone: X.XX}, of the best of
 * each.
 */
public final class IdleShardsBenchmark {

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int follows = 100;
        int shards = 2;
        int docs = 30_000;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--follows" -> follows = Integer.parseInt(args[++i]);
                case "--shards" -> shards = Integer.parseInt(args[++i]);
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        EsHttp es = new EsHttp(esUrl);
        try (MongoClient mongo = MongoClients.create(connection)) {
            MongoDatabase busy = mongo.getDatabase("busy");
            MongoDatabase quiet = mongo.getDatabase("quiet");
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
            setIdle(es, follows, false);
            Backlog.applyRate(es, busy, connection, "busy-warmup", "warmup", docs); // untimed: the JIT and the pools warm up
            double alone = 0;
            double with = 0;
            for (int round = 1; round <= rounds; round++) {
                double a = Backlog.applyRate(es, busy, connection, "busy-follow", "items", docs);
                setIdle(es, follows, true);
                double w = Backlog.applyRate(es, busy, connection, "busy-follow", "items", docs);
                setIdle(es, follows, false);
                System.out.printf(Locale.ROOT, "round %d: alone %.0f docs/s, with %d idle shard tasks %.0f docs/s%n", round, a, follows * shards, w);
                alone = Math.max(alone, a);
                with = Math.max(with, w);
            }
            for (int f = 0; f < follows; f++) {
                es.call("DELETE", "/idle-" + f, null);
            }
            System.out.printf(Locale.ROOT, "best: alone %.0f docs/s, with idle shards %.0f docs/s%n", alone, with);
            System.out.printf(Locale.ROOT, "ratio with idle shards / alone: %.2f%n", with / alone);
        }
    }

    /** Resumes (and lets every shard task reach the head of the oplog) or pauses the idle follows. */
    private static void setIdle(EsHttp es, int follows, boolean running) throws InterruptedException {
        for (int f = 0; f < follows; f++) {
            es.expectOk("POST", "/idle-" + f + "/_mongo_follow/" + (running ? "_resume" : "_pause"), null);
        }
        Thread.sleep(running ? 10_000 : 3_000);
    }
}

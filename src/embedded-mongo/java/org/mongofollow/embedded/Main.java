package org.mongofollow.embedded;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.bson.Document;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;

/**
 * Command line of the embedded MongoDB (scripts/dev-mongo runs it).
 *
 * <pre>
 *   Main [--port P] [--members N] [--raw-oplog] [--oplog-max-entries N] [--oplog-max-bytes N] [--noop-interval-ms N]
 *        [--server-version 4.2|4.4|5.0|6.0|7.0|8.0]
 *   Main --shards N [--port P] [--noop-interval-ms N] [--oplog-max-entries N] [--server-version V]
 *        a sharded cluster: a mongos on P, shards shard0.. (one-member replica sets) on P+1..P+N, a config server
 *   Main admin [--port P] ACTION [--millis N] [--member M] [--force]
 *     ACTION: holdMajority|releaseMajority|status|noop|outage|stepDown|killPrimary|kill|restart|pauseReplication|resumeReplication
 * </pre>
 *
 * The server prints its connection string on a line starting with {@code mongodb://} and runs until it
 * is killed. {@code admin} sends the {@code mongoFollowTest} command to a running server.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("admin")) {
            admin(args);
            return;
        }
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--shards")) {
                sharded(args);
                return;
            }
        }
        EmbeddedMongo.Options options = EmbeddedMongo.options().port(27017);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> options.port(Integer.parseInt(args[++i]));
                case "--members" -> options.members(Integer.parseInt(args[++i]));
                case "--raw-oplog" -> options.rawOplog(true);
                case "--oplog-max-entries" -> options.oplogMaxEntries(Long.parseLong(args[++i]));
                case "--oplog-max-bytes" -> options.oplogMaxBytes(Long.parseLong(args[++i]));
                case "--noop-interval-ms" -> options.noopIntervalMillis(Long.parseLong(args[++i]));
                case "--server-version" -> options.serverVersion(args[++i]);
                default -> usage("unknown option " + args[i]);
            }
        }
        EmbeddedMongo mongo = EmbeddedMongo.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            mongo.close();
            stopped.countDown();
        }, "embedded-mongo-shutdown"));
        System.out.println(mongo.connectionString());
        System.out.flush();
        stopped.await();
    }

    private static void sharded(String[] args) throws InterruptedException {
        ShardedCluster.Options options = ShardedCluster.options().port(27017);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--shards" -> options.shards(Integer.parseInt(args[++i]));
                case "--port" -> options.port(Integer.parseInt(args[++i]));
                case "--noop-interval-ms" -> options.noopIntervalMillis(Long.parseLong(args[++i]));
                case "--oplog-max-entries" -> options.oplogMaxEntries(Long.parseLong(args[++i]));
                case "--server-version" -> options.serverVersion(args[++i]);
                default -> usage("unknown option with --shards: " + args[i]);
            }
        }
        ShardedCluster cluster = ShardedCluster.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            cluster.close();
            stopped.countDown();
        }, "embedded-mongo-shutdown"));
        System.out.println(cluster.connectionString());
        for (int i = 0; i < cluster.shardCount(); i++) {
            System.out.println("# shard " + ShardedCluster.shardHost(cluster.shard(i)));
        }
        System.out.flush();
        stopped.await();
    }

    private static void admin(String[] args) {
        int port = 27017;
        String action = null;
        long millis = 1000;
        Integer member = null;
        boolean force = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--millis" -> millis = Long.parseLong(args[++i]);
                case "--member" -> member = Integer.parseInt(args[++i]);
                case "--force" -> force = true;
                default -> action = args[i];
            }
        }
        if (action == null) {
            usage("admin needs an action");
        }
        // the first member that listens: with several members, member 0 may be the one that was killed
        int listening = port;
        for (int candidate = port; candidate < port + 7; candidate++) {
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new java.net.InetSocketAddress("127.0.0.1", candidate), 500);
                listening = candidate;
                break;
            } catch (java.io.IOException e) {
                // not this one
            }
        }
        MongoClientSettings settings = MongoClientSettings.builder()
            .applyConnectionString(new ConnectionString("mongodb://127.0.0.1:" + listening + "/?directConnection=true"))
            .applyToClusterSettings(b -> b.serverSelectionTimeout(5, TimeUnit.SECONDS))
            .build();
        try (MongoClient client = MongoClients.create(settings)) {
            Document command = new Document("mongoFollowTest", action).append("millis", millis).append("force", force);
            if (member != null) {
                command.append("member", member);
            }
            Document reply = client.getDatabase("admin").runCommand(command);
            System.out.println(reply.toJson());
        }
    }

    private static void usage(String problem) {
        System.err.println(problem);
        System.err.println("usage: Main [--port P] [--members N] [--raw-oplog] [--oplog-max-entries N] [--oplog-max-bytes N] [--noop-interval-ms N]");
        System.err.println("       Main --shards N [--port P] [--noop-interval-ms N] [--oplog-max-entries N] [--server-version V]");
        System.err.println("       Main admin [--port P] ACTION [--millis N] [--member M] [--force]");
        System.err.println("         ACTION: holdMajority|releaseMajority|status|noop|outage|stepDown|killPrimary|kill|restart|pauseReplication|resumeReplication");
        System.exit(2);
    }
}

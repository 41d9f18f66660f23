package org.mongofollow.embedded;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A sharded MongoDB cluster in one process: a mongos ({@link MongosBackend}) on the given port, a config server
 * ({@code configRepl}), and N one-member shard replica sets {@code shard0} ... on the ports after it, all sharing one
 * cluster time (their oplog timestamps come from one clock, so a write on a chunk's new shard is later than every write on
 * its old one, as MongoDB's hybrid logical clock guarantees). Test and demo infrastructure only:
 *
 * <pre>{@code
 * try (ShardedCluster cluster = ShardedCluster.start(ShardedCluster.options().shards(2))) {
 *     MongoClient client = MongoClients.create(cluster.connectionString());   // the mongos
 *     client.getDatabase("admin").runCommand(new Document("shardCollection", "db.c").append("key", new Document("k", 1)));
 *     ...
 * }
 * }</pre>
 *
 * Each shard is an {@link EmbeddedMongo} ({@link #shard(int)}) with its own oplog, reachable directly at its connection
 * string; {@link EmbeddedMongo#stop()} and {@link EmbeddedMongo#restart()} of a shard are its outage, which the mongos
 * reports as HostUnreachable. {@link #startShard()} starts a server that {@code addShard} can then add.
 */
public final class ShardedCluster implements AutoCloseable {

    /** Start options; {@link ShardedCluster#options()} gives the defaults. */
    public static final class Options {
        private int port = 0;
        private int shards = 2;
        private long noopIntervalMillis = 200;
        private long oplogMaxEntries = 1_000_000;
        private String serverVersion = ServerVersion.DEFAULT.toString();
        private boolean rawOplog = false;
        private String advertisedHost = "127.0.0.1";

        /** The mongos's port (shards on the ports after it); 0, the default, picks free ports. */
        public Options port(int port) {
            this.port = port;
            return this;
        }

        /** Shards at the start (default 2). */
        public Options shards(int shards) {
            if (shards < 1 || shards > 16) {
                throw new IllegalArgumentException("shards must be between 1 and 16, got " + shards);
            }
            this.shards = shards;
            return this;
        }

        /**
         * The shards' idle no-op interval (default 200 ms): a change stream through mongos returns an event once every other
         * shard has gone past its time, so this bounds how long a quiet shard holds the others back.
         */
        public Options noopIntervalMillis(long noopIntervalMillis) {
            this.noopIntervalMillis = noopIntervalMillis;
            return this;
        }

        public Options oplogMaxEntries(long oplogMaxEntries) {
            this.oplogMaxEntries = oplogMaxEntries;
            return this;
        }

        /**
         * Shards in raw mode (see {@link EmbeddedMongo.Options#rawOplog}): each shard's oplog is what a test inserts into
         * it, for oplog entries as a real shard writes them (the conformance cases per shard).
         */
        public Options rawOplog(boolean rawOplog) {
            this.rawOplog = rawOplog;
            return this;
        }

        /**
         * The host name {@code config.shards} gives the shards at (default 127.0.0.1, where they listen): another name stands
         * for a cluster whose shards are known by names only its own network resolves.
         */
        public Options advertisedHost(String advertisedHost) {
            this.advertisedHost = advertisedHost;
            return this;
        }

        /** The MongoDB release every server answers as (see {@link EmbeddedMongo.Options#serverVersion}). */
        public Options serverVersion(String serverVersion) {
            ServerVersion.parse(serverVersion);
            this.serverVersion = serverVersion;
            return this;
        }
    }

    private final Options options;
    private final OplogClock clusterClock = new OplogClock(java.time.Clock.systemUTC());
    private final EmbeddedMongo configServer;
    private final List<EmbeddedMongo> shards = new ArrayList<>();
    private final Map<String, EmbeddedMongo> servers = new ConcurrentHashMap<>();
    private final ShardingCatalog catalog;
    private final MongosBackend mongos;
    private final WireServer mongosServer;
    private int nextPort;

    private ShardedCluster(Options options) {
        this.options = options;
        this.configServer = EmbeddedMongo.start(EmbeddedMongo.options().replicaSetName("configRepl").clusterClock(clusterClock)
            .noopIntervalMillis(options.noopIntervalMillis).serverVersion(options.serverVersion));
        this.catalog = new ShardingCatalog(configServer, options.advertisedHost);
        this.mongos = new MongosBackend(catalog, clusterClock, ServerVersion.parse(options.serverVersion), servers::get);
        this.mongosServer = new WireServer(mongos);
        mongosServer.bind(new InetSocketAddress("127.0.0.1", options.port), 1, 2);
        this.nextPort = options.port == 0 ? 0 : options.port + 1;
    }

    public static Options options() {
        return new Options();
    }

    public static ShardedCluster start(Options options) {
        ShardedCluster cluster = new ShardedCluster(options);
        try {
            for (int i = 0; i < options.shards; i++) {
                EmbeddedMongo shard = cluster.startShard();
                cluster.catalog.addShard(shard.replicaSetName(), shard, cluster.clusterClock.last() + 1);
            }
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /**
     * Starts the next shard server ({@code shardN}, on the next port) without adding it: {@code addShard} through the mongos
     * with its {@link #shardHost host string} adds it.
     */
    public synchronized EmbeddedMongo startShard() {
        String name = "shard" + shards.size();
        EmbeddedMongo shard = EmbeddedMongo.start(EmbeddedMongo.options().replicaSetName(name).port(nextPort).clusterClock(clusterClock)
            .noopIntervalMillis(options.noopIntervalMillis).oplogMaxEntries(options.oplogMaxEntries).serverVersion(options.serverVersion).rawOplog(options.rawOplog));
        shard.writeNoop("initiating set"); // the first entry of a new replica set's oplog, as replSetInitiate writes it
        if (nextPort != 0) {
            nextPort++;
        }
        shards.add(shard);
        servers.put("127.0.0.1:" + shard.port(), shard);
        return shard;
    }

    /** {@code shardN/127.0.0.1:PORT}, as {@code addShard} and {@code config.shards} name a shard. */
    public static String shardHost(EmbeddedMongo shard) {
        return shard.replicaSetName() + "/127.0.0.1:" + shard.port();
    }

    /** {@code mongodb://127.0.0.1:PORT}: the mongos. */
    public String connectionString() {
        return "mongodb://127.0.0.1:" + port();
    }

    public int port() {
        return mongosServer.getLocalAddress().getPort();
    }

    /** Shard {@code i} (started by the cluster or by {@link #startShard()}). */
    public synchronized EmbeddedMongo shard(int i) {
        return shards.get(i);
    }

    public synchronized int shardCount() {
        return shards.size();
    }

    public EmbeddedMongo configServer() {
        return configServer;
    }

    @Override
    public synchronized void close() {
        mongosServer.shutdownNow();
        for (EmbeddedMongo shard : shards) {
            shard.close();
        }
        configServer.close();
    }
}

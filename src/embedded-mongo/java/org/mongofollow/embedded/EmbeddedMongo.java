package org.mongofollow.embedded;

import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An in-process MongoDB that the MongoDB Java driver sees as the primary of the one-member replica set
 * {@code rs0}, writing a real MongoDB 5.0+ oplog to {@code local.oplog.rs}. Test and demo infrastructure
 * only. One line in a test:
 *
 * <pre>{@code
 * try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().oplogMaxEntries(10_000))) {
 *     MongoClient client = MongoClients.create(mongo.connectionString());
 *     ...
 * }
 * }</pre>
 *
 * Faults: {@link #stop()} then {@link #restart()} is an outage (same port, data kept, a new term);
 * {@link #holdMajorityCommitPoint()} freezes {@code replSetGetStatus}' {@code lastCommittedOpTime}. With
 * {@link Options#members(int) several members}: {@link #stepDown}, {@link #killMember}, {@link #restartMember} and
 * {@link #pauseReplication} (a lagging secondary), with terms and rollbacks as on MongoDB ({@link ReplicaSetMembers}).
 * It binds 127.0.0.1 only.
 */
public final class EmbeddedMongo implements AutoCloseable {

    /** Start options; {@link EmbeddedMongo#options()} gives the defaults. */
    public static final class Options {
        private int port = 0;
        private boolean rawOplog = false;
        private long oplogMaxEntries = 1_000_000;
        private long oplogMaxBytes = 0;
        private long noopIntervalMillis = 1000;
        private String replicaSetName = "rs0";
        private int eventLoopThreads = 2;
        private int members = 1;
        private java.time.Clock clock = java.time.Clock.systemUTC();
        private ServerVersion serverVersion = ServerVersion.DEFAULT;
        private OplogClock clusterClock;

        /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
        public Options port(int port) {
            this.port = port;
            return this;
        }

        /** Raw mode: no oplog of its own; entries clients insert into local.oplog.rs are the oplog. */
        public Options rawOplog(boolean rawOplog) {
            this.rawOplog = rawOplog;
            return this;
        }

        /** Cap on the number of oplog entries (oldest fall off); 0 = unlimited. Default 1,000,000. */
        public Options oplogMaxEntries(long oplogMaxEntries) {
            this.oplogMaxEntries = oplogMaxEntries;
            return this;
        }

        /** Cap on the oplog's size in BSON bytes; 0 (default) = unlimited. */
        public Options oplogMaxBytes(long oplogMaxBytes) {
            this.oplogMaxBytes = oplogMaxBytes;
            return this;
        }

        /** Interval of the periodic {@code {msg:"periodic noop"}} entries when idle; 0 disables them. Default 1000. */
        public Options noopIntervalMillis(long noopIntervalMillis) {
            this.noopIntervalMillis = noopIntervalMillis;
            return this;
        }

        /** Netty event-loop threads serving connections (default 2). */
        public Options eventLoopThreads(int eventLoopThreads) {
            this.eventLoopThreads = eventLoopThreads;
            return this;
        }

        /**
         * Members of the replica set (default 1). With more, member i listens on {@code port + i} (or a free port), the
         * driver discovers them all, and {@link EmbeddedMongo#stepDown}, {@link EmbeddedMongo#killMember},
         * {@link EmbeddedMongo#pauseReplication} give elections, lagging secondaries and rollbacks.
         */
        public Options members(int members) {
            if (members < 1 || members > 7) {
                throw new IllegalArgumentException("members must be between 1 and 7, got " + members);
            }
            this.members = members;
            return this;
        }

        public Options replicaSetName(String replicaSetName) {
            this.replicaSetName = replicaSetName;
            return this;
        }

        /**
         * The wall clock the server's oplog timestamps (and dates) come from; the system's by default. A clock set to
         * 2038-01-19T03:14:08Z or later gives timestamps whose seconds do not fit a signed 32-bit number, as a real
         * mongod's will from then on.
         */
        public Options clock(java.time.Clock clock) {
            this.clock = java.util.Objects.requireNonNull(clock);
            return this;
        }

        /**
         * The MongoDB release the server answers as: {@code 4.2}, {@code 4.4}, {@code 5.0}, {@code 6.0}, {@code 7.0} (the
         * default) or {@code 8.0}. It reports that release's version and wire version, writes its oplog update format and
         * serves its change stream options, events and resume tokens (see {@code ServerVersion}).
         */
        public Options serverVersion(String version) {
            this.serverVersion = ServerVersion.parse(version);
            return this;
        }

        /** The cluster time shared with the other servers of a sharded cluster ({@link ShardedCluster}). */
        Options clusterClock(OplogClock clusterClock) {
            this.clusterClock = clusterClock;
            return this;
        }

        ServerVersion version() {
            return serverVersion;
        }
    }

    private static final String HOST = "127.0.0.1";

    private final Options options;
    private final ReplicaSetBackend backend;
    private final OplogStore store;
    private final ScheduledExecutorService timer;
    private final WireServer[] servers;
    private final int[] ports;

    private EmbeddedMongo(Options options) {
        this.options = options;
        this.store = new OplogStore(options.oplogMaxEntries, options.oplogMaxBytes);
        this.servers = new WireServer[options.members];
        this.ports = new int[options.members];
        this.backend = new ReplicaSetBackend(options.replicaSetName, store, options.rawOplog, options.members, options.clock, options.clusterClock, options.serverVersion, new ReplicaSetBackend.Control() {
            @Override
            public void holdMajority() {
                holdMajorityCommitPoint();
            }

            @Override
            public void releaseMajority() {
                releaseMajorityCommitPoint();
            }

            @Override
            public void outage(long millis) {
                scheduleOutage(millis);
            }

            @Override
            public int stepDown(boolean force) {
                return EmbeddedMongo.this.stepDown(force);
            }

            @Override
            public void kill(int member) {
                // later, off the caller's connection: the member may be the one the command came in on
                timer.execute(() -> killMember(member));
            }

            @Override
            public void restart(int member) {
                restartMember(member);
            }
        });
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "embedded-mongo-timer");
            t.setDaemon(true);
            return t;
        });
    }

    public static Options options() {
        return new Options();
    }

    /** Starts with the default options on a free port. */
    public static EmbeddedMongo start() {
        return start(options());
    }

    public static EmbeddedMongo start(Options options) {
        EmbeddedMongo mongo = new EmbeddedMongo(options);
        for (int i = 0; i < options.members; i++) {
            mongo.bind(i, options.port == 0 ? 0 : options.port + i);
        }
        long interval = options.noopIntervalMillis;
        long tick = interval > 0 ? Math.max(10, interval / 4) : 1000;
        mongo.timer.scheduleWithFixedDelay(() -> {
            try {
                if (interval > 0) {
                    mongo.backend.writer().noopIfIdle(interval);
                }
                mongo.backend.oplogCursors().expireIdleCursors();
            } catch (RuntimeException e) {
                // keep the timer alive
            }
        }, tick, tick, TimeUnit.MILLISECONDS);
        return mongo;
    }

    private synchronized void bind(int member, int requestedPort) {
        WireServer s = new WireServer(backend);
        s.bind(new InetSocketAddress(HOST, requestedPort), 1, options.eventLoopThreads);
        servers[member] = s;
        ports[member] = s.getLocalAddress().getPort();
        backend.setHostAndPort(member, HOST + ":" + ports[member]);
    }

    /** {@code mongodb://127.0.0.1:PORT[,127.0.0.1:PORT2...]/?replicaSet=rs0}: every member. */
    public String connectionString() {
        StringBuilder hosts = new StringBuilder();
        for (int p : ports) {
            hosts.append(hosts.length() == 0 ? "" : ",").append(HOST).append(':').append(p);
        }
        return "mongodb://" + hosts + "/?replicaSet=" + options.replicaSetName;
    }

    /** {@code mongodb://127.0.0.1:PORT/?directConnection=true} of member 0, for clients that must not do replica-set discovery. */
    public String directConnectionString() {
        return "mongodb://" + HOST + ":" + ports[0] + "/?directConnection=true";
    }

    /** The port of member 0 (the first primary). */
    public int port() {
        return ports[0];
    }

    public int memberPort(int member) {
        return ports[member];
    }

    public int memberCount() {
        return ports.length;
    }

    public synchronized boolean isRunning() {
        for (WireServer s : servers) {
            if (s != null) {
                return true;
            }
        }
        return false;
    }

    /** An outage: stops listening and closes every client connection; data, oplog and ports are kept. */
    public synchronized void stop() {
        backend.oplogCursors().killAll();
        for (int i = 0; i < servers.length; i++) {
            if (servers[i] != null) {
                servers[i].stopServing();
                servers[i] = null;
            }
        }
    }

    /** Starts again after {@link #stop()} (or stops and starts) on the same ports, with a new primary (new term). */
    public synchronized void restart() {
        stop();
        for (int i = 0; i < servers.length; i++) {
            if (backend.members().isUp(i) || servers.length == 1) {
                bind(i, ports[i]);
            }
        }
        backend.writer().newTerm();
    }

    /** Stops for {@code millis}, then restarts, in the background (used by the wire command). */
    void scheduleOutage(long millis) {
        timer.schedule(() -> {
            stop();
            timer.schedule(this::restart, millis, TimeUnit.MILLISECONDS);
        }, 50, TimeUnit.MILLISECONDS);
    }

    /** Freezes the majority commit point ({@code replSetGetStatus} lastCommittedOpTime) where it is. */
    /**
     * Refuses (or allows again) reads of {@code local.oplog.rs} with Unauthorized (13), as MongoDB refuses a user without
     * read access to {@code local}; change streams still work.
     */
    public void refuseOplogReads(boolean refused) {
        backend.refuseOplogReads(refused);
    }

    public void holdMajorityCommitPoint() {
        backend.writer().holdMajority();
    }

    /** Lets the majority commit point follow the members again. */
    public void releaseMajorityCommitPoint() {
        backend.writer().releaseMajority();
    }

    // ---------------------------------------------------------------- members (several-member sets)

    /** The primary member, or -1 while a majority of the members is down. */
    public int primary() {
        return backend.members().primary();
    }

    /** The election term. */
    public long term() {
        return backend.writer().term();
    }

    /** How many rollbacks elections caused so far. */
    public int rollbacks() {
        return backend.members().rollbacks();
    }

    /**
     * {@code replSetStepDown}: the secondary that has applied the most becomes primary in a new term. Without
     * {@code force} it must have every entry; with it, the entries it lacks are rolled back. Returns the new primary.
     */
    public int stepDown(boolean force) {
        return backend.writer().locked(() -> backend.members().stepDown(force));
    }

    /** Kills a member: its port closes with every connection; a killed primary is replaced by an election (and rollback). */
    public synchronized void killMember(int member) {
        backend.writer().locked(() -> {
            backend.members().kill(member);
            return null;
        });
        if (servers[member] != null) {
            servers[member].stopServing();
            servers[member] = null;
        }
    }

    /** A killed member comes back on its port as a secondary that has caught up. */
    public synchronized void restartMember(int member) {
        if (servers[member] == null) {
            bind(member, ports[member]);
        }
        backend.writer().locked(() -> {
            backend.members().restart(member);
            return null;
        });
    }

    /** A secondary stops replicating: its oplog (as its reads and {@code hello} show it) ends here, the commit point may stall. */
    public void pauseReplication(int member) {
        backend.writer().locked(() -> {
            backend.members().pause(member);
            return null;
        });
    }

    /** The secondary catches up at once. */
    public void resumeReplication(int member) {
        backend.members().resume(member);
    }

    /** Every secondary stops replicating: what the primary writes from now on is not majority-committed. */
    public void pauseSecondaries() {
        backend.writer().locked(() -> {
            backend.members().pauseSecondaries();
            return null;
        });
    }

    /** Every member that is up catches up at once. */
    public void resumeAllReplication() {
        backend.members().resumeAll();
    }

    /** The majority commit point as {@code replSetGetStatus} reports it. */
    public org.bson.BsonTimestamp majorityCommitPoint() {
        return toDriver((de.bwaldvogel.mongo.bson.BsonTimestamp) backend.writer().majorityOpTime().get("ts"));
    }

    /** The ts of the newest oplog entry (Timestamp(0,0) when empty). */
    public org.bson.BsonTimestamp lastAppliedOpTime() {
        return toDriver((de.bwaldvogel.mongo.bson.BsonTimestamp) backend.writer().lastAppliedOpTime().get("ts"));
    }

    /** Writes an {@code n} entry now (not in raw mode). */
    public void writeNoop(String message) {
        backend.writer().noop(message);
    }

    public long oplogEntryCount() {
        return store.size();
    }

    /** Oplog entries looked at by reads so far (for tests of the read cost). */
    long oplogEntriesExamined() {
        return backend.oplogCursors().entriesExamined();
    }

    /** The server's backend, for the mongos of a sharded cluster in the same process ({@link ShardedCluster}). */
    ReplicaSetBackend backend() {
        return backend;
    }

    public String replicaSetName() {
        return options.replicaSetName;
    }

    public boolean isRawOplog() {
        return options.rawOplog;
    }

    private static org.bson.BsonTimestamp toDriver(de.bwaldvogel.mongo.bson.BsonTimestamp ts) {
        return new org.bson.BsonTimestamp(ts.getValue());
    }

    /** Stops for good and frees the data. */
    @Override
    public synchronized void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        backend.oplogCursors().killAll();
        for (int i = 0; i < servers.length; i++) {
            if (servers[i] != null) {
                servers[i].stopServing();
                servers[i] = null;
            }
        }
        backend.close();
    }
}

package org.mongofollow.embedded;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import de.bwaldvogel.mongo.bson.Document;

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
 * {@link #holdMajorityCommitPoint()} freezes {@code replSetGetStatus}' {@code lastCommittedOpTime}.
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

        public Options replicaSetName(String replicaSetName) {
            this.replicaSetName = replicaSetName;
            return this;
        }
    }

    private static final String HOST = "127.0.0.1";

    private final Options options;
    private final ReplicaSetBackend backend;
    private final OplogStore store;
    private final ScheduledExecutorService timer;
    private ReplicaSetServer server;
    private int port;

    private EmbeddedMongo(Options options) {
        this.options = options;
        this.store = new OplogStore(options.oplogMaxEntries, options.oplogMaxBytes);
        this.backend = new ReplicaSetBackend(options.replicaSetName, store, options.rawOplog, new ReplicaSetBackend.Control() {
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
        mongo.bind(options.port);
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

    private synchronized void bind(int requestedPort) {
        ReplicaSetServer s = new ReplicaSetServer(backend);
        s.bind(new InetSocketAddress(HOST, requestedPort), 1, options.eventLoopThreads);
        server = s;
        port = s.getLocalAddress().getPort();
        backend.setHostAndPort(HOST + ":" + port);
    }

    /** {@code mongodb://127.0.0.1:PORT/?replicaSet=rs0}. */
    public String connectionString() {
        return "mongodb://" + HOST + ":" + port + "/?replicaSet=" + options.replicaSetName;
    }

    /** {@code mongodb://127.0.0.1:PORT/?directConnection=true}, for clients that must not do replica-set discovery. */
    public String directConnectionString() {
        return "mongodb://" + HOST + ":" + port + "/?directConnection=true";
    }

    public int port() {
        return port;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** An outage: stops listening and closes every client connection; data, oplog and port are kept. */
    public synchronized void stop() {
        if (server != null) {
            backend.oplogCursors().killAll();
            server.stopServing();
            server = null;
        }
    }

    /** Starts again after {@link #stop()} (or stops and starts) on the same port, as a new primary (new term). */
    public synchronized void restart() {
        stop();
        bind(port);
        backend.writer().newTerm();
    }

    /** Stops for {@code millis}, then restarts, in the background (used by the wire command). */
    void scheduleOutage(long millis) {
        timer.schedule(() -> {
            stop();
            timer.schedule(this::restart, millis, TimeUnit.MILLISECONDS);
        }, 50, TimeUnit.MILLISECONDS);
    }

    /** Freezes the majority commit point ({@code replSetGetStatus} lastCommittedOpTime) at the newest entry. */
    public void holdMajorityCommitPoint() {
        backend.writer().holdMajority();
    }

    /** Lets the majority commit point follow the newest entry again. */
    public void releaseMajorityCommitPoint() {
        backend.writer().releaseMajority();
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

    public boolean isRawOplog() {
        return options.rawOplog;
    }

    /** A snapshot of the oplog as the server holds it, in ts order (library documents; for diagnostics). */
    List<Document> oplogSnapshot() {
        return new ArrayList<>(store.all().values());
    }

    private static org.bson.BsonTimestamp toDriver(de.bwaldvogel.mongo.bson.BsonTimestamp ts) {
        return new org.bson.BsonTimestamp(ts.getValue());
    }

    /** Stops for good and frees the data. */
    @Override
    public synchronized void close() {
        timer.shutdownNow();
        if (server != null) {
            backend.oplogCursors().killAll();
            server.shutdownNow();
            server = null;
        } else {
            backend.close();
        }
    }
}

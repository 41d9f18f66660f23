package org.mongofollow.embedded;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import io.netty.channel.Channel;

/**
 * The memory backend of mongo-java-server, made to answer as the primary of a one-member replica set
 * ({@code hello}, {@code isMaster}, {@code replSetGetStatus}, {@code buildInfo}, sessions and transactions)
 * and to keep a real oplog ({@link OplogWriter}, {@link OplogStore}) served by {@link OplogCursors}.
 */
final class ReplicaSetBackend extends MemoryBackend implements ServedBackend {


    private final String replicaSetName;
    private final OplogWriter writer;
    private final OplogCursors oplogCursors;
    private final ChangeStreams changeStreams;
    private final ServerVersion version;
    private final Control control;
    private final Instant started = Instant.now();
    /** When the first primary was elected, on the server's wall clock. */
    private Instant electedAt() {
        return wallClock.instant().minus(java.time.Duration.between(started, Instant.now()));
    }

    /** The wall clock of the oplog timestamps and the dates the server reports. */
    private final Clock wallClock;
    private final ServerCounters counters = new ServerCounters();
    private final ReplicaSetMembers members;

    /** Retryable writes already executed, by (session, txnNumber): a retry gets the first answer. */
    private final Map<Object, Document> executedRetryableWrites = Collections.synchronizedMap(
        new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, Document> eldest) {
                return size() > 10_000;
            }
        });

    /** What the {@code mongoFollowTest} admin command can ask of the process that runs this backend. */
    interface Control {
        void holdMajority();

        void releaseMajority();

        void outage(long millis);

        /** {@code replSetStepDown}; returns the new primary. */
        int stepDown(boolean force);

        void kill(int member);

        void restart(int member);
    }

    ReplicaSetBackend(String replicaSetName, OplogStore store, boolean raw, int memberCount, Clock clock, OplogClock clusterClock,
        ServerVersion version, Control control) {
        super(clock);
        this.wallClock = clock;
        this.replicaSetName = replicaSetName;
        this.version = version;
        this.writer = new OplogWriter(store, clusterClock != null ? clusterClock : new OplogClock(clock), raw, version);
        java.util.function.LongSupplier majorityCommitPoint = () -> ((BsonTimestamp) writer.majorityOpTime().get("ts")).getValue();
        this.oplogCursors = new OplogCursors(store, getCursorRegistry(), majorityCommitPoint);
        this.changeStreams = new ChangeStreams(store, getCursorRegistry(), majorityCommitPoint, this::resolveDatabase, null, writer.preImages(), version);
        this.members = new ReplicaSetMembers(writer, memberCount);
        if (memberCount > 1) {
            writer.setMembers(members);
            members.onRollback(oplogCursors::killMember);
        }
        this.control = control;
    }

    ReplicaSetMembers members() {
        return members;
    }

    /** The member a client connection talks to (always 0 in a one-member set). */
    private int memberOf(Channel channel) {
        if (members.size() == 1 || channel == null || !(channel.localAddress() instanceof java.net.InetSocketAddress address)) {
            return 0;
        }
        return members.memberOnPort(address.getPort());
    }

    OplogWriter writer() {
        return writer;
    }

    OplogCursors oplogCursors() {
        return oplogCursors;
    }

    void setHostAndPort(int member, String hostAndPort) {
        members.setHost(member, hostAndPort);
    }

    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new OplogDatabase(databaseName, getCursorRegistry(), writer);
    }

    /** Whether a getMore is for an oplog cursor (served off the event loop, since it may wait). */
    boolean isOplogGetMore(Document command) {
        Object id = command.get("getMore");
        return id instanceof Number && oplogCursors.owns(((Number) id).longValue());
    }

    /** Whether a {@code getMore} may wait for new entries: one on an oplog cursor or on a change stream. */
    @Override
    public boolean isAwaitingGetMore(Document command) {
        Object id = command.get("getMore");
        return isOplogGetMore(command) || (id instanceof Number n && changeStreams.owns(n.longValue()));
    }

    /** What this server has served ({@code serverStatus}). */
    @Override
    public ServerCounters counters() {
        return counters;
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        counters.command(command, query);
        Document reply = dispatch(channel, databaseName, command, query);
        counters.reply(reply);
        return reply;
    }

    /**
     * Every reply carries, as a replica set member's does, the operation's logical time (for a write, at or after its oplog
     * entry), which a client's session keeps as its {@code operationTime}.
     */
    @Override
    public Document handleMessage(de.bwaldvogel.mongo.wire.message.MongoMessage message) {
        Document reply = super.handleMessage(message);
        if (reply != null && reply.containsKey("operationTime") == false
            && appliedOpTime(memberOf(message.getChannel())).get("ts") instanceof BsonTimestamp ts) {
            reply.append("operationTime", ts);
        }
        return reply;
    }

    /**
     * While set, reads of {@code local.oplog.rs} are refused with Unauthorized (13), as for a user without read access to
     * {@code local} (hosted offerings, restricted roles); change streams, which the server derives from its oplog itself,
     * still work.
     */
    private volatile boolean oplogReadsRefused;

    void refuseOplogReads(boolean refused) {
        oplogReadsRefused = refused;
    }

    private Document dispatch(Channel channel, String databaseName, String command, Document query) {
        String cmd = command.toLowerCase(Locale.ROOT);
        int me = memberOf(channel);
        if (oplogReadsRefused && databaseName.equals("local") && "oplog.rs".equals(String.valueOf(query.get(command)))) {
            return error(13, "Unauthorized", "not authorized on local to execute command { " + command + ": \"oplog.rs\" }");
        }
        if (members.isPrimary(me) == false) {
            Document refused = refuseOnSecondary(cmd, databaseName, query);
            if (refused != null) {
                return refused;
            }
        }
        switch (cmd) {
            case "serverstatus":
                return counters.serverStatus(
                    new Document("host", "embedded-mongo").append("version", version.versionString())
                        .append("process", "mongod")
                        .append("uptimeMillis", java.time.Duration.between(started, Instant.now()).toMillis())
                        .append("ok", 1.0)
                );
            case "hello":
            case "ismaster":
                return hello(cmd.equals("hello"), me);
            case "buildinfo":
                return buildInfo();
            case "replsetgetstatus":
                return replSetGetStatus(me);
            case "replsetstepdown":
                control.stepDown(Boolean.TRUE.equals(query.get("force")));
                return new Document("ok", 1.0);
            case "mongofollowtest":
                return testControl(query);
            case "committransaction":
                return writer.commit(query);
            case "aborttransaction":
                return writer.abort(query);
            case "endsessions":
                writer.endSessions(query.get(command));
                return new Document("ok", 1.0);
            case "getmore":
                if (isOplogGetMore(query)) {
                    return oplogCursors.getMore(query);
                }
                if (query.get("getMore") instanceof Number id && changeStreams.owns(id.longValue())) {
                    return changeStreams.getMore(query);
                }
                return getMoreCappedAt16MiB(databaseName, query);
            case "killcursors":
                return killCursors(channel, databaseName, command, query);
            default:
                break;
        }
        if (databaseName.equals("local") && "oplog.rs".equals(String.valueOf(query.get(command)))) {
            return oplogCommand(cmd, query, me);
        }
        if (isWrite(cmd, databaseName)) {
            return write(channel, databaseName, command, cmd, query);
        }
        if (Boolean.FALSE.equals(query.get("autocommit"))) {
            writer.transactionFor(query); // a transaction may start with a read; later statements must find it
        }
        if (cmd.equals("find")) {
            query = firstBatchCappedAt16MiB(databaseName, query);
        }
        return super.handleCommand(channel, databaseName, command, query);
    }

    /**
     * A find's first batch as mongod sizes it: 101 documents unless the client asks otherwise, and no more than about
     * 16 MiB (here: as many documents as the collection's mean size fits in 16 MiB). The library would return every
     * document in the first reply.
     */
    private Document firstBatchCappedAt16MiB(String databaseName, Document query) {
        if (!(query.get("find") instanceof String name)
            || !(resolveDatabase(databaseName).resolveCollection(name, false) instanceof OplogCollection collection)) {
            return query;
        }
        int requested = query.get("batchSize") instanceof Number n && n.intValue() > 0 ? n.intValue() : 101;
        int fitting = Math.max(1, MAX_BATCH_BYTES / Math.max(1, collection.averageDocumentSize()));
        if (requested <= fitting && query.get("batchSize") instanceof Number) {
            return query;
        }
        Document capped = new Document(query);
        capped.put("batchSize", Math.min(requested, fitting));
        return capped;
    }

    /**
     * The next batch of a cursor: at most {@code batchSize} documents, and as on mongod no more than 16 MiB of them (the
     * first that reaches it ends the batch). The library would return every remaining document of a getMore without a
     * batch size in one reply, which the driver refuses once it exceeds the 48 MB message limit.
     */
    private Document getMoreCappedAt16MiB(String databaseName, Document query) {
        long cursorId = ((Number) query.get("getMore")).longValue();
        int batchSize = ((Number) query.getOrDefault("batchSize", 0)).intValue();
        de.bwaldvogel.mongo.backend.Cursor cursor = getCursorRegistry().getCursor(cursorId);
        List<Document> batch = new ArrayList<>();
        long bytes = 0;
        while (cursor.isEmpty() == false && (batchSize <= 0 || batch.size() < batchSize) && bytes < MAX_BATCH_BYTES) {
            for (Document document : cursor.takeDocuments(1)) {
                batch.add(document);
                bytes += BsonValues.documentSize(document);
            }
        }
        if (cursor.isEmpty()) {
            getCursorRegistry().remove(cursor);
            cursorId = 0;
        }
        Document reply = new Document("id", cursorId).append("ns", databaseName + "." + query.get("collection")).append("nextBatch", batch);
        return new Document("cursor", reply).append("ok", 1.0);
    }

    private static final int MAX_BATCH_BYTES = 16 * 1024 * 1024;

    /** Commands a member that is not primary serves whatever the read preference says. */
    private static final Set<String> ANY_MEMBER = Set.of("hello", "ismaster", "buildinfo", "replsetgetstatus", "mongofollowtest",
        "ping", "serverstatus", "getmore", "killcursors", "endsessions", "saslstart", "saslcontinue", "authenticate", "logout",
        "connectionstatus", "whatsmyuri", "getparameter", "hostinfo", "getcmdlineopts", "getlog", "listdatabases");

    /**
     * What a secondary (or a member that is down to the set) answers instead of running {@code cmd}: writes and
     * transactions need the primary (NotWritablePrimary), reads need a read preference that allows secondaries
     * (NotPrimaryNoSecondaryOk), as on MongoDB. Null when it runs the command.
     */
    private Document refuseOnSecondary(String cmd, String databaseName, Document query) {
        if (ANY_MEMBER.contains(cmd)) {
            return null;
        }
        boolean write = isWrite(cmd, databaseName) && (cmd.equals("aggregate") == false || writesViaOut(query))
            || cmd.equals("committransaction") || cmd.equals("aborttransaction") || cmd.equals("replsetstepdown")
            || (databaseName.equals("local") && "oplog.rs".equals(String.valueOf(query.get(cmd))) && cmd.equals("find") == false
                && cmd.equals("count") == false && cmd.equals("aggregate") == false);
        if (write) {
            Document error = error(10107, "NotWritablePrimary", "not primary");
            if (query.get("txnNumber") instanceof Number && Boolean.FALSE.equals(query.get("autocommit")) == false) {
                error.put("errorLabels", List.of("RetryableWriteError")); // as MongoDB 4.4+ labels it: the driver retries
            }
            return error;
        }
        Object readPreference = query.get("$readPreference");
        boolean secondaryOk = readPreference instanceof Document rp && "primary".equals(rp.get("mode")) == false;
        if (secondaryOk == false) {
            return error(13435, "NotPrimaryNoSecondaryOk", "not primary and secondaryOk=false");
        }
        return null;
    }

    private static Document error(int code, String codeName, String message) {
        return new Document("ok", 0.0).append("errmsg", message).append("code", code).append("codeName", codeName);
    }

    private static boolean isWrite(String cmd, String databaseName) {
        switch (cmd) {
            case "insert", "update", "delete", "findandmodify", "create", "drop", "createindexes", "dropindexes",
                "dropdatabase", "aggregate", "collmod" -> {
                return !databaseName.equals("local");
            }
            case "renamecollection" -> {
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private Document write(Channel channel, String databaseName, String command, String cmd, Document query) {
        OplogWriter.Transaction txn = Boolean.FALSE.equals(query.get("autocommit")) ? writer.transactionFor(query) : null;
        if (cmd.equals("findandmodify") && query.get("update") instanceof List) {
            throw new MongoServerError(2, "BadValue", "findAndModify with a pipeline-style update is not supported by the"
                + " mongo-follow embedded MongoDB: use update operators or a replacement, or an update command with a pipeline");
        }
        if (cmd.equals("aggregate") && ChangeStreams.isChangeStream(query)) {
            return changeStreams.aggregate(databaseName, query);
        }
        if (cmd.equals("aggregate") && !writesViaOut(query)) {
            Document sampled = RandomSample.serve(resolveDatabase(databaseName), query, this::resolveDatabase, oplog);
            return sampled != null ? sampled : super.handleCommand(channel, databaseName, command, query);
        }
        Object retryKey = txn == null ? retryableWriteKey(cmd, query) : null;
        if (retryKey != null) {
            Document earlier = executedRetryableWrites.get(retryKey);
            if (earlier != null) {
                return earlier; // a retried write (e.g. after an outage): answer as the first time, apply nothing twice
            }
        }
        Document response = writer.write(command, query, txn, () -> {
            switch (cmd) {
                case "renamecollection":
                    return renameCollection(channel, databaseName, command, query);
                case "createindexes":
                    return createIndexes(channel, databaseName, command, query);
                case "collmod":
                    if (!(resolveDatabase(databaseName).resolveCollection(String.valueOf(query.get(command)), false) instanceof OplogCollection target)) {
                        throw new MongoServerError(26, "NamespaceNotFound", "ns does not exist: " + databaseName + "." + query.get(command));
                    }
                    return writer.collMod(target, query);
                case "dropdatabase":
                    return dropDatabaseLogged(channel, databaseName, command, query);
                case "update":
                    return hasPipeline(query) ? PipelineUpdates.run(this, channel, databaseName, query)
                        : super.handleCommand(channel, databaseName, command, query);
                case "create":
                    if (query.containsKey("changeStreamPreAndPostImages") && version.preAndPostImages() == false) {
                        throw new MongoServerError(40415, "Location40415", "BSON field 'create.changeStreamPreAndPostImages' is an unknown field.");
                    }
                    // the library cannot cap collections: the collection is created uncapped, the entry keeps the options
                    Document uncapped = new Document(query);
                    uncapped.remove("capped");
                    uncapped.remove("size");
                    uncapped.remove("max");
                    return super.handleCommand(channel, databaseName, command, uncapped);
                default:
                    return super.handleCommand(channel, databaseName, command, query);
            }
        });
        if (retryKey != null) {
            executedRetryableWrites.put(retryKey, response);
        }
        return response;
    }

    private static Object retryableWriteKey(String cmd, Document query) {
        if (!(query.get("lsid") instanceof Document) || !(query.get("txnNumber") instanceof Number)) {
            return null;
        }
        if (!cmd.equals("insert") && !cmd.equals("update") && !cmd.equals("delete") && !cmd.equals("findandmodify")) {
            return null;
        }
        return List.of(((Document) query.get("lsid")).get("id"), ((Number) query.get("txnNumber")).longValue());
    }

    private static boolean writesViaOut(Document query) {
        Object pipeline = query.get("pipeline");
        if (pipeline instanceof List && !((List<?>) pipeline).isEmpty()) {
            Object last = ((List<?>) pipeline).get(((List<?>) pipeline).size() - 1);
            return last instanceof Document && (((Document) last).containsKey("$out") || ((Document) last).containsKey("$merge"));
        }
        return false;
    }

    private static boolean hasPipeline(Document query) {
        Object updates = query.get("updates");
        if (updates instanceof List) {
            for (Object u : (List<?>) updates) {
                if (u instanceof Document && ((Document) u).get("u") instanceof List) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The connection of commands that the servers of this process send one another (a mongos to its shards and config
     * server): the library keeps some state per connection.
     */
    static final Channel INTERNAL = new io.netty.channel.embedded.EmbeddedChannel();

    /** A write of a chunk migration, sent by this process's mongos: its oplog entries carry {@code fromMigrate: true}. */
    Document migrationWrite(String databaseName, String command, Document query) {
        return writer.migrationWrite(command, query, () -> super.handleCommand(INTERNAL, databaseName, command, query));
    }

    /** The shard key of a collection this server holds chunks of (null: unsharded), for its entries' document keys. */
    void setShardKey(String namespace, List<String> fields) {
        writer.setShardKey(namespace, fields);
    }

    /** The library's own command handling, for {@link PipelineUpdates} (runs inside the current write context). */
    Document libraryCommand(Channel channel, String databaseName, String command, Document query) {
        return super.handleCommand(channel, databaseName, command, query);
    }

    // ---------------------------------------------------------------- replica-set identity

    private Document hello(boolean helloCommand, int me) {
        Document response = new Document();
        boolean primary = members.isPrimary(me);
        if (helloCommand) {
            response.put("isWritablePrimary", primary);
        } else {
            response.put("ismaster", primary);
        }
        // no topologyVersion: the driver would then stream hello, which this server cannot serve
        response.put("hosts", members.hosts());
        response.put("setName", replicaSetName);
        response.put("setVersion", 1);
        response.put("secondary", !primary);
        if (members.primary() >= 0) {
            response.put("primary", members.host(members.primary()));
        }
        response.put("me", members.host(me));
        if (primary) {
            response.put("electionId", new ObjectId(String.format("7fffffff%016x", writer.term())));
        }
        Document lastApplied = appliedOpTime(me);
        Document majority = majorityOpTime(me);
        response.put("lastWrite", new Document("opTime", lastApplied)
            .append("lastWriteDate", wallOf(lastApplied))
            .append("majorityOpTime", majority)
            .append("majorityWriteDate", wallOf(majority)));
        return withServerLimits(response, version, wallClock.instant());
    }

    /** The part of a {@code hello} answer every server gives alike (a member or a mongos): limits, time, wire versions. */
    static Document withServerLimits(Document response, ServerVersion version, Instant now) {
        response.put("maxBsonObjectSize", BsonConstants.MAX_BSON_OBJECT_SIZE);
        response.put("maxMessageSizeBytes", MongoWireProtocolHandler.MAX_MESSAGE_SIZE_BYTES);
        response.put("maxWriteBatchSize", MongoWireProtocolHandler.MAX_WRITE_BATCH_SIZE);
        response.put("localTime", now);
        response.put("logicalSessionTimeoutMinutes", 30);
        response.put("connectionId", 1);
        response.put("minWireVersion", 0);
        response.put("maxWireVersion", version.wireVersion());
        response.put("readOnly", Boolean.FALSE);
        response.put("ok", 1.0);
        return response;
    }

    /** The newest entry {@code member} has applied, {@code {ts, t}}. */
    private Document appliedOpTime(int member) {
        return members.size() == 1 ? writer.lastAppliedOpTime() : members.opTime(members.applied(member));
    }

    /** The majority commit point as {@code member} knows it: never past what it has applied. */
    private Document majorityOpTime(int member) {
        Document majority = writer.majorityOpTime();
        if (members.size() == 1) {
            return majority;
        }
        long applied = members.applied(member);
        long committed = ((BsonTimestamp) majority.get("ts")).getValue();
        return Long.compareUnsigned(committed, applied) <= 0 ? majority : members.opTime(applied);
    }

    private static Instant wallOf(Document opTime) {
        BsonTimestamp ts = (BsonTimestamp) opTime.get("ts");
        return Instant.ofEpochSecond(Integer.toUnsignedLong(ts.getTime()));
    }

    private Document buildInfo() {
        return new Document("version", version.versionString())
            .append("gitVersion", "mongo-follow-embedded")
            .append("versionArray", version.versionArray())
            .append("bits", 64)
            .append("maxBsonObjectSize", BsonConstants.MAX_BSON_OBJECT_SIZE)
            .append("storageEngines", List.of("memory"))
            .append("ok", 1.0);
    }

    private Document replSetGetStatus(int me) {
        Document applied = appliedOpTime(me);
        Document majority = majorityOpTime(me);
        Document optimes = new Document("lastCommittedOpTime", majority)
            .append("lastCommittedWallTime", wallOf(majority))
            .append("readConcernMajorityOpTime", majority)
            .append("readConcernMajorityWallTime", wallOf(majority))
            .append("appliedOpTime", applied)
            .append("durableOpTime", applied)
            .append("lastAppliedWallTime", wallOf(applied))
            .append("lastDurableWallTime", wallOf(applied));
        long uptime = java.time.Duration.between(started, Instant.now()).getSeconds();
        List<Document> memberList = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            Document optime = appliedOpTime(i);
            Document member = new Document("_id", i)
                .append("name", members.host(i))
                .append("health", members.isUp(i) ? 1.0 : 0.0)
                .append("state", members.stateCode(i))
                .append("stateStr", members.stateName(i))
                .append("uptime", (int) uptime)
                .append("optime", optime)
                .append("optimeDate", wallOf(optime))
                .append("lastAppliedWallTime", wallOf(optime))
                .append("lastDurableWallTime", wallOf(optime))
                .append("syncSourceHost", members.isPrimary(i) || members.primary() < 0 ? "" : members.host(members.primary()))
                .append("syncSourceId", members.isPrimary(i) ? -1 : members.primary())
                .append("infoMessage", "")
                .append("configVersion", 1)
                .append("configTerm", writer.term());
            if (members.isPrimary(i)) {
                member.append("electionTime", new BsonTimestamp(Instant.ofEpochSecond(electedAt().getEpochSecond()), 1))
                    .append("electionDate", Instant.ofEpochSecond(electedAt().getEpochSecond()));
            }
            if (i == me) {
                member.append("self", Boolean.TRUE);
            }
            member.append("lastHeartbeatMessage", "");
            memberList.add(member);
        }
        int majorityCount = members.size() / 2 + 1;
        return new Document("set", replicaSetName)
            .append("date", wallClock.instant())
            .append("myState", members.stateCode(me))
            .append("term", writer.term())
            .append("syncSourceHost", members.isPrimary(me) || members.primary() < 0 ? "" : members.host(members.primary()))
            .append("syncSourceId", members.isPrimary(me) ? -1 : members.primary())
            .append("heartbeatIntervalMillis", 2000L)
            .append("majorityVoteCount", majorityCount)
            .append("writeMajorityCount", majorityCount)
            .append("votingMembersCount", members.size())
            .append("writableVotingMembersCount", members.size())
            .append("optimes", optimes)
            .append("members", memberList)
            .append("ok", 1.0);
    }

    private Document testControl(Document query) {
        String action = String.valueOf(query.get("mongoFollowTest"));
        switch (action) {
            case "holdMajority" -> control.holdMajority();
            case "releaseMajority" -> control.releaseMajority();
            case "outage" -> {
                long millis = query.get("millis") instanceof Number ? ((Number) query.get("millis")).longValue() : 1000;
                control.outage(millis);
            }
            case "noop" -> writer.noop(String.valueOf(query.getOrDefault("msg", "periodic noop")));
            case "refuseOplogReads" -> refuseOplogReads(Boolean.FALSE.equals(query.get("refused")) == false);
            case "stepDown" -> control.stepDown(Boolean.TRUE.equals(query.get("force")));
            case "killPrimary" -> {
                if (members.primary() < 0) {
                    throw new MongoServerError(10107, "NotWritablePrimary", "there is no primary to kill");
                }
                control.kill(members.primary());
            }
            case "kill" -> control.kill(memberArgument(query));
            case "restart" -> control.restart(memberArgument(query));
            case "pauseReplication" -> writer.locked(() -> {
                if (query.get("member") instanceof Number) {
                    members.pause(memberArgument(query));
                } else {
                    members.pauseSecondaries();
                }
                return null;
            });
            case "resumeReplication" -> {
                if (query.get("member") instanceof Number) {
                    members.resume(memberArgument(query));
                } else {
                    members.resumeAll();
                }
            }
            case "status" -> {
            }
            default -> throw new MongoServerError(2, "BadValue", "mongoFollowTest: unknown action '" + action
                + "' (holdMajority, releaseMajority, outage, noop, refuseOplogReads, stepDown, killPrimary, kill, restart, pauseReplication,"
                + " resumeReplication, status)");
        }
        return new Document("raw", writer.isRaw())
            .append("primary", members.primary())
            .append("term", writer.term())
            .append("rollbacks", members.rollbacks())
            .append("majorityHeld", writer.isMajorityHeld())
            .append("majorityOpTime", writer.majorityOpTime())
            .append("appliedOpTime", writer.lastAppliedOpTime())
            .append("oplogEntries", writer.store().size())
            .append("ok", 1.0);
    }

    private int memberArgument(Document query) {
        if (!(query.get("member") instanceof Number)) {
            throw new MongoServerError(2, "BadValue", "this action needs a member: {member: 0 to " + (members.size() - 1) + "}");
        }
        return ((Number) query.get("member")).intValue();
    }

    // ---------------------------------------------------------------- local.oplog.rs

    private Document oplogCommand(String cmd, Document query, int me) {
        switch (cmd) {
            case "find":
                return oplogCursors.find(query, me, members.size() == 1 ? null : () -> members.applied(me));
            case "insert": {
                List<?> documents = (List<?>) query.get("documents");
                int n = 0;
                for (Object d : documents) {
                    writer.inject((Document) d);
                    n++;
                }
                return new Document("n", n).append("ok", 1.0);
            }
            case "delete":
            case "drop": {
                if (cmd.equals("delete") && !deletesEverything(query)) {
                    throw new MongoServerError(20, "IllegalOperation",
                        "local.oplog.rs: only delete with an empty filter (clear) is supported");
                }
                long n = writer.store().size();
                writer.clearRawOplog();
                return new Document("n", (int) n).append("ok", 1.0);
            }
            case "count": {
                Document find = new Document("find", "oplog.rs").append("filter", query.getOrDefault("query", new Document()));
                return new Document("n", (int) oplogCursors.count(find)).append("ok", 1.0);
            }
            case "aggregate":
                return countAggregate(query);
            default:
                throw new MongoServerError(20, "IllegalOperation",
                    "local.oplog.rs supports find, getMore, killCursors, insert (inject entries), delete {} and drop;"
                        + " not " + cmd);
        }
    }

    /** The aggregations a client counts the oplog with ({@code countDocuments}): $match, $skip, $limit, $group count. */
    private Document countAggregate(Document query) {
        Document filter = new Document();
        long skip = 0;
        long limit = 0;
        Document group = null;
        for (Object stage : (List<?>) query.get("pipeline")) {
            Document s = (Document) stage;
            String name = s.keySet().iterator().next();
            Object spec = s.get(name);
            if (name.equals("$match") && group == null && skip == 0 && limit == 0) {
                filter = (Document) spec;
            } else if (name.equals("$skip") && group == null) {
                skip = ((Number) spec).longValue();
            } else if (name.equals("$limit") && group == null) {
                limit = ((Number) spec).longValue();
            } else if (name.equals("$group") && group == null && isCountGroup((Document) spec)) {
                group = (Document) spec;
            } else {
                throw new MongoServerError(20, "IllegalOperation",
                    "local.oplog.rs: only counting aggregations ($match, $skip, $limit, $group with $sum: 1) are supported");
            }
        }
        if (group == null) {
            throw new MongoServerError(20, "IllegalOperation", "local.oplog.rs: aggregate is only supported for counting");
        }
        Document find = new Document("find", "oplog.rs").append("filter", filter).append("skip", (int) skip).append("limit", limit);
        long n = oplogCursors.count(find);
        List<Document> batch = new ArrayList<>();
        if (n > 0) {
            Document result = new Document("_id", group.get("_id"));
            for (String key : group.keySet()) {
                if (!key.equals("_id")) {
                    result.put(key, (int) n);
                }
            }
            batch.add(result);
        }
        return new Document("cursor", new Document("firstBatch", batch).append("id", 0L).append("ns", "local.oplog.rs"))
            .append("ok", 1.0);
    }

    private static boolean isCountGroup(Document group) {
        for (String key : group.keySet()) {
            if (!key.equals("_id")) {
                Object acc = group.get(key);
                if (!(acc instanceof Document) || !(((Document) acc).get("$sum") instanceof Number)
                    || ((Number) ((Document) acc).get("$sum")).intValue() != 1) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean deletesEverything(Document query) {
        Object deletes = query.get("deletes");
        if (!(deletes instanceof List)) {
            return false;
        }
        for (Object d : (List<?>) deletes) {
            Object q = d instanceof Document ? ((Document) d).get("q") : null;
            if (!(q instanceof Document) || !((Document) q).isEmpty()) {
                return false;
            }
        }
        return true;
    }

    @SuppressWarnings("unchecked")
    private Document killCursors(Channel channel, String databaseName, String command, Document query) {
        List<Long> requested = new ArrayList<>();
        for (Object id : (List<Object>) query.get("cursors")) {
            requested.add(((Number) id).longValue());
        }
        List<Long> killed = new ArrayList<>();
        requested.removeIf(id -> changeStreams.kill(id) && killed.add(id));
        List<Long> rest = oplogCursors.kill(requested, killed);
        if (rest.isEmpty()) {
            return new Document("cursorsKilled", killed).append("cursorsNotFound", List.of())
                .append("cursorsAlive", List.of()).append("cursorsUnknown", List.of()).append("ok", 1.0);
        }
        Document forLibrary = new Document(query);
        forLibrary.put("cursors", rest);
        Document response = handleKillCursors(forLibrary);
        ((List<Long>) response.get("cursorsKilled")).addAll(killed);
        return response;
    }

    // ---------------------------------------------------------------- DDL that the library does not log

    private Document renameCollection(Channel channel, String databaseName, String command, Document query) {
        String source = String.valueOf(query.get(command));
        String target = String.valueOf(query.get("to"));
        boolean dropTarget = Boolean.TRUE.equals(query.get("dropTarget"))
            || (query.get("dropTarget") instanceof Number && ((Number) query.get("dropTarget")).intValue() != 0);
        MongoCollection<?> sourceCollection = collection(source);
        MongoCollection<?> targetCollection = collection(target);
        if (sourceCollection == null) {
            throw new MongoServerError(26, "NamespaceNotFound", "source namespace does not exist: " + source);
        }
        String sourceDb = source.substring(0, source.indexOf('.'));
        String targetDb = target.substring(0, target.indexOf('.'));
        boolean sameDb = sourceDb.equals(targetDb);
        UUID sourceUuid = sourceCollection.getUuid();
        UUID targetUuid = targetCollection == null ? null : targetCollection.getUuid();
        int targetCount = targetCollection == null ? 0 : targetCollection.count();
        if (!sameDb) {
            return renameAcrossDatabases(channel, source, target, targetCollection, dropTarget);
        }
        Supplier<Document> rename = () -> super.handleCommand(channel, databaseName, command, query);
        Document response = targetCollection != null && dropTarget ? writer.suppressed(rename) : rename.get();
        writer.onRename(source, target, sourceUuid, dropTarget ? targetUuid : null, targetCount);
        return response;
    }

    /**
     * As a real server does it (a copy, then a drop of the source), which also avoids the library's own
     * cross-database move: a new collection in the target database (logged create and inserts), then a
     * logged drop of the source.
     */
    private Document renameAcrossDatabases(Channel channel, String source, String target,
                                           MongoCollection<?> targetCollection, boolean dropTarget) {
        String sourceDb = source.substring(0, source.indexOf('.'));
        String sourceName = source.substring(source.indexOf('.') + 1);
        String targetDb = target.substring(0, target.indexOf('.'));
        String targetName = target.substring(target.indexOf('.') + 1);
        if (targetCollection != null) {
            if (!dropTarget) {
                throw new MongoServerError(48, "NamespaceExists", "target namespace exists: " + target);
            }
            super.handleCommand(channel, targetDb, "drop", new Document("drop", targetName));
        }
        List<Document> copies = new ArrayList<>();
        for (Document d : collection(source).queryAll()) {
            copies.add(BsonValues.deepCopy(d));
        }
        if (copies.isEmpty()) {
            super.handleCommand(channel, targetDb, "create", new Document("create", targetName));
        }
        for (int i = 0; i < copies.size(); i += 1000) {
            List<Document> chunk = copies.subList(i, Math.min(copies.size(), i + 1000));
            super.handleCommand(channel, targetDb, "insert",
                new Document("insert", targetName).append("documents", new ArrayList<>(chunk)).append("ordered", true));
        }
        super.handleCommand(channel, sourceDb, "drop", new Document("drop", sourceName));
        return new Document("ok", 1.0);
    }

    private MongoCollection<?> collection(String namespace) {
        int dot = namespace.indexOf('.');
        if (dot < 0) {
            throw new MongoServerError(73, "InvalidNamespace", "invalid namespace: " + namespace);
        }
        MongoDatabase database = resolveDatabase(namespace.substring(0, dot));
        return database.resolveCollection(namespace.substring(dot + 1), false);
    }

    @SuppressWarnings("unchecked")
    private Document createIndexes(Channel channel, String databaseName, String command, Document query) {
        String collectionName = String.valueOf(query.get(command));
        MongoCollection<?> before = resolveDatabase(databaseName).resolveCollection(collectionName, false);
        Set<String> existing = new HashSet<>();
        if (before != null) {
            for (Index<?> index : before.getIndexes()) {
                existing.add(index.getName());
            }
        }
        Document response = super.handleCommand(channel, databaseName, command, query);
        MongoCollection<?> after = resolveDatabase(databaseName).resolveCollection(collectionName, false);
        if (after != null) {
            for (Object spec : (List<Object>) query.get("indexes")) {
                Document indexSpec = (Document) spec;
                String name = String.valueOf(indexSpec.get("name"));
                if (!existing.contains(name) && !name.equals("_id_") && isOk(response)) {
                    writer.onCreateIndex(databaseName, collectionName, after.getUuid(), indexSpec);
                }
            }
        }
        return response;
    }

    private static boolean isOk(Document response) {
        Object ok = response.get("ok");
        return ok instanceof Number && ((Number) ok).doubleValue() == 1.0;
    }

    private Document dropDatabaseLogged(Channel channel, String databaseName, String command, Document query) {
        boolean existed = listDatabaseNames().contains(databaseName);
        Document response = super.handleCommand(channel, databaseName, command, query);
        if (existed) {
            writer.onDropDatabase(databaseName);
        }
        return response;
    }
}

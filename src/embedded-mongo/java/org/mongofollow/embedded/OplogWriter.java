package org.mongofollow.embedded;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * Writes the replica set's oplog in the format of its {@link ServerVersion} (5.0+: {@code $v:2} diffs; 4.2 and 4.4:
 * {@code $v:1}, see {@link V1Updates}) from the storage hooks of
 * {@link OplogCollection} and {@link OplogDatabase}, and owns what makes it consistent:
 * <ul>
 *   <li>one write lock, held for every write command, so {@code ts} order is the order writes were applied;</li>
 *   <li>the command context of the current thread (its update shape, session and transaction);</li>
 *   <li>multi-document transactions: their operations are buffered and logged as one {@code applyOps} entry
 *   on {@code admin.$cmd} at commit, and undone from the pre-images on abort;</li>
 *   <li>the term, the last written optime and the majority commit point (which a test may hold back).</li>
 * </ul>
 * In raw mode nothing is logged: clients insert the oplog themselves.
 */
final class OplogWriter {

    static final long OPLOG_VERSION = 2L;

    private final OplogStore store;
    private final OplogClock clock;
    private final boolean raw;
    private final ReentrantLock writeLock = new ReentrantLock(true);
    private final ThreadLocal<CommandContext> context = new ThreadLocal<>();
    private final Map<TransactionKey, Transaction> transactions = new ConcurrentHashMap<>();
    /** Recently committed transactions, so that a retried commitTransaction succeeds (bounded). */
    private final Set<TransactionKey> committed = java.util.Collections.newSetFromMap(
        java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<TransactionKey, Boolean> eldest) {
                return size() > 10_000;
            }
        }));

    private volatile long term = 1;
    private volatile BsonTimestamp lastWritten;
    private volatile long lastWrittenTerm = -1;
    private volatile long lastWriteNanos = System.nanoTime();
    private volatile Document heldMajority; // {ts, t} while the majority commit point is held back
    private volatile ReplicaSetMembers members; // several members: they decide the majority commit point
    private final PreImages preImages = new PreImages();

    private final ServerVersion version;

    OplogWriter(OplogStore store, OplogClock clock, boolean raw, ServerVersion version) {
        this.store = store;
        this.clock = clock;
        this.raw = raw;
        this.version = version;
    }

    /** The change stream pre- and post-images of the collections that record them. */
    PreImages preImages() {
        return preImages;
    }

    boolean isRaw() {
        return raw;
    }

    void setMembers(ReplicaSetMembers members) {
        this.members = members;
    }

    /** Runs {@code action} under the write lock: no write is half done while it runs (elections, rollback). */
    <T> T locked(Supplier<T> action) {
        writeLock.lock();
        try {
            return action.get();
        } finally {
            writeLock.unlock();
        }
    }

    OplogStore store() {
        return store;
    }

    // ---------------------------------------------------------------- command context

    /** What the write command running on this thread is. */
    static final class CommandContext {
        final String command;
        final Document body;
        UpdateShape updateShape = UpdateShape.UNKNOWN;
        Transaction transaction;
        boolean suppressed;
        boolean pipelineUpdate;
        /** A chunk migration's write: its entries carry {@code fromMigrate: true}. */
        boolean fromMigrate;
        int nextStmtId;
        Document prevOpTime = nullOpTime();

        CommandContext(String command, Document body) {
            this.command = command;
            this.body = body;
        }
    }

    /** Runs a write command under the write lock with its context set. */
    <T> T write(String command, Document body, Transaction transaction, Supplier<T> action) {
        writeLock.lock();
        CommandContext previous = context.get();
        CommandContext ctx = new CommandContext(command, body);
        ctx.transaction = transaction;
        context.set(ctx);
        try {
            return action.get();
        } finally {
            if (previous == null) {
                context.remove();
            } else {
                context.set(previous);
            }
            writeLock.unlock();
        }
    }

    CommandContext context() {
        return context.get();
    }

    /** Runs {@code action} with logging switched off on this thread (undo of an aborted transaction, internals). */
    <T> T suppressed(Supplier<T> action) {
        CommandContext ctx = context.get();
        boolean owner = ctx == null;
        if (owner) {
            ctx = new CommandContext("internal", new Document());
            context.set(ctx);
        }
        boolean before = ctx.suppressed;
        ctx.suppressed = true;
        try {
            return action.get();
        } finally {
            ctx.suppressed = before;
            if (owner) {
                context.remove();
            }
        }
    }

    /** Records the update specification the library is about to apply (a pipeline's post-image counts as pipeline). */
    void setUpdateShape(Object update) {
        CommandContext ctx = context.get();
        if (ctx != null) {
            ctx.updateShape = ctx.pipelineUpdate ? UpdateShape.PIPELINE : UpdateShape.of(update);
        }
    }

    private boolean logging() {
        CommandContext ctx = context.get();
        return !raw && (ctx == null || !ctx.suppressed);
    }

    static boolean isReplicated(String databaseName, String collectionName) {
        return !databaseName.equals("local") && !databaseName.equals("config")
            && !collectionName.startsWith("system.");
    }

    // ---------------------------------------------------------------- sharding

    /** The shard key fields of the sharded collections this server (a shard) holds, by namespace. */
    private final Map<String, List<String>> shardKeys = new java.util.concurrent.ConcurrentHashMap<>();

    /** Records (or with null forgets) the shard key of a collection: its entries' document keys carry it. */
    void setShardKey(String namespace, List<String> fields) {
        if (fields == null) {
            shardKeys.remove(namespace);
        } else {
            shardKeys.put(namespace, List.copyOf(fields));
        }
    }

    /**
     * A document's key as a shard's oplog writes it: the shard key's fields in the key's order (dotted names kept as
     * names, missing ones left out), then {@code _id} unless the key has it; just {@code _id} for an unsharded collection.
     */
    private Document documentKey(String namespace, Document document) {
        List<String> fields = shardKeys.get(namespace);
        if (fields == null) {
            return new Document("_id", BsonValues.deepCopy(document.get("_id")));
        }
        Document key = new Document();
        for (String field : fields) {
            Object value = valueAt(document, field);
            if (value != null || field.equals("_id")) {
                key.put(field, BsonValues.deepCopy(value));
            }
        }
        if (fields.contains("_id") == false) {
            key.put("_id", BsonValues.deepCopy(document.get("_id")));
        }
        return key;
    }

    /** The value at a dotted path of sub-documents, or null. */
    static Object valueAt(Document document, String path) {
        Object value = document;
        for (String part : path.split("\\.")) {
            if (!(value instanceof Document d)) {
                return null;
            }
            value = d.get(part);
        }
        return value;
    }

    /** Runs a write command of a chunk migration: its entries carry {@code fromMigrate: true}. */
    <T> T migrationWrite(String command, Document body, Supplier<T> action) {
        return write(command, body, null, () -> {
            context.get().fromMigrate = true;
            return action.get();
        });
    }

    // ---------------------------------------------------------------- CRUD hooks

    void onInsert(OplogCollection collection, Document stored) {
        if (!logging()) {
            return;
        }
        Document copy = BsonValues.deepCopy(stored);
        // 6.0 and later write the document key of a sharded collection's insert in o2
        Document o2 = shardKeys.containsKey(collection.getFullName()) && version.atLeast(6, 0) ? documentKey(collection.getFullName(), copy) : null;
        crud(collection, "i", copy, o2, () -> collection.undoInsert(copy.get("_id")), null);
    }

    void onUpdate(OplogCollection collection, Document before, Document after) {
        if (!logging()) {
            return;
        }
        CommandContext ctx = context.get();
        UpdateShape shape = ctx == null ? UpdateShape.UNKNOWN : ctx.updateShape;
        Document o;
        if (shape.kind == UpdateShape.Kind.REPLACEMENT) {
            o = replacement(after);
        } else {
            Document diff = shape.kind == UpdateShape.Kind.PIPELINE
                ? DiffCalculator.calculatorDiff(before, after)
                : DiffCalculator.operatorDiff(before, after, shape.atomicPaths);
            if (diff.isEmpty()) {
                return;
            }
            if (shape.kind == UpdateShape.Kind.PIPELINE
                && BsonValues.documentSize(diff) >= BsonValues.documentSize(after)) {
                o = replacement(after);
            } else if (version.v2Diffs()) {
                o = new Document("$v", 2).append("diff", diff);
            } else {
                o = V1Updates.of(diff, after); // 4.2 and 4.4
            }
        }
        Document preImage = BsonValues.deepCopy(before);
        PreImages.Images images = preImages.isEnabled(collection.getUuid())
            ? new PreImages.Images(preImage, o.containsKey("_id") ? null : BsonValues.deepCopy(after))
            : null;
        crud(collection, "u", o, documentKey(collection.getFullName(), after), () -> collection.undoUpdate(preImage), images);
    }

    private static Document replacement(Document after) {
        Document o = new Document("_id", BsonValues.deepCopy(after.get("_id")));
        for (Map.Entry<String, Object> e : after.entrySet()) {
            if (!e.getKey().equals("_id")) {
                o.put(e.getKey(), BsonValues.deepCopy(e.getValue()));
            }
        }
        return o;
    }

    void onDelete(OplogCollection collection, Document before) {
        if (!logging()) {
            return;
        }
        Document preImage = BsonValues.deepCopy(before);
        PreImages.Images images = preImages.isEnabled(collection.getUuid()) ? new PreImages.Images(preImage, null) : null;
        crud(collection, "d", documentKey(collection.getFullName(), preImage), null, () -> collection.undoDelete(preImage), images);
    }

    /** {@code images}: the operation's pre- and post-images when its collection records them, else null. */
    private void crud(OplogCollection collection, String op, Document o, Document o2, Runnable undo, PreImages.Images images) {
        if (!OplogWriter.isReplicated(collection.getDatabaseName(), collection.getCollectionName())) {
            return;
        }
        CommandContext ctx = context.get();
        boolean inTransaction = ctx != null && ctx.transaction != null;
        boolean retryable = !inTransaction && ctx != null && ctx.body.get("lsid") instanceof Document
            && ctx.body.get("txnNumber") instanceof Number;
        Document entry = new Document();
        if (retryable) {
            entry.put("lsid", sessionId((Document) ctx.body.get("lsid")));
            entry.put("txnNumber", ((Number) ctx.body.get("txnNumber")).longValue());
        }
        entry.append("op", op).append("ns", collection.getFullName()).append("ui", collection.getUuid()).append("o", o);
        if (o2 != null) {
            entry.put("o2", o2);
        }
        if (ctx != null && ctx.fromMigrate) {
            entry.put("fromMigrate", true);
        }
        if (inTransaction) {
            ctx.transaction.ops.add(entry);
            ctx.transaction.images.add(images);
            ctx.transaction.undo.add(undo);
        } else if (retryable) {
            // a retryable write: the statements of one command are chained by stmtId and prevOpTime
            stamp(entry);
            entry.put("stmtId", ctx.nextStmtId++);
            entry.put("prevOpTime", ctx.prevOpTime);
            ctx.prevOpTime = new Document("ts", entry.get("ts")).append("t", entry.get("t"));
            appendStamped(entry);
            recordUndo(entry, List.of(undo));
            recordImages(entry, 0, collection.getUuid(), images);
        } else {
            append(entry);
            recordUndo(entry, List.of(undo));
            recordImages(entry, 0, collection.getUuid(), images);
        }
    }

    private void recordImages(Document entry, int applyOpsIndex, UUID collection, PreImages.Images images) {
        if (images != null) {
            Long evicted = store.lastEvicted();
            if (evicted != null) {
                preImages.expireThrough(evicted);
            }
            preImages.record(((BsonTimestamp) entry.get("ts")).getValue(), collection, applyOpsIndex, images);
        }
    }

    private void recordUndo(Document entry, List<Runnable> undo) {
        ReplicaSetMembers m = members;
        if (m != null) {
            m.recordUndo(((BsonTimestamp) entry.get("ts")).getValue(), undo);
        }
    }

    /** The session id as the server logs it: the driver's {@code id} plus the {@code uid} of the (empty) user. */
    private static Document sessionId(Document lsid) {
        return new Document("id", lsid.get("id")).append("uid", EMPTY_USER_DIGEST);
    }

    /** SHA-256 of the empty user name, which is what an unauthenticated session's {@code lsid.uid} holds. */
    private static final de.bwaldvogel.mongo.bson.BinData EMPTY_USER_DIGEST = emptyUserDigest();

    private static de.bwaldvogel.mongo.bson.BinData emptyUserDigest() {
        try {
            return new de.bwaldvogel.mongo.bson.BinData(java.security.MessageDigest.getInstance("SHA-256").digest(new byte[0]));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Document nullOpTime() {
        return new Document("ts", new BsonTimestamp(0)).append("t", -1L);
    }

    // ---------------------------------------------------------------- DDL hooks

    void onCreate(String databaseName, String collectionName, UUID uuid) {
        if (!logging() || !isReplicated(databaseName, collectionName)) {
            return;
        }
        Document o = new Document("create", collectionName);
        CommandContext ctx = context.get();
        if (ctx != null && ctx.command.equalsIgnoreCase("create")
            && collectionName.equals(String.valueOf(ctx.body.get(ctx.command)))) {
            for (Map.Entry<String, Object> option : ctx.body.entrySet()) {
                String key = option.getKey();
                if (!key.equals(ctx.command) && !key.startsWith("$") && !COMMAND_ENVELOPE.contains(key)) {
                    o.put(key, BsonValues.deepCopy(option.getValue()));
                }
            }
        }
        o.put("idIndex", new Document("v", 2).append("key", new Document("_id", 1)).append("name", "_id_"));
        if (o.get("changeStreamPreAndPostImages") instanceof Document images) {
            preImages.setEnabled(uuid, Boolean.TRUE.equals(images.get("enabled")));
        }
        appendCommand(databaseName, uuid, o, null);
    }

    private static final Set<String> COMMAND_ENVELOPE = Set.of(
        "lsid", "txnNumber", "autocommit", "startTransaction", "writeConcern", "readConcern", "comment",
        "maxTimeMS", "apiVersion", "apiStrict", "apiDeprecationErrors");

    void onDrop(String databaseName, String collectionName, UUID uuid, int numRecords) {
        if (!logging() || !isReplicated(databaseName, collectionName)) {
            return;
        }
        preImages.dropped(uuid);
        appendCommand(databaseName, uuid, new Document("drop", collectionName),
            new Document("numRecords", numRecords));
    }

    /**
     * {@code collMod} of the one option this server keeps, {@code changeStreamPreAndPostImages}: sets it and logs the
     * command as mongod does ({@code o2.collectionOptions_old}); any other option is refused, as this server does not keep
     * it. Caller holds the write lock (a write command).
     */
    Document collMod(OplogCollection collection, Document body) {
        Document options = new Document();
        for (Map.Entry<String, Object> option : body.entrySet()) {
            String key = option.getKey();
            if (!key.equalsIgnoreCase("collMod") && !key.startsWith("$") && !COMMAND_ENVELOPE.contains(key)) {
                options.put(key, option.getValue());
            }
        }
        for (String key : options.keySet()) {
            if (key.equals("changeStreamPreAndPostImages") && version.preAndPostImages() == false) {
                throw new MongoServerError(72, "InvalidOptions", "unknown option to collMod: " + key);
            }
            if (!key.equals("changeStreamPreAndPostImages")) {
                throw new MongoServerError(72, "InvalidOptions", "collMod option [" + key + "] is not supported by the mongo-follow"
                    + " embedded MongoDB: it keeps only changeStreamPreAndPostImages");
            }
        }
        if (!(options.get("changeStreamPreAndPostImages") instanceof Document images) || !(images.get("enabled") instanceof Boolean enabled)
            || images.size() != 1) {
            throw new MongoServerError(14, "TypeMismatch", "changeStreamPreAndPostImages takes {enabled: <boolean>}");
        }
        UUID uuid = collection.getUuid();
        boolean was = preImages.isEnabled(uuid);
        preImages.setEnabled(uuid, enabled);
        if (logging() && isReplicated(collection.getDatabaseName(), collection.getCollectionName())) {
            Document old = new Document("uuid", uuid).append("changeStreamPreAndPostImages", new Document("enabled", was));
            appendCommand(collection.getDatabaseName(), uuid,
                new Document("collMod", collection.getCollectionName()).append("changeStreamPreAndPostImages", new Document("enabled", enabled)),
                new Document("collectionOptions_old", old));
        }
        return new Document("ok", 1.0);
    }

    void onDropDatabase(String databaseName) {
        if (!logging() || !isReplicated(databaseName, "")) {
            return;
        }
        appendCommand(databaseName, null, new Document("dropDatabase", 1), null);
    }

    void onRename(String sourceNs, String targetNs, UUID uuid, UUID droppedTarget, int droppedRecords) {
        String databaseName = sourceNs.substring(0, sourceNs.indexOf('.'));
        if (!logging() || !isReplicated(databaseName, "")) {
            return;
        }
        Document o = new Document("renameCollection", sourceNs).append("to", targetNs).append("stayTemp", false);
        Document o2 = null;
        if (droppedTarget != null) {
            o.put("dropTarget", droppedTarget);
            o2 = new Document("numRecords", droppedRecords);
        }
        appendCommand(databaseName, uuid, o, o2);
    }

    void onCreateIndex(String databaseName, String collectionName, UUID uuid, Document spec) {
        if (!logging() || !isReplicated(databaseName, collectionName)) {
            return;
        }
        Document o = new Document("createIndexes", collectionName);
        o.put("v", 2);
        for (Map.Entry<String, Object> e : spec.entrySet()) {
            if (!e.getKey().equals("ns") && !e.getKey().equals("v")) {
                o.put(e.getKey(), BsonValues.deepCopy(e.getValue()));
            }
        }
        appendCommand(databaseName, uuid, o, null);
    }

    private void appendCommand(String databaseName, UUID uuid, Document o, Document o2) {
        Document entry = new Document("op", "c").append("ns", databaseName + ".$cmd");
        if (uuid != null) {
            entry.put("ui", uuid);
        }
        entry.put("o", o);
        if (o2 != null) {
            entry.put("o2", o2);
        }
        append(entry);
    }

    /** Writes an {@code n} entry ({@code ns:""}, {@code o:{msg}}), e.g. the periodic no-op. */
    void noop(String message) {
        if (raw) {
            return;
        }
        writeLock.lock();
        try {
            append(new Document("op", "n").append("ns", "").append("o", new Document("msg", message)));
        } finally {
            writeLock.unlock();
        }
    }

    /** Writes a periodic no-op if nothing was written for {@code idleMillis}. */
    void noopIfIdle(long idleMillis) {
        if (raw || System.nanoTime() - lastWriteNanos < idleMillis * 1_000_000L) {
            return;
        }
        if (writeLock.tryLock()) {
            try {
                append(new Document("op", "n").append("ns", "").append("o", new Document("msg", "periodic noop")));
            } finally {
                writeLock.unlock();
            }
        }
    }

    /** Stamps {@code ts}, {@code t}, {@code v}, {@code wall} and appends. Caller holds the write lock. */
    private void append(Document entry) {
        stamp(entry);
        appendStamped(entry);
    }

    private void stamp(Document entry) {
        entry.put("ts", clock.next());
        entry.put("t", term);
        entry.put("v", OPLOG_VERSION);
        entry.put("wall", Instant.ofEpochMilli(clock.wallMillis()));
    }

    private void appendStamped(Document entry) {
        store.append(entry);
        lastWritten = (BsonTimestamp) entry.get("ts");
        Object t = entry.get("t");
        lastWrittenTerm = t instanceof Number ? ((Number) t).longValue() : term;
        lastWriteNanos = System.nanoTime();
    }

    /** Raw mode (or injection): a client-supplied entry becomes part of the oplog as it is. */
    void inject(Document entry) {
        writeLock.lock();
        try {
            if (!(entry.get("ts") instanceof BsonTimestamp)) {
                throw new MongoServerError(2, "BadValue", "an oplog entry needs a Timestamp 'ts' field");
            }
            BsonTimestamp ts = (BsonTimestamp) entry.get("ts");
            entry.remove("_id"); // drivers add one to every inserted document; oplog entries have none
            clock.advancePast(ts);
            store.append(entry);
            BsonTimestamp newest = store.newestTs();
            Document newestEntry = store.newest();
            lastWritten = newest;
            Object t = newestEntry == null ? null : newestEntry.get("t");
            lastWrittenTerm = t instanceof Number ? ((Number) t).longValue() : -1;
            lastWriteNanos = System.nanoTime();
        } finally {
            writeLock.unlock();
        }
    }

    void clearRawOplog() {
        writeLock.lock();
        try {
            store.clear();
            lastWritten = null;
            lastWrittenTerm = -1;
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- terms and optimes

    /** A new primary after an outage: the term goes up and, as on a real server, a "new primary" no-op is logged. */
    void newTerm() {
        if (raw) {
            return;
        }
        writeLock.lock();
        try {
            term++;
            append(new Document("op", "n").append("ns", "").append("o", new Document("msg", "new primary")));
        } finally {
            writeLock.unlock();
        }
    }

    long term() {
        return term;
    }

    /** {@code {ts, t}} of the newest entry, {@code {ts: Timestamp(0,0), t: -1}} when there is none. */
    Document lastAppliedOpTime() {
        BsonTimestamp ts = lastWritten;
        if (ts == null) {
            return nullOpTime();
        }
        return new Document("ts", ts).append("t", lastWrittenTerm);
    }

    Document majorityOpTime() {
        Document held = heldMajority;
        if (held != null) {
            return held;
        }
        ReplicaSetMembers m = members;
        return m == null ? lastAppliedOpTime() : m.opTime(m.commitPoint());
    }

    /** After a rollback truncated the oplog: the last written optime is the newest entry left. */
    void rolledBackTo() {
        Document newest = store.newest();
        lastWritten = newest == null ? null : (BsonTimestamp) newest.get("ts");
        Object t = newest == null ? null : newest.get("t");
        lastWrittenTerm = t instanceof Number ? ((Number) t).longValue() : -1;
        Document held = heldMajority;
        if (held != null && lastWritten != null && Long.compareUnsigned(((BsonTimestamp) held.get("ts")).getValue(), lastWritten.getValue()) > 0) {
            heldMajority = lastAppliedOpTime();
        }
    }

    /** An election aborts the transactions still open, as a stepdown does. */
    void abortOpenTransactions() {
        writeLock.lock();
        try {
            transactions.values().removeIf(txn -> {
                undo(txn);
                return true;
            });
        } finally {
            writeLock.unlock();
        }
    }

    void holdMajority() {
        writeLock.lock();
        try {
            if (heldMajority == null) {
                heldMajority = majorityOpTime();
            }
        } finally {
            writeLock.unlock();
        }
    }

    void releaseMajority() {
        heldMajority = null;
    }

    boolean isMajorityHeld() {
        return heldMajority != null;
    }

    // ---------------------------------------------------------------- transactions

    record TransactionKey(Object sessionId, long txnNumber) {
    }

    static final class Transaction {
        final TransactionKey key;
        final Document lsid;
        final List<Document> ops = new ArrayList<>();
        /** each operation's pre- and post-images (null where its collection does not record them) */
        final List<PreImages.Images> images = new ArrayList<>();
        final List<Runnable> undo = new ArrayList<>();

        Transaction(TransactionKey key, Document lsid) {
            this.key = key;
            this.lsid = lsid;
        }
    }

    /** The transaction a command with {@code autocommit:false} belongs to; starts one on {@code startTransaction}. */
    Transaction transactionFor(Document body) {
        Document lsid = (Document) body.get("lsid");
        Object txnNumber = body.get("txnNumber");
        if (lsid == null || !(txnNumber instanceof Number)) {
            throw new MongoServerError(72, "InvalidOptions", "a transaction needs lsid and txnNumber");
        }
        TransactionKey key = new TransactionKey(lsid.get("id"), ((Number) txnNumber).longValue());
        if (Boolean.TRUE.equals(body.get("startTransaction"))) {
            // a new transaction on the session aborts an older one still open
            transactions.keySet().removeIf(k -> k.sessionId().equals(key.sessionId()) && k.txnNumber() < key.txnNumber()
                && abortQuietly(k));
            Transaction txn = new Transaction(key, lsid);
            if (transactions.putIfAbsent(key, txn) != null || committed.contains(key)) {
                throw new MongoServerError(225, "TransactionTooOld",
                    "txnNumber " + key.txnNumber() + " was already used on this session");
            }
            return txn;
        }
        Transaction txn = transactions.get(key);
        if (txn == null) {
            throw noSuchTransaction(key);
        }
        return txn;
    }

    private boolean abortQuietly(TransactionKey key) {
        Transaction txn = transactions.get(key);
        if (txn != null) {
            undo(txn);
        }
        return true;
    }

    private static MongoServerError noSuchTransaction(TransactionKey key) {
        return new MongoServerError(251, "NoSuchTransaction",
            "Transaction with { txnNumber: " + key.txnNumber() + " } has been aborted or does not exist");
    }

    Document commit(Document body) {
        TransactionKey key = keyOf(body);
        writeLock.lock();
        try {
            Transaction txn = transactions.remove(key);
            if (txn == null) {
                if (committed.contains(key)) {
                    return ok(); // a retried commit
                }
                throw noSuchTransaction(key);
            }
            committed.add(key);
            if (!txn.ops.isEmpty() && !raw) {
                Document entry = new Document("lsid", sessionId(txn.lsid))
                    .append("txnNumber", key.txnNumber())
                    .append("op", "c")
                    .append("ns", "admin.$cmd")
                    .append("o", new Document("applyOps", txn.ops));
                stamp(entry);
                entry.put("prevOpTime", nullOpTime());
                appendStamped(entry);
                recordUndo(entry, txn.undo);
                for (int i = 0; i < txn.ops.size(); i++) {
                    recordImages(entry, i, (UUID) txn.ops.get(i).get("ui"), txn.images.get(i));
                }
            }
            return ok();
        } finally {
            writeLock.unlock();
        }
    }

    Document abort(Document body) {
        TransactionKey key = keyOf(body);
        writeLock.lock();
        try {
            Transaction txn = transactions.remove(key);
            if (txn == null) {
                throw noSuchTransaction(key);
            }
            undo(txn);
            return ok();
        } finally {
            writeLock.unlock();
        }
    }

    /** Ended sessions abort their open transactions, as on a real server. */
    void endSessions(Object sessions) {
        if (!(sessions instanceof List)) {
            return;
        }
        Set<Object> ended = new java.util.HashSet<>();
        for (Object session : (List<?>) sessions) {
            if (session instanceof Document) {
                ended.add(((Document) session).get("id"));
            }
        }
        writeLock.lock();
        try {
            transactions.values().removeIf(txn -> {
                if (ended.contains(txn.key.sessionId())) {
                    undo(txn);
                    return true;
                }
                return false;
            });
        } finally {
            writeLock.unlock();
        }
    }

    private void undo(Transaction txn) {
        writeLock.lock();
        try {
            suppressed(() -> {
                for (int i = txn.undo.size() - 1; i >= 0; i--) {
                    txn.undo.get(i).run();
                }
                return null;
            });
            txn.undo.clear();
            txn.ops.clear();
            txn.images.clear();
        } finally {
            writeLock.unlock();
        }
    }

    private static TransactionKey keyOf(Document body) {
        Document lsid = (Document) body.get("lsid");
        Object txnNumber = body.get("txnNumber");
        if (lsid == null || !(txnNumber instanceof Number)) {
            throw new MongoServerError(251, "NoSuchTransaction", "no transaction: lsid and txnNumber are required");
        }
        return new TransactionKey(lsid.get("id"), ((Number) txnNumber).longValue());
    }

    private static Document ok() {
        return new Document("ok", 1.0);
    }
}

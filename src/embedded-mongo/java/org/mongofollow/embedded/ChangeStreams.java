package org.mongofollow.embedded;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * Change streams ({@code $changeStream}) served from this server's oplog, as a MongoDB replica set of its {@link ServerVersion}
 * serves them (4.2 to 8.0: the options each takes, the events' fields and the resume token version differ): on a
 * collection, a database or the whole cluster; from now, {@code startAtOperationTime}, {@code resumeAfter} or
 * {@code startAfter}; majority-committed events only, in oplog order, with a transaction's operations unwound in order under
 * its commit's cluster time ({@code txnOpIndex} in the token, {@code lsid}/{@code txnNumber} on the events); the events'
 * shapes and field order, resume tokens of the release's version ({@link ResumeTokens}), {@code postBatchResumeToken} on every batch,
 * {@code getMore} waiting up to {@code maxTimeMS} (1 s by default) for new events; {@code updateDescription} from the
 * diffs ({@link UpdateDescriptions}); {@code fullDocument: "updateLookup"}, and, for collections that record pre- and post-images
 * ({@link PreImages}), {@code fullDocument: "whenAvailable"/"required"} and {@code fullDocumentBeforeChange}; {@code showExpandedEvents} ({@code collectionUUID},
 * {@code disambiguatedPaths}, {@code create} and index events); a drop, a rename or a dropDatabase followed by
 * {@code invalidate} where it invalidates the stream; the errors of real servers: ChangeStreamHistoryLost (286) when the
 * start lies before the oplog's oldest entry, ChangeStreamFatalError (280) for a resume token the oplog does not hold,
 * InvalidResumeToken (260) for {@code resumeAfter} an invalidate, NoMatchingDocument (47) for a required image that is
 * missing. The stages after {@code $changeStream} run on the events.
 */
final class ChangeStreams {

    private static final int DEFAULT_BATCH_SIZE = 101;
    private static final long DEFAULT_AWAIT_MILLIS = 1000;
    private static final Set<String> INTERNAL_DATABASES = Set.of("admin", "config", "local");

    private final OplogStore store;
    private final CursorRegistry ids;
    private final LongSupplier majorityCommitPoint;
    private final DatabaseResolver resolver;
    private final Oplog oplog;
    private final PreImages preImages;
    private final ServerVersion version;
    private final Map<Long, Stream> streams = new ConcurrentHashMap<>();

    ChangeStreams(
        OplogStore store,
        CursorRegistry ids,
        LongSupplier majorityCommitPoint,
        DatabaseResolver resolver,
        Oplog oplog,
        PreImages preImages,
        ServerVersion version
    ) {
        this.store = store;
        this.ids = ids;
        this.majorityCommitPoint = majorityCommitPoint;
        this.resolver = resolver;
        this.oplog = oplog;
        this.preImages = preImages;
        this.version = version;
    }

    /** The field mongos adds to the {@code $changeStream} stage it sends a shard (this server's own, for its mongos). */
    static final String FROM_MONGOS = "$_fromMongos";

    /** Whether an aggregate's pipeline starts with {@code $changeStream}. */
    static boolean isChangeStream(Document aggregate) {
        return aggregate.get("pipeline") instanceof List<?> pipeline && pipeline.isEmpty() == false
            && pipeline.get(0) instanceof Document first && first.containsKey("$changeStream");
    }

    boolean owns(long cursorId) {
        return streams.containsKey(cursorId);
    }

    boolean kill(long cursorId) {
        return streams.remove(cursorId) != null;
    }

    // ------------------------------------------------------------------------------------------------------------------
    // aggregate

    Document aggregate(String databaseName, Document command) {
        List<?> pipeline = (List<?>) command.get("pipeline");
        if (!(((Document) pipeline.get(0)).get("$changeStream") instanceof Document spec)) {
            throw new MongoServerError(14, "TypeMismatch", "the $changeStream stage takes an object");
        }
        Stream stream = new Stream();
        boolean cluster = Boolean.TRUE.equals(spec.get("allChangesForCluster"));
        Object target = command.get("aggregate");
        if (cluster) {
            if (databaseName.equals("admin") == false || !(target instanceof Number)) {
                throw new MongoServerError(72, "InvalidOptions",
                    "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name");
            }
        } else if (databaseName.equals("admin") || databaseName.equals("config") || databaseName.equals("local")) {
            throw new MongoServerError(73, "InvalidNamespace", "$changeStream may not be opened on the internal " + databaseName + " database");
        } else {
            stream.database = databaseName;
            if (target instanceof String collection) {
                if (collection.startsWith("system.")) {
                    throw new MongoServerError(73, "InvalidNamespace", "$changeStream may not be opened on the internal " + databaseName + "." + collection + " collection");
                }
                stream.collection = collection;
            } else if (!(target instanceof Number)) {
                throw new MongoServerError(14, "TypeMismatch", "aggregate takes a collection name or 1");
            }
        }
        if (command.get("readConcern") instanceof Document readConcern && readConcern.get("level") instanceof String level
            && level.equals("majority") == false) {
            throw new MongoServerError(72, "InvalidOptions", "Read concern " + level + " is not supported for $changeStream: only majority");
        }
        for (String option : new String[] { "showExpandedEvents", "fullDocumentBeforeChange" }) {
            if (spec.containsKey(option) && version.atLeast(option.equals("showExpandedEvents") ? 6 : 4, option.equals("showExpandedEvents") ? 0 : 4) == false) {
                throw new MongoServerError(40415, "Location40415", "BSON field '$changeStream." + option + "' is an unknown field.");
            }
        }
        if (("whenAvailable".equals(spec.get("fullDocument")) || "required".equals(spec.get("fullDocument"))) && version.preAndPostImages() == false) {
            throw new MongoServerError(40575, "Location40575", "unrecognized value for the 'fullDocument' option to the $changeStream stage."
                + " Expected \"default\" or \"updateLookup\", got \"" + spec.get("fullDocument") + "\"");
        }
        Object fullDocument = spec.getOrDefault("fullDocument", "default");
        if (!(fullDocument instanceof String mode) || Set.of("default", "updateLookup", "whenAvailable", "required").contains(mode) == false) {
            throw new MongoServerError(2, "BadValue", "Enumeration value '" + fullDocument + "' for field '$changeStream.fullDocument' is not a valid value.");
        }
        stream.fullDocument = mode;
        Object beforeChange = spec.getOrDefault("fullDocumentBeforeChange", "off");
        if (!(beforeChange instanceof String before) || Set.of("off", "whenAvailable", "required").contains(before) == false) {
            throw new MongoServerError(2, "BadValue",
                "Enumeration value '" + beforeChange + "' for field '$changeStream.fullDocumentBeforeChange' is not a valid value.");
        }
        stream.fullDocumentBeforeChange = before;
        stream.expanded = Boolean.TRUE.equals(spec.get("showExpandedEvents"));
        stream.stages = pipeline.subList(1, pipeline.size()).stream().map(Document.class::cast).toList();
        for (Document stage : stream.stages) {
            String name = stage.keySet().iterator().next();
            if (Set.of("$match", "$project", "$addFields", "$set", "$unset", "$replaceRoot", "$replaceWith", "$redact").contains(name) == false) {
                throw new MongoServerError(5491300, "IllegalOperation", name + " is not permitted in a $changeStream pipeline");
            }
        }
        start(stream, spec);
        stream.namespace = cluster ? "admin.$cmd.aggregate"
            : stream.collection == null ? databaseName + ".$cmd.aggregate" : databaseName + "." + stream.collection;
        int batchSize = command.get("cursor") instanceof Document cursor && cursor.get("batchSize") instanceof Number n ? n.intValue()
            : DEFAULT_BATCH_SIZE;
        List<Document> batch = next(stream, batchSize);
        long cursorId = 0;
        if (stream.finished() == false) {
            cursorId = ids.generateCursorId();
            streams.put(cursorId, stream);
        }
        return reply(stream, cursorId, "firstBatch", batch);
    }

    /** Where the stream starts, and the checks mongod makes of it. */
    private void start(Stream stream, Document spec) {
        Object resumeAfter = spec.get("resumeAfter");
        Object startAfter = spec.get("startAfter");
        Object startAt = spec.get("startAtOperationTime");
        if (resumeAfter != null && startAfter != null) {
            throw new MongoServerError(50865, "Location50865", "Do not specify both 'resumeAfter' and 'startAfter' in a $changeStream stage");
        }
        Object token = resumeAfter != null ? resumeAfter : startAfter;
        if (token != null && startAt != null) {
            throw new MongoServerError(40674, "Location40674", "Only one type of resume option is allowed, but multiple were found");
        }
        long startTs;
        if (token != null) {
            if (!(token instanceof Document tokenDocument)) {
                throw new MongoServerError(9, "FailedToParse", "the resume token must be an object");
            }
            ResumeTokens.Data data;
            try {
                data = ResumeTokens.decode(tokenDocument);
            } catch (IllegalArgumentException e) {
                throw new MongoServerError(9, "FailedToParse", "invalid resume token: " + e.getMessage());
            }
            if (data.fromInvalidate() && resumeAfter != null) {
                throw new MongoServerError(260, "InvalidResumeToken",
                    "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.");
            }
            startTs = data.clusterTime();
            stream.resumeToken = tokenDocument;
            // a shard's stream opened by mongos resumes after a token that may be another shard's event
            stream.mustFindResumeToken = data.tokenType() == ResumeTokens.EVENT && Boolean.TRUE.equals(spec.get(FROM_MONGOS)) == false;
            stream.postBatchResumeToken = tokenDocument;
        } else if (startAt != null) {
            if (!(startAt instanceof BsonTimestamp ts)) {
                throw new MongoServerError(14, "TypeMismatch", "startAtOperationTime must be a Timestamp");
            }
            startTs = ts.getValue();
            stream.postBatchResumeToken = ResumeTokens.highWaterMark(startTs, version.resumeTokenVersion());
        } else {
            BsonTimestamp newest = store.newestTs();
            long lastApplied = Math.min(newest == null ? 0 : newest.getValue(), majorityCommitPoint.getAsLong());
            startTs = lastApplied + 1;
            stream.postBatchResumeToken = ResumeTokens.highWaterMark(startTs, version.resumeTokenVersion());
        }
        Long lastEvicted = store.lastEvicted();
        if (lastEvicted != null && Long.compareUnsigned(startTs, lastEvicted) <= 0) {
            throw historyLost();
        }
        stream.scannedThrough = startTs == 0 ? 0 : startTs - 1;
    }

    private static MongoServerError historyLost() {
        return new MongoServerError(286, "ChangeStreamHistoryLost",
            "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
    }

    // ------------------------------------------------------------------------------------------------------------------
    // getMore

    Document getMore(Document command) {
        long cursorId = ((Number) command.get("getMore")).longValue();
        Stream stream = streams.get(cursorId);
        if (stream == null) {
            throw new MongoServerError(43, "CursorNotFound", "cursor id " + cursorId + " not found");
        }
        int batchSize = command.get("batchSize") instanceof Number n && n.intValue() > 0 ? n.intValue() : Integer.MAX_VALUE;
        long awaitMillis = command.get("maxTimeMS") instanceof Number n ? n.longValue() : DEFAULT_AWAIT_MILLIS;
        long deadline = System.nanoTime() + awaitMillis * 1_000_000L;
        List<Document> batch;
        synchronized (stream) {
            try {
                batch = await(stream, batchSize, deadline);
            } catch (RuntimeException e) {
                streams.remove(cursorId); // a failed change stream cursor is gone, as on mongod
                throw e;
            }
        }
        if (stream.finished()) {
            streams.remove(cursorId);
            cursorId = 0;
        }
        return reply(stream, cursorId, "nextBatch", batch);
    }

    /** The next events, waiting until {@code deadline} (System.nanoTime) for some when there are none yet. */
    private List<Document> await(Stream stream, int batchSize, long deadline) {
        List<Document> batch = next(stream, batchSize);
        while (batch.isEmpty() && stream.invalidated == false && System.nanoTime() < deadline) {
            try {
                if (store.awaitNewerThan(stream.scannedThrough, deadline) == false) {
                    break;
                }
                if (Long.compareUnsigned(majorityCommitPoint.getAsLong(), stream.scannedThrough) <= 0) {
                    Thread.sleep(5); // newer entries exist, not majority-committed yet
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            batch = next(stream, batchSize);
        }
        return batch;
    }

    private static Document reply(Stream stream, long cursorId, String batchName, List<Document> batch) {
        Document cursor = new Document(batchName, batch).append("postBatchResumeToken", stream.postBatchResumeToken);
        if (stream.finished()) {
            cursor.append("invalidated", true);
        }
        cursor.append("id", cursorId).append("ns", stream.namespace);
        return new Document("cursor", cursor).append("ok", 1.0);
    }

    // ------------------------------------------------------------------------------------------------------------------
    // events

    /** The next events of the stream, up to {@code limit}, and its post-batch resume token. */
    private List<Document> next(Stream stream, int limit) {
        long visible = majorityCommitPoint.getAsLong();
        Long lastEvicted = store.lastEvicted();
        if (lastEvicted != null && Long.compareUnsigned(stream.scannedThrough, lastEvicted) < 0 && stream.pending.isEmpty()) {
            throw historyLost(); // the stream fell behind the oplog's window
        }
        for (Map.Entry<Long, Document> entry : store.after(stream.scannedThrough, false).entrySet()) {
            if (stream.pending.size() >= limit || stream.invalidated || Long.compareUnsigned(entry.getKey(), visible) > 0) {
                break;
            }
            events(stream, entry.getValue());
            stream.scannedThrough = entry.getKey();
        }
        List<Document> batch = new ArrayList<>();
        while (batch.size() < limit && stream.pending.isEmpty() == false) {
            Document event = stream.pending.pollFirst();
            stream.postBatchResumeToken = (Document) event.get("_id");
            List<Document> shaped = stream.stages.isEmpty() ? List.of(event)
                : Aggregation.fromPipeline(stream.stages, resolver, resolver.resolve("admin"), null, oplog).runStages(java.util.stream.Stream.of(event));
            batch.addAll(shaped);
        }
        if (stream.pending.isEmpty() && stream.invalidated == false) {
            Document scanned = ResumeTokens.highWaterMark(stream.scannedThrough, version.resumeTokenVersion());
            if (ResumeTokens.compare(scanned, stream.postBatchResumeToken) > 0) {
                stream.postBatchResumeToken = scanned;
            }
        }
        return batch;
    }

    /**
     * Adds the events of one oplog entry that the stream sees (none, one, or a transaction's). As mongod's unwinder does, a
     * transaction's operations come out where it commits, all with that entry's time and in their order: an applyOps
     * entry that opens or continues a transaction ({@code partialTxn}) or prepares one ({@code prepare}) adds nothing; the
     * applyOps entry that ends an unprepared transaction, or the {@code commitTransaction} of a prepared one, adds the
     * operations of its whole chain (earlier entries found by {@code prevOpTime}); an aborted transaction adds nothing.
     */
    private void events(Stream stream, Document entry) {
        long ts = ((BsonTimestamp) entry.get("ts")).getValue();
        Instant wall = entry.get("wall") instanceof Instant w ? w : null;
        String op = (String) entry.get("op");
        if ("n".equals(op) && entry.get("o") instanceof Document noop && noop.get("changeEvents") instanceof List<?> given) {
            injected(stream, given, ts, wall);
            return;
        }
        if ("c".equals(op) && entry.get("o") instanceof Document o
            && (o.get("applyOps") instanceof List<?> || o.containsKey("commitTransaction") || o.containsKey("abortTransaction"))) {
            if (o.containsKey("abortTransaction") || Boolean.TRUE.equals(o.get("partialTxn")) || Boolean.TRUE.equals(entry.get("partialTxn"))
                || Boolean.TRUE.equals(o.get("prepare")) || Boolean.TRUE.equals(entry.get("prepare"))) {
                return;
            }
            Document txn = entry.containsKey("lsid") ? new Document("txnNumber", entry.get("txnNumber")).append("lsid", entry.get("lsid")) : null;
            int index = 0;
            for (TransactionOperation operation : transactionOperations(entry)) {
                event(stream, operation.operation(), ts, wall, index++, txn, operation.entryTs(), operation.applyOpsIndex());
            }
            return;
        }
        event(stream, entry, ts, wall, 0, null, ts, 0);
    }

    /** An operation of a transaction, with the {@code ts} of the applyOps entry that holds it and its index there. */
    private record TransactionOperation(Document operation, long entryTs, int applyOpsIndex) {}

    /** The operations of the transaction {@code last} ends, oldest entry first (its chain by {@code prevOpTime}). */
    private List<TransactionOperation> transactionOperations(Document last) {
        List<Document> chain = new ArrayList<>();
        Document entry = last;
        while (entry != null) {
            chain.add(0, entry);
            Object previous = entry.get("prevOpTime") instanceof Document opTime ? opTime.get("ts") : null;
            if (!(previous instanceof BsonTimestamp ts) || ts.getValue() == 0) {
                break;
            }
            entry = store.all().get(ts.getValue());
        }
        List<TransactionOperation> operations = new ArrayList<>();
        for (Document link : chain) {
            if (link.get("o") instanceof Document o && o.get("applyOps") instanceof List<?> ops) {
                long linkTs = ((BsonTimestamp) link.get("ts")).getValue();
                for (int i = 0; i < ops.size(); i++) {
                    operations.add(new TransactionOperation((Document) ops.get(i), linkTs, i));
                }
            }
        }
        return operations;
    }

    /** {@code imageTs}, {@code imageIndex}: where the operation's pre- and post-images are kept ({@link PreImages}). */
    private void event(Stream stream, Document entry, long ts, Instant wall, int txnOpIndex, Document txn, long imageTs, int imageIndex) {
        String op = (String) entry.get("op");
        String ns = (String) entry.get("ns");
        if (op == null || ns == null || "n".equals(op) || Boolean.TRUE.equals(entry.get("fromMigrate"))) {
            return;
        }
        int dot = ns.indexOf('.');
        String db = dot < 0 ? ns : ns.substring(0, dot);
        String coll = dot < 0 ? "" : ns.substring(dot + 1);
        UUID uuid = entry.get("ui") instanceof UUID u ? u : null;
        Document o = (Document) entry.get("o");
        Document event;
        switch (op) {
            case "i", "u", "d" -> {
                if (INTERNAL_DATABASES.contains(db) || coll.startsWith("system.") || stream.sees(db, coll) == false) {
                    return;
                }
                event = crud(stream, op, db, coll, o, (Document) entry.get("o2"), uuid, imageTs, imageIndex);
            }
            case "c" -> {
                event = command(stream, db, o);
                if (event == null) {
                    return;
                }
                if (o.containsKey("renameCollection")) {
                    String from = (String) o.get("renameCollection");
                    int fromDot = from.indexOf('.');
                    db = from.substring(0, fromDot);
                    coll = from.substring(fromDot + 1);
                } else if (o.containsKey("dropDatabase")) {
                    coll = null;
                } else {
                    coll = (String) o.values().iterator().next();
                }
                if (INTERNAL_DATABASES.contains(db) || (coll != null && coll.startsWith("system.")) || stream.sees(db, coll) == false) {
                    return;
                }
                if (o.containsKey("dropDatabase")) {
                    uuid = null;
                }
            }
            default -> {
                return;
            }
        }
        String type = (String) event.get("operationType");
        Document token = ResumeTokens.event(ts, version.resumeTokenVersion(), txnOpIndex, false, uuid, identifier(event, type));
        Document shaped = new Document();
        if (event.containsKey("to")) {
            shaped.append("to", event.get("to"));
        }
        if (txn != null) {
            shaped.putAll(txn);
        }
        shaped.append("_id", token).append("operationType", type).append("clusterTime", new BsonTimestamp(ts));
        if (stream.expanded && uuid != null) {
            shaped.append("collectionUUID", uuid);
        }
        if (wall != null && version.wallTime()) {
            shaped.append("wallTime", wall);
        }
        for (String field : new String[] { "fullDocument", "ns", "documentKey", "operationDescription", "updateDescription",
            "fullDocumentBeforeChange" }) {
            if (event.containsKey(field) && (field.equals("operationDescription") == false || stream.expanded)) {
                shaped.append(field, event.get(field));
            }
        }
        deliver(stream, shaped, token, type, db, coll, ts, wall, true);
    }

    /** The event identifier of an event's token, as the release's token version wants it. */
    private Document identifier(Document event, String type) {
        if (version.resumeTokenVersion() < 2) {
            return (Document) event.get("documentKey"); // version 1: the document key, nothing for a command
        }
        Document identifier = new Document("operationType", type);
        if (event.containsKey("documentKey")) {
            identifier.append("documentKey", event.get("documentKey"));
        } else if (event.containsKey("operationDescription")) {
            identifier.append("operationDescription", event.get("operationDescription"));
        }
        return identifier;
    }

    /**
     * Change events given whole in a no-op entry ({@code o.changeEvents}, test injection in raw mode: the conformance
     * harness's cases of change events as real servers send them): each, in order, under the entry's {@code ts} as its
     * {@code clusterTime}, for the streams whose namespace it is in (an {@code invalidate} for every stream, and it ends
     * the stream), with a token made as for this server's own events where the event has no {@code _id} (an invalidate's:
     * the token of the event before it, marked as from an invalidate, as mongod's). No invalidate is added: a case lists
     * the one it expects.
     */
    private void injected(Stream stream, List<?> events, long ts, Instant wall) {
        int txnOpIndex = 0;
        Document previousToken = null;
        for (Object value : events) {
            Document given = (Document) value;
            int index = txnOpIndex++;
            String type = String.valueOf(given.get("operationType"));
            String db = given.get("ns") instanceof Document ns ? (String) ns.get("db") : null;
            String coll = given.get("ns") instanceof Document ns ? (String) ns.get("coll") : null;
            if (type.equals("invalidate") == false && (db == null || stream.sees(db, coll) == false)) {
                continue;
            }
            Document token;
            if (given.get("_id") instanceof Document id) {
                token = id;
            } else if (type.equals("invalidate") && previousToken != null) {
                token = ResumeTokens.asInvalidate(previousToken); // as mongod: the token of the command that caused it
            } else {
                token = ResumeTokens.event(ts, version.resumeTokenVersion(), index, type.equals("invalidate"),
                    given.get("collectionUUID") instanceof UUID uuid ? uuid : null, identifier(given, type));
            }
            previousToken = token;
            Document shaped = new Document("_id", token);
            for (Map.Entry<String, Object> field : given.entrySet()) {
                if (field.getKey().equals("_id") == false) {
                    shaped.put(field.getKey(), field.getKey().equals("clusterTime") ? new BsonTimestamp(ts) : field.getValue());
                }
            }
            shaped.putIfAbsent("clusterTime", new BsonTimestamp(ts));
            deliver(stream, shaped, token, type, db, coll, ts, wall, false);
            if (type.equals("invalidate")) {
                stream.invalidated = true;
                return;
            }
        }
    }

    /**
     * Adds a shaped event to the stream, unless a resume token puts it behind; {@code autoInvalidate}: a command that
     * invalidates the stream adds its invalidate.
     */
    private void deliver(Stream stream, Document shaped, Document token, String type, String db, String coll, long ts, Instant wall,
        boolean autoInvalidate) {
        if (stream.resumeToken != null) {
            int order = ResumeTokens.compare(token, stream.resumeToken);
            boolean resumeFromInvalidate = ResumeTokens.decode(stream.resumeToken).fromInvalidate();
            if (order == 0) {
                // the token's own event is behind the stream; after a command that invalidates it, its invalidate is not
                stream.mustFindResumeToken = false;
                if (autoInvalidate && isInvalidating(stream, type, db, coll)) {
                    addInvalidate(stream, token, ts, wall);
                }
                return;
            }
            if (resumeFromInvalidate && ResumeTokens.compare(ResumeTokens.asInvalidate(token), stream.resumeToken) == 0) {
                stream.mustFindResumeToken = false; // startAfter an invalidate: the command that caused it is behind too
                return;
            }
            if (order < 0) {
                return;
            }
            if (stream.mustFindResumeToken) {
                throw new MongoServerError(280, "ChangeStreamFatalError",
                    "cannot resume stream; the resume token was not found. {_data: \"" + stream.resumeToken.get("_data") + "\"}");
            }
        }
        stream.pending.addLast(shaped);
        if (autoInvalidate && isInvalidating(stream, type, db, coll)) {
            addInvalidate(stream, token, ts, wall);
        }
    }

    private static void addInvalidate(Stream stream, Document commandToken, long ts, Instant wall) {
        Document invalidate = new Document("_id", ResumeTokens.asInvalidate(commandToken)).append("operationType", "invalidate")
            .append("clusterTime", new BsonTimestamp(ts));
        if (wall != null) {
            invalidate.append("wallTime", wall);
        }
        stream.pending.addLast(invalidate);
        stream.invalidated = true;
    }

    /** A collection stream ends at a drop or rename of its collection or a drop of its database; a database stream at a drop of it. */
    private static boolean isInvalidating(Stream stream, String type, String db, String coll) {
        if (stream.database == null) {
            return false;
        }
        if (stream.collection == null) {
            return type.equals("dropDatabase");
        }
        return type.equals("dropDatabase") || ((type.equals("drop") || type.equals("rename")) && stream.collection.equals(coll));
    }

    private Document crud(Stream stream, String op, String db, String coll, Document o, Document o2, UUID uuid, long imageTs, int imageIndex) {
        Document ns = new Document("db", db).append("coll", coll);
        Document event = new Document();
        PreImages.Images images = op.equals("i") ? null : preImages.get(imageTs, uuid, imageIndex);
        switch (op) {
            case "i" -> event.append("operationType", "insert").append("fullDocument", o).append("ns", ns)
                .append("documentKey", o2 != null ? o2 : new Document("_id", o.get("_id")));
            case "d" -> event.append("operationType", "delete").append("ns", ns).append("documentKey", o);
            default -> {
                Document description = UpdateDescriptions.of(o, stream.expanded && version.disambiguatedPaths());
                Document key = o2 != null ? o2 : new Document("_id", o.get("_id"));
                if (description == null) {
                    event.append("operationType", "replace").append("fullDocument", o).append("ns", ns).append("documentKey", key);
                } else {
                    event.append("operationType", "update");
                    switch (stream.fullDocument) {
                        case "updateLookup" -> event.append("fullDocument", lookUp(db, coll, key));
                        case "whenAvailable", "required" -> event.append("fullDocument", image(stream.fullDocument, images == null ? null
                            : images.after(), "post-image", imageTs, key));
                        default -> {
                        }
                    }
                    event.append("ns", ns).append("documentKey", key).append("updateDescription", description);
                }
            }
        }
        if (op.equals("i") == false && stream.fullDocumentBeforeChange.equals("off") == false) {
            if (version.preAndPostImages() == false) {
                // 4.4 and 5.0 take the option, for collections with recordPreImages, which this server does not keep
                if (stream.fullDocumentBeforeChange.equals("required")) {
                    throw new MongoServerError(51770, "Location51770", "Change stream was configured to require a pre-image for all"
                        + " update, delete and replace events, but no pre-image optime was recorded for event: {documentKey: "
                        + event.get("documentKey") + "}");
                }
                event.append("fullDocumentBeforeChange", null);
            } else {
                event.append("fullDocumentBeforeChange",
                    image(stream.fullDocumentBeforeChange, images == null ? null : images.before(), "pre-image", imageTs, (Document) event.get("documentKey")));
            }
        }
        return event;
    }

    /** A pre- or post-image as the stream's option wants it: the image, null when missing, or NoMatchingDocument when required. */
    private static Document image(String option, Document image, String what, long ts, Document documentKey) {
        if (image == null && option.equals("required")) {
            throw new MongoServerError(47, "NoMatchingDocument", "Change stream was configured to require a " + what
                + " for all update, delete and replace events, but the " + what + " was not found for event: {documentKey: "
                + documentKey + ", clusterTime: " + new BsonTimestamp(ts) + "}");
        }
        return image;
    }

    /** The document as it is now (majority-committed, as this server applies every write at once), or null once deleted. */
    private Document lookUp(String db, String coll, Document key) {
        MongoCollection<?> collection = resolver.resolve(db).resolveCollection(coll, false);
        if (collection == null) {
            return null;
        }
        for (Document document : collection.handleQuery(new Document("_id", key.get("_id")))) {
            return document;
        }
        return null;
    }

    /** A command entry's event, or null for commands a stream does not show. */
    private static Document command(Stream stream, String db, Document o) {
        if (o.containsKey("drop")) {
            return new Document("operationType", "drop").append("ns", new Document("db", db).append("coll", o.get("drop")));
        }
        if (o.get("renameCollection") instanceof String from && o.get("to") instanceof String to) {
            int fromDot = from.indexOf('.');
            int toDot = to.indexOf('.');
            Document target = new Document("db", to.substring(0, toDot)).append("coll", to.substring(toDot + 1));
            Document event = new Document("to", target).append("operationType", "rename")
                .append("ns", new Document("db", from.substring(0, fromDot)).append("coll", from.substring(fromDot + 1)));
            // (the token always names the target; the event shows operationDescription only with expanded events)
            return event.append("operationDescription", new Document("to", target));
        }
        if (o.containsKey("dropDatabase")) {
            return new Document("operationType", "dropDatabase").append("ns", new Document("db", db));
        }
        if (stream.expanded && o.get("create") instanceof String created) {
            Document description = new Document(o);
            description.remove("create");
            return new Document("operationType", "create").append("ns", new Document("db", db).append("coll", created))
                .append("operationDescription", description);
        }
        return null;
    }

    /** One change stream cursor. */
    private static final class Stream {
        String database; // null: the whole cluster
        String collection; // null: a database or the cluster
        String namespace;
        /** default, updateLookup, whenAvailable or required */
        String fullDocument = "default";
        /** off, whenAvailable or required */
        String fullDocumentBeforeChange = "off";
        boolean expanded;
        List<Document> stages = List.of();
        long scannedThrough;
        Document resumeToken;
        boolean mustFindResumeToken;
        Document postBatchResumeToken;
        boolean invalidated;
        final Deque<Document> pending = new ArrayDeque<>();

        /** Invalidated, and its invalidate returned: the cursor closes. */
        boolean finished() {
            return invalidated && pending.isEmpty();
        }

        boolean sees(String db, String coll) {
            return database == null || (database.equals(db) && (collection == null || coll == null || collection.equals(coll)));
        }
    }
}

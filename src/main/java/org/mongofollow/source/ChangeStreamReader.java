package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.MongoServerException;
import com.mongodb.ReadConcern;
import com.mongodb.ReadPreference;
import com.mongodb.client.ChangeStreamIterable;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.core.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Reads one collection's change stream as a {@link HistoryReader}: a read of {@code (from, to]} (or a tailing read from
 * {@code from}) opens a stream at {@code startAtOperationTime} just after {@code from}, reads its events and closes it.
 * Change streams only return majority-committed events. Positions are the events' {@code clusterTime}.
 * <p>
 * <b>Whole cluster times.</b> The events of one transaction (and of one batched write) share their {@code clusterTime}, and
 * a later read starts after the position an earlier one reached, so a read only ever returns every event of each cluster
 * time it returns: a time is complete once the stream has shown an event of a later time, a high-water-mark
 * {@code postBatchResumeToken} past it (the stream has scanned MongoDB's history beyond it), or nothing more (an empty
 * batch after it: MongoDB unwinds the events of one cluster time from one oplog entry, which is majority-committed as a
 * whole, so a stream that has nothing more to return has returned them all; not through mongos, which merges shards'
 * streams, where a cross-shard transaction's events come from several entries). Events of a time the read could not finish
 * (a full batch) are left to the next read. So the last events before a quiet are applied without waiting for MongoDB's
 * next write.
 * <p>
 * <b>Resume tokens.</b> Each read returns MongoDB's resume token for the position it read up to, when it knows one
 * ({@link OplogReader.Batch#resumeAfter}: the high-water mark, or the last event's token). Given one at or before where it
 * starts ({@link #resumingAfter}), a read resumes the stream after that token rather than at an operation time, and skips
 * the events at or before its start; the feed keeps them ({@link ResumePoints}) and shard tasks store them with their
 * checkpoints. A server that refuses the token is asked again by operation time.
 * <p>
 * A stream that cannot start where it is asked to (MongoDB no longer holds that history: errors 286
 * ChangeStreamHistoryLost and, before MongoDB 4.2, 280 ChangeStreamFatalError) is {@link OplogFeed.HistoryLostException}.
 * Blocking: call it on the plugin's thread pool.
 */
public final class ChangeStreamReader implements HistoryReader {

    private static final Logger logger = LogManager.getLogger(ChangeStreamReader.class);

    /** The longest one getMore waits before the read checks whether it should go on waiting. */
    static final long MAX_AWAIT_SLICE_MILLIS = 1000;
    /** How long a read waits for the stream to show a first cluster time complete (a range's end may be its last). */
    static final long RANGE_READ_TIMEOUT_MILLIS = 60_000;

    static final int CHANGE_STREAM_HISTORY_LOST = 286;
    static final int CHANGE_STREAM_FATAL_ERROR = 280;

    private final MongoClient client;
    private final MongoCollection<RawBsonDocument> collection;
    private final FullDocumentMode fullDocument;
    @Nullable
    private CircuitBreaker breaker;
    private boolean firstEntryAlways;
    /** The token a read resumes after; null once the server refused it (the read is then made by operation time). */
    @Nullable
    private ResumePoint resumeFrom;

    /** A reader of {@code namespace}'s stream; {@code fullDocument}: what its update events carry besides their description. */
    public ChangeStreamReader(MongoClient client, String namespace, FullDocumentMode fullDocument) {
        int dot = namespace.indexOf('.');
        this.client = client;
        this.collection = client.getDatabase(namespace.substring(0, dot))
            .getCollection(namespace.substring(dot + 1), RawBsonDocument.class)
            .withReadPreference(ReadPreference.primary())
            .withReadConcern(ReadConcern.MAJORITY);
        this.fullDocument = fullDocument;
    }

    /** As {@link OplogReader#charging}: the events of each read are charged to {@code breaker} while it collects them. */
    public ChangeStreamReader charging(CircuitBreaker breaker, boolean firstEntryAlways) {
        this.breaker = breaker;
        this.firstEntryAlways = firstEntryAlways;
        return this;
    }

    @Override
    public HistoryReader resumingAfter(@Nullable ResumePoint point) {
        this.resumeFrom = point;
        return this;
    }

    @Override
    public OplogReader.Batch readRange(OplogPosition from, OplogPosition to, int maxOperations, long maxBytes) {
        return read(from, to, maxOperations, maxBytes, RANGE_READ_TIMEOUT_MILLIS, () -> false);
    }

    @Override
    public OplogReader.Batch tail(OplogPosition from, int maxOperations, long maxBytes, long timeoutMillis, BooleanSupplier abandon) {
        return read(from, null, maxOperations, maxBytes, timeoutMillis, abandon);
    }

    /** A change stream holds no position of its own to check: opening it where history is gone fails (286). */
    @Override
    public OplogPosition oldestPosition() {
        return null;
    }

    private OplogReader.Batch read(
        OplogPosition from,
        @Nullable OplogPosition to,
        int maxOperations,
        long maxBytes,
        long timeoutMillis,
        BooleanSupplier abandon
    ) {
        try {
            return readOnce(from, to, maxOperations, maxBytes, timeoutMillis, abandon);
        } catch (TokenRefusedException e) {
            // the server took the token but failed on it (most often, it could not find the token's event in its history:
            // ChangeStreamFatalError): a read from the operation time tells whether the history is there
            logger.debug(() -> "the change stream of [" + collection.getNamespace() + "] did not resume after its token at "
                + resumeFrom.position() + ": reading it again from the operation time after " + from, e.getCause());
            resumeFrom = null;
            return readOnce(from, to, maxOperations, maxBytes, timeoutMillis, abandon);
        }
    }

    /** A stream resumed after a token failed (its first read from the operation time tells what the failure means). */
    private static final class TokenRefusedException extends RuntimeException {
        TokenRefusedException(MongoServerException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    private OplogReader.Batch readOnce(
        OplogPosition from,
        @Nullable OplogPosition to,
        int maxOperations,
        long maxBytes,
        long timeoutMillis,
        BooleanSupplier abandon
    ) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        List<RawBsonDocument> events = new ArrayList<>();
        long bytes = 0;
        ReadCharge charge = new ReadCharge(breaker, firstEntryAlways, "change stream read");
        // everything at or before `complete` has been read; the first `completeCount` events are those
        OplogPosition complete = from;
        int completeCount = 0;
        long completeBytes = 0;
        OplogPosition groupTime = null;
        OplogPosition head = from;
        // resume tokens (resuming after one returns every event after its position, and maybe some before, which reads skip):
        // `fromToken` is one for `from`, `highWaterMark` the last high-water mark past `from` and the position it stands for
        BsonDocument fromToken = null;
        BsonDocument highWaterMark = null;
        OplogPosition highWaterMarkPosition = null;
        // not through mongos: it merges the shards' streams, and may hold back events of a cluster time (a transaction
        // across shards) that one shard has returned while another has not shown it has passed that time
        boolean emptyBatchCompletes = WireVersions.isMongos(client) == false;
        try (MongoChangeStreamCursor<RawBsonDocument> cursor = open(from, maxOperations, timeoutMillis)) {
            if (resumeFrom != null) {
                fromToken = resumeFrom.tokenDocument();
            }
            while (true) {
                RawBsonDocument event = cursor.tryNext();
                if (event == null) {
                    BsonDocument token = cursor.getResumeToken();
                    OplogPosition seen = seenThrough(token, events.isEmpty() ? null : events.get(events.size() - 1));
                    if (seen != null) {
                        head = OplogPosition.max(head, seen);
                        if (seen.after(from)) {
                            highWaterMark = token;
                            highWaterMarkPosition = seen;
                        } else {
                            fromToken = token; // the stream resumed before `from` and has come closer to it
                        }
                        if (seen.after(complete)) {
                            complete = to == null ? seen : OplogPosition.min(seen, to);
                            if (groupTime != null && groupTime.compareTo(complete) <= 0) {
                                completeCount = events.size();
                                completeBytes = bytes;
                            }
                        }
                    }
                    if (emptyBatchCompletes && groupTime != null && groupTime.after(complete)) {
                        // MongoDB has returned all it has now (an empty batch), and the events of one cluster time come
                        // from one oplog entry, majority-committed as a whole: the last time read is whole too
                        complete = groupTime;
                        completeCount = events.size();
                        completeBytes = bytes;
                        head = OplogPosition.max(head, groupTime);
                    }
                    if (complete.after(from)) {
                        // the stream has shown all it has for now: what is complete goes back (a range read that ends
                        // before its end is continued from there, as a full batch is)
                        break;
                    }
                    if (System.nanoTime() - deadline >= 0 || abandon.getAsBoolean()) {
                        break;
                    }
                    continue;
                }
                OplogPosition time = clusterTime(event);
                if (time.after(from) == false) {
                    fromToken = event.getDocument("_id"); // resumed before `from`: an event already read, skipped
                    continue;
                }
                if (groupTime == null || time.after(groupTime)) {
                    OplogPosition before = new OplogPosition(time.key() - 1); // every event before this one's time is read
                    if (before.after(complete)) {
                        complete = to == null ? before : OplogPosition.min(before, to);
                    }
                    completeCount = events.size();
                    completeBytes = bytes;
                    head = OplogPosition.max(head, before);
                    if (to != null && time.after(to)) {
                        complete = to;
                        break;
                    }
                    if (completeCount > 0 && (completeCount >= maxOperations || completeBytes >= maxBytes)) {
                        break; // a full batch, ending with a whole cluster time
                    }
                    groupTime = time;
                }
                long size = event.getByteBuffer().remaining();
                if (charge.add(size, completeCount > 0) == false) {
                    break; // the node's memory budget is spent: the cluster times read whole so far
                }
                events.add(event);
                bytes += size;
                if ("invalidate".equals(operationType(event))) {
                    // the stream ends here (a drop or rename of the collection, or of its database): its time is whole
                    complete = to == null ? time : OplogPosition.min(time, to);
                    completeCount = events.size();
                    completeBytes = bytes;
                    head = OplogPosition.max(head, time);
                    break;
                }
            }
        } catch (MongoServerException e) {
            if (resumeFrom != null) {
                // opening the stream after the token, or reading it, failed
                throw new TokenRefusedException(e);
            }
            if (e.getCode() == CHANGE_STREAM_HISTORY_LOST || e.getCode() == CHANGE_STREAM_FATAL_ERROR) {
                throw new OplogFeed.HistoryLostException(from, null);
            }
            throw e;
        } finally {
            charge.release();
        }
        List<RawBsonDocument> kept = completeCount == events.size() ? events : new ArrayList<>(events.subList(0, completeCount));
        ResumePoint resume = resumePoint(complete, kept, fromToken, highWaterMark, highWaterMarkPosition);
        return new OplogReader.Batch(kept, complete, OplogPosition.max(head, complete), completeBytes, resume);
    }

    /**
     * The token to resume after {@code complete}, where every event at or before it has been read and {@code kept} are those
     * after {@code from}: the high-water mark when it stands for exactly that position (it keeps moving with MongoDB's
     * history, where an event's token would age on a quiet collection), else the last event read (resuming after it
     * returns what comes after it, so after {@code complete}) unless that ended the stream, else a token for {@code from}
     * when nothing came after it. Null when none is known.
     */
    @Nullable
    static ResumePoint resumePoint(
        OplogPosition complete,
        List<RawBsonDocument> kept,
        @Nullable BsonDocument fromToken,
        @Nullable BsonDocument highWaterMark,
        @Nullable OplogPosition highWaterMarkPosition
    ) {
        if (highWaterMark != null && complete.equals(highWaterMarkPosition)) {
            return ResumePoint.of(complete, highWaterMark);
        }
        if (kept.isEmpty() == false) {
            RawBsonDocument last = kept.get(kept.size() - 1);
            return "invalidate".equals(operationType(last)) ? null : ResumePoint.of(complete, last.getDocument("_id"));
        }
        return fromToken == null ? null : ResumePoint.of(complete, fromToken);
    }

    /**
     * Opens the stream right after {@code from}: after the resume point this reader was given when there is one (MongoDB's
     * own token, which every server that has change streams takes), else at the operation time after {@code from}. A
     * server that does not take the token (it no longer holds that event, or it is of another collection's stream) fails
     * the read, which {@link #read} makes again by operation time (a history that is gone then fails as history lost).
     */
    private MongoChangeStreamCursor<RawBsonDocument> open(OplogPosition from, int maxOperations, long timeoutMillis) {
        if (resumeFrom != null) {
            return changeStreamCursor(
                watch(maxOperations, timeoutMillis).resumeAfter(resumeFrom.tokenDocument()).withDocumentClass(RawBsonDocument.class).cursor()
            );
        }
        return changeStreamCursor(
            watch(maxOperations, timeoutMillis).startAtOperationTime(new OplogPosition(from.key() + 1).toBsonTimestamp())
                .withDocumentClass(RawBsonDocument.class)
                .cursor()
        );
    }

    private ChangeStreamIterable<RawBsonDocument> watch(int maxOperations, long timeoutMillis) {
        return collection.watch()
            // MongoDB before 6.0 refuses the option (an unknown field): its streams show what the follow needs without it
            .showExpandedEvents(WireVersions.of(client) >= WireVersions.MONGODB_6_0)
            .fullDocument(fullDocument.driverOption())
            .batchSize(Math.max(1, Math.min(maxOperations, 1000)))
            .maxAwaitTime(Math.max(1, Math.min(timeoutMillis, MAX_AWAIT_SLICE_MILLIS)), TimeUnit.MILLISECONDS);
    }

    @SuppressWarnings("unchecked")
    private static MongoChangeStreamCursor<RawBsonDocument> changeStreamCursor(MongoCursor<RawBsonDocument> cursor) {
        if (cursor instanceof MongoChangeStreamCursor<?> changeStream) {
            return (MongoChangeStreamCursor<RawBsonDocument>) changeStream;
        }
        cursor.close();
        throw new IllegalStateException("the MongoDB driver returned a cursor without resume tokens for a change stream");
    }

    /**
     * Up to where the stream has shown every event, from its resume token after a batch: a high-water mark (a token that
     * is not the last event's) of time {@code T} says every event before {@code T} has been returned; the last event's own
     * token says nothing of the rest of its time. Null when the token tells nothing new.
     */
    @Nullable
    static OplogPosition seenThrough(@Nullable BsonDocument resumeToken, @Nullable RawBsonDocument lastEvent) {
        if (resumeToken == null || (lastEvent != null && resumeToken.equals(lastEvent.get("_id")))) {
            return null;
        }
        OplogPosition time = ResumeTokenTimes.clusterTime(resumeToken);
        return time == null ? null : new OplogPosition(time.key() - 1);
    }

    /** An event's {@code clusterTime}, its position. */
    public static OplogPosition clusterTime(BsonDocument event) {
        BsonValue time = event.get("clusterTime");
        if (time == null || time.isTimestamp() == false) {
            throw new IllegalStateException("change event without a clusterTime: " + operationType(event) + " event");
        }
        return OplogPosition.of(time.asTimestamp());
    }

    static String operationType(BsonDocument event) {
        BsonValue type = event.get("operationType");
        return type != null && type.isString() ? type.asString().getValue() : "";
    }
}

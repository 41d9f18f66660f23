package org.mongofollow.source;

import com.mongodb.CursorType;
import com.mongodb.MongoCommandException;
import com.mongodb.ReadPreference;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;
import com.mongodb.client.model.Filters;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.RawBsonDocument;
import org.bson.conversions.Bson;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.core.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Reads one namespace's part of a replica set's oplog ({@code local.oplog.rs}): range reads
 * {@code ts in (from, to]}, a tailing read that waits at the head, the majority commit point and the
 * oldest entry still in the oplog. The server-side filter keeps only what can matter to the follow:
 * the namespace's entries, its database's commands and transaction entries. Blocking: call it on the
 * plugin's thread pool.
 */
public final class OplogReader {

    /** A read's result: the entries, and how far the requested range has been completely read. */
    public record Batch(List<RawBsonDocument> entries, OplogPosition scannedTo, OplogPosition majorityCommitPoint, long bytes) {}

    /** The longest one getMore of a tailing read waits before the read checks whether it should go on waiting. */
    static final long MAX_AWAIT_SLICE_MILLIS = 1000;
    /** How often a tailing read that found entries not yet majority-committed asks again. */
    static final long MAJORITY_POLL_MILLIS = 50;

    private final MongoClient client;
    private final Set<String> namespaces;
    private final MongoCollection<RawBsonDocument> oplog;
    @Nullable
    private CircuitBreaker breaker;

    public OplogReader(MongoClient client, String database, String collection) {
        this(client, Set.of(database + "." + collection));
    }

    /** A reader of what can matter to the follows of any of {@code namespaces} ({@code database.collection} each). */
    public OplogReader(MongoClient client, Set<String> namespaces) {
        this.client = client;
        this.namespaces = Set.copyOf(namespaces);
        // every read of a follow goes to the primary, whatever read preference the connection string asks for: the range
        // reads, the tail, the majority commit point and the history checks must all see one member's oplog (a lagging
        // secondary would answer a "complete" range with entries missing)
        this.oplog = client.getDatabase("local").getCollection("oplog.rs", RawBsonDocument.class).withReadPreference(ReadPreference.primary());
    }

    /**
     * Charges the entries of each read to {@code breaker} while the read collects them. A read whose next entry would
     * pass the breaker's limit ends before that entry, as a full batch does (a smaller batch, read on from there); one
     * whose first entry does not fit fails with the breaker's {@code CircuitBreakingException} (retryable). The charge is
     * released when the read returns: its caller charges what it keeps.
     */
    public OplogReader charging(CircuitBreaker breaker) {
        this.breaker = breaker;
        return this;
    }

    /**
     * Charges one more entry of the read in progress; returns the read's new total, or -1 when the entry does not fit and
     * the read already holds {@code entries} (it ends before this entry).
     */
    private long charge(long chargedSoFar, RawBsonDocument entry, int entries) {
        long size = entry.getByteBuffer().remaining();
        if (breaker != null) {
            try {
                breaker.addEstimateBytesAndMaybeBreak(size, "oplog read");
            } catch (CircuitBreakingException e) {
                if (entries > 0) {
                    return -1;
                }
                throw e;
            }
        }
        return chargedSoFar + size;
    }

    private void release(long charged) {
        if (breaker != null && charged > 0) {
            breaker.addWithoutBreaking(-charged);
        }
    }

    /**
     * What can matter to a follow of the namespaces: their entries, their databases' commands and transaction entries
     * ({@code admin.$cmd}). {@link #matches} is the same filter on the client side.
     */
    Bson namespaceFilter() {
        Set<String> accepted = new TreeSet<>(namespaces);
        for (String namespace : namespaces) {
            accepted.add(databaseOf(namespace) + ".$cmd");
        }
        accepted.add("admin.$cmd");
        return accepted.size() == 1 ? Filters.eq("ns", accepted.iterator().next()) : Filters.in("ns", accepted);
    }

    /** Whether an entry of namespace {@code entryNamespace} passes the server-side filter of a reader of {@code namespace}. */
    public static boolean matches(String entryNamespace, String namespace) {
        return entryNamespace.equals(namespace)
            || entryNamespace.equals("admin.$cmd")
            || (entryNamespace.endsWith(".$cmd") && entryNamespace.equals(databaseOf(namespace) + ".$cmd"));
    }

    private static String databaseOf(String namespace) {
        int dot = namespace.indexOf('.');
        return dot < 0 ? namespace : namespace.substring(0, dot);
    }

    /**
     * Reads {@code (from, to]}, at most {@code maxOperations} entries and about {@code maxBytes}. A full
     * batch has read the range up to its last entry only; otherwise the whole range is read.
     */
    public Batch readRange(OplogPosition from, OplogPosition to, int maxOperations, long maxBytes) {
        Bson filter = Filters.and(
            Filters.gt("ts", from.toBsonTimestamp()),
            Filters.lte("ts", to.toBsonTimestamp()),
            namespaceFilter()
        );
        List<RawBsonDocument> entries = new ArrayList<>();
        long bytes = 0;
        boolean complete = true;
        try (MongoCursor<RawBsonDocument> cursor = oplog.find(filter).batchSize(Math.min(maxOperations, 1000)).limit(maxOperations).iterator()) {
            while (cursor.hasNext()) {
                RawBsonDocument entry = cursor.next();
                long charged = charge(bytes, entry, entries.size());
                if (charged < 0) {
                    complete = false; // the node's memory budget is spent: a full batch, up to its last entry
                    break;
                }
                bytes = charged;
                entries.add(entry);
                if (entries.size() >= maxOperations || bytes >= maxBytes) {
                    complete = entries.size() < maxOperations && cursor.hasNext() == false;
                    break;
                }
            }
        } finally {
            release(bytes);
        }
        OplogPosition scannedTo = complete ? to : position(entries.get(entries.size() - 1));
        return new Batch(entries, scannedTo, null, bytes);
    }

    /**
     * Waits up to {@code timeoutMillis} (or until {@code abandon} says so) at the head for entries after {@code from} (a tailable, await-data
     * cursor), and returns only those at or below the majority commit point. With nothing new, the whole
     * range up to the majority commit point seen before the wait has been read.
     */
    public Batch tail(OplogPosition from, int maxOperations, long maxBytes, long timeoutMillis, BooleanSupplier abandon) {
        OplogPosition majorityBefore = majorityCommitPoint();
        Bson filter = Filters.and(Filters.gt("ts", from.toBsonTimestamp()), namespaceFilter());
        List<RawBsonDocument> entries = new ArrayList<>();
        long bytes = 0;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        try (
            MongoCursor<RawBsonDocument> cursor = oplog.find(filter)
                .cursorType(CursorType.TailableAwait)
                .maxAwaitTime(Math.max(1, Math.min(timeoutMillis, MAX_AWAIT_SLICE_MILLIS)), TimeUnit.MILLISECONDS)
                .batchSize(Math.min(maxOperations, 1000))
                .iterator()
        ) {
            // Each getMore waits at most one slice, so a stopping task or node is never held for the whole timeout.
            // An empty getMore has seen every entry that was majority-committed before it started: when that point
            // is past `from`, the read returns, so the checkpoint of a quiet collection in a busy database moves on.
            OplogPosition majorityBeforeSlice = majorityBefore;
            while (true) {
                RawBsonDocument entry = cursor.tryNext();
                if (entry == null) {
                    if (entries.isEmpty() == false || System.nanoTime() - deadline >= 0 || abandon.getAsBoolean()) {
                        break;
                    }
                    if (majorityBeforeSlice.compareTo(from) > 0) {
                        return new Batch(entries, majorityBeforeSlice, majorityBeforeSlice, 0);
                    }
                    majorityBeforeSlice = majorityCommitPoint();
                    continue;
                }
                long charged = charge(bytes, entry, entries.size());
                if (charged < 0) {
                    break; // the node's memory budget is spent: what was read so far
                }
                bytes = charged;
                entries.add(entry);
                if (entries.size() >= maxOperations || bytes >= maxBytes || cursor.available() == 0) {
                    break;
                }
            }
        } finally {
            release(bytes);
        }
        if (entries.isEmpty()) {
            OplogPosition scannedTo = majorityBefore.compareTo(from) > 0 ? majorityBefore : from;
            return new Batch(entries, scannedTo, majorityBefore, 0);
        }
        OplogPosition majority = majorityCommitPoint();
        // entries the majority has not confirmed yet are not applied; wait (within the timeout) until it has
        while (position(entries.get(0)).compareTo(majority) > 0 && System.nanoTime() - deadline < 0 && abandon.getAsBoolean() == false) {
            try {
                Thread.sleep(MAJORITY_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            majority = majorityCommitPoint();
        }
        List<RawBsonDocument> committed = new ArrayList<>(entries.size());
        long committedBytes = 0;
        for (RawBsonDocument entry : entries) {
            if (position(entry).compareTo(majority) > 0) {
                break;
            }
            committed.add(entry);
            committedBytes += entry.getByteBuffer().remaining();
        }
        OplogPosition scannedTo = committed.isEmpty() ? from : position(committed.get(committed.size() - 1));
        if (committed.isEmpty() && majorityBefore.compareTo(from) > 0) {
            // nothing new was committed, but everything up to the earlier majority point has been seen
            scannedTo = majorityBefore.compareTo(position(entries.get(0))) < 0 ? majorityBefore : from;
        }
        return new Batch(committed, scannedTo, majority, committedBytes);
    }

    /**
     * The newest majority-committed position: {@code hello}'s {@code lastWrite.majorityOpTime}, or
     * {@code replSetGetStatus}'s {@code optimes.lastCommittedOpTime}.
     */
    public OplogPosition majorityCommitPoint() {
        Document hello;
        try {
            hello = client.getDatabase("admin").runCommand(new Document("hello", 1), ReadPreference.primary());
        } catch (MongoCommandException e) {
            if (e.getErrorCode() != COMMAND_NOT_FOUND) {
                throw e;
            }
            // servers before MongoDB 4.4.2 know hello by its old name only
            hello = client.getDatabase("admin").runCommand(new Document("isMaster", 1), ReadPreference.primary());
        }
        if (hello.get("setName") == null) {
            throw new NotAReplicaSetException();
        }
        Object lastWrite = hello.get("lastWrite");
        if (lastWrite instanceof Document lw && lw.get("majorityOpTime") instanceof Document opTime && opTime.get("ts") instanceof BsonTimestamp ts) {
            return OplogPosition.of(ts);
        }
        Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1), ReadPreference.primary());
        Object optimes = status.get("optimes");
        if (optimes instanceof Document o && o.get("lastCommittedOpTime") instanceof Document opTime && opTime.get("ts") instanceof BsonTimestamp ts) {
            return OplogPosition.of(ts);
        }
        throw new IllegalStateException("the MongoDB server reports no majority commit point (replSetGetStatus has no optimes.lastCommittedOpTime)");
    }

    /** The entry at {@code position}, or null when the oplog does not hold it. */
    public RawBsonDocument entryAt(OplogPosition position) {
        return oplog.find(Filters.eq("ts", position.toBsonTimestamp())).first();
    }

    /** The oldest entry still in the (capped) oplog, or null when it is empty. */
    public OplogPosition oldestPosition() {
        RawBsonDocument first = oplog.find().sort(new Document("$natural", 1)).limit(1).first();
        return first == null ? null : position(first);
    }

    public static OplogPosition position(BsonDocument entry) {
        BsonValue ts = entry.get("ts");
        if (ts == null || ts.isTimestamp() == false) {
            throw new IllegalArgumentException("oplog entry without a timestamp [ts]");
        }
        return OplogPosition.of(ts.asTimestamp());
    }

    private static final int COMMAND_NOT_FOUND = 59;

    /** Thrown when the server is not a replica set member: a standalone server has no oplog to follow. */
    public static final class NotAReplicaSetException extends IllegalStateException {
        public NotAReplicaSetException() {
            super("the MongoDB server is not a replica set member, so it has no oplog to follow: start mongod with --replSet (a one-member replica set is enough)");
        }
    }
}

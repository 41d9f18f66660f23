package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.CursorType;
import com.mongodb.MongoCommandException;
import com.mongodb.ReadPreference;
import com.mongodb.ServerAddress;
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
import org.elasticsearch.core.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
public final class OplogReader implements HistoryReader {

    /**
     * A read's result: the entries, and how far the requested range has been completely read; {@code resumeAfter}: a
     * source that has resume tokens (a change stream) gives the one for {@code scannedTo} when it knows it, else null;
     * {@code shardsReadTo}: of the shards of a sharded cluster, how far each one's oplog was read (else null).
     * {@code entryShards}: of a sharded cluster's merged oplogs, the shard (its id) whose oplog holds each entry (else null):
     * a transaction's earlier entries are in its own shard's oplog, and two shards' entries may share a {@code ts}.
     */
    public record Batch(
        List<RawBsonDocument> entries,
        OplogPosition scannedTo,
        OplogPosition majorityCommitPoint,
        long bytes,
        @Nullable ResumePoint resumeAfter,
        @Nullable Map<String, OplogPosition> shardsReadTo,
        @Nullable List<String> entryShards
    ) {
        public Batch {
            java.util.Objects.requireNonNull(majorityCommitPoint, "every read holds its entries to a commit point");
            if (resumeAfter != null && resumeAfter.position().equals(scannedTo) == false) {
                throw new IllegalArgumentException("a batch's resume point is the one of where it ends");
            }
            if (entryShards != null && entryShards.size() != entries.size()) {
                throw new IllegalArgumentException("a batch names the shard of each of its entries, or of none");
            }
        }

        public Batch(List<RawBsonDocument> entries, OplogPosition scannedTo, OplogPosition majorityCommitPoint, long bytes) {
            this(entries, scannedTo, majorityCommitPoint, bytes, null, null, null);
        }

        public Batch(
            List<RawBsonDocument> entries,
            OplogPosition scannedTo,
            OplogPosition majorityCommitPoint,
            long bytes,
            @Nullable ResumePoint resumeAfter
        ) {
            this(entries, scannedTo, majorityCommitPoint, bytes, resumeAfter, null, null);
        }
    }

    /** The longest one getMore of a tailing read waits before the read checks whether it should go on waiting. */
    static final long MAX_AWAIT_SLICE_MILLIS = 1000;
    /** How often a tailing read that found entries not yet majority-committed asks again. */
    static final long MAJORITY_POLL_MILLIS = 50;

    private final MongoClient client;
    private final Set<String> namespaces;
    private final MongoCollection<RawBsonDocument> oplog;
    @Nullable
    private CircuitBreaker breaker;
    private boolean firstEntryAlways;

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
     * whose first entry does not fit fails with the breaker's {@code CircuitBreakingException} (retryable), unless
     * {@code firstEntryAlways}: then the first entry is charged over the limit (the read every buffered operation of a
     * shard task waits for must bring something). The charge is released when the read returns: its caller charges what
     * it keeps.
     */
    public OplogReader charging(CircuitBreaker breaker, boolean firstEntryAlways) {
        this.breaker = breaker;
        this.firstEntryAlways = firstEntryAlways;
        return this;
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
    @Override
    public Batch readRange(OplogPosition from, OplogPosition to, int maxOperations, long maxBytes) {
        MemberView before = memberView();
        Bson filter = Filters.and(
            Filters.gt("ts", from.toBsonTimestamp()),
            Filters.lte("ts", to.toBsonTimestamp()),
            namespaceFilter()
        );
        List<RawBsonDocument> entries = new ArrayList<>();
        long bytes = 0;
        boolean complete = true;
        ReadCharge charge = new ReadCharge(breaker, firstEntryAlways, "oplog read");
        ServerAddress servedBy;
        try (MongoCursor<RawBsonDocument> cursor = oplog.find(filter).batchSize(Math.min(maxOperations, 1000)).limit(maxOperations).iterator()) {
            servedBy = cursor.getServerAddress();
            while (cursor.hasNext()) {
                RawBsonDocument entry = cursor.next();
                long size = entry.getByteBuffer().remaining();
                if (charge.add(size, entries.isEmpty() == false) == false) {
                    complete = false; // the node's memory budget is spent: a full batch, up to its last entry
                    break;
                }
                bytes += size;
                entries.add(entry);
                if (entries.size() >= maxOperations || bytes >= maxBytes) {
                    complete = entries.size() < maxOperations && cursor.hasNext() == false;
                    break;
                }
            }
        } finally {
            charge.release();
        }
        MemberView after = memberView();
        requireOnePrimary(before, servedBy, after);
        // only what this primary's majority commit point covers is committed; a range that a former primary's commit
        // point allowed may reach past it (a new primary's commit point catches up after its first write)
        OplogPosition committed = after.majority();
        OplogPosition scannedTo = complete ? to : position(entries.get(entries.size() - 1));
        if (scannedTo.compareTo(committed) > 0) {
            int keep = 0;
            long keptBytes = 0;
            while (keep < entries.size() && position(entries.get(keep)).compareTo(committed) <= 0) {
                keptBytes += entries.get(keep).getByteBuffer().remaining();
                keep++;
            }
            entries = new ArrayList<>(entries.subList(0, keep));
            bytes = keptBytes;
            scannedTo = committed;
            if (scannedTo.compareTo(from) <= 0) {
                throw new PrimaryChangedException(
                    "the majority commit point of the primary [" + after.me() + "] is at " + committed + ", before the range ("
                        + from + ", " + to + "] being read; reading again once it has caught up"
                );
            }
        }
        return new Batch(entries, scannedTo, committed, bytes);
    }

    /**
     * Waits up to {@code timeoutMillis} (or until {@code abandon} says so) at the head for entries after {@code from} (a tailable, await-data
     * cursor), and returns only those at or below the majority commit point. With nothing new, the whole
     * range up to the majority commit point seen before the wait has been read.
     */
    @Override
    public Batch tail(OplogPosition from, int maxOperations, long maxBytes, long timeoutMillis, BooleanSupplier abandon) {
        MemberView before = memberView();
        OplogPosition majorityBefore = before.majority();
        Bson filter = Filters.and(Filters.gt("ts", from.toBsonTimestamp()), namespaceFilter());
        List<RawBsonDocument> entries = new ArrayList<>();
        long bytes = 0;
        ReadCharge charge = new ReadCharge(breaker, firstEntryAlways, "oplog read");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        ServerAddress servedBy;
        try (
            MongoCursor<RawBsonDocument> cursor = oplog.find(filter)
                .cursorType(CursorType.TailableAwait)
                .maxAwaitTime(Math.max(1, Math.min(timeoutMillis, MAX_AWAIT_SLICE_MILLIS)), TimeUnit.MILLISECONDS)
                .batchSize(Math.min(maxOperations, 1000))
                .iterator()
        ) {
            servedBy = cursor.getServerAddress();
            requireOnePrimary(before, servedBy, before);
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
                    // an empty getMore only says something of the commit point of the member the cursor is on: after a
                    // stepdown the cursor lives on, on a secondary that may lag
                    MemberView slice = memberView();
                    requireOnePrimary(before, servedBy, slice);
                    majorityBeforeSlice = slice.majority();
                    continue;
                }
                long size = entry.getByteBuffer().remaining();
                if (charge.add(size, entries.isEmpty() == false) == false) {
                    break; // the node's memory budget is spent: what was read so far
                }
                bytes += size;
                entries.add(entry);
                if (entries.size() >= maxOperations || bytes >= maxBytes || cursor.available() == 0) {
                    break;
                }
            }
        } finally {
            charge.release();
        }
        if (entries.isEmpty()) {
            OplogPosition scannedTo = majorityBefore.compareTo(from) > 0 ? majorityBefore : from;
            return new Batch(entries, scannedTo, majorityBefore, 0);
        }
        MemberView view = memberView();
        requireOnePrimary(before, servedBy, view);
        OplogPosition majority = view.majority();
        // entries the majority has not confirmed yet are not applied; wait (within the timeout) until it has
        while (position(entries.get(0)).compareTo(majority) > 0 && System.nanoTime() - deadline < 0 && abandon.getAsBoolean() == false) {
            try {
                Thread.sleep(MAJORITY_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            view = memberView();
            requireOnePrimary(before, servedBy, view);
            majority = view.majority();
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
     * What one member says of itself in {@code hello}: its address ({@code me}), whether it is the writable primary and of
     * which election ({@code electionId}, which names the term), and its majority commit point.
     */
    record MemberView(String me, boolean writablePrimary, @Nullable Object electionId, OplogPosition majority) {}

    /**
     * The newest majority-committed position as the primary knows it: {@code hello}'s {@code lastWrite.majorityOpTime},
     * or {@code replSetGetStatus}'s {@code optimes.lastCommittedOpTime}.
     */
    public OplogPosition majorityCommitPoint() {
        return memberView().majority();
    }

    MemberView memberView() {
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
        boolean writablePrimary = Boolean.TRUE.equals(hello.get("isWritablePrimary")) || Boolean.TRUE.equals(hello.get("ismaster"));
        String me = hello.get("me") instanceof String m ? m : null;
        if (writablePrimary == false && client.getClusterDescription().getConnectionMode() == com.mongodb.connection.ClusterConnectionMode.SINGLE) {
            throw new NotThePrimaryException(me);
        }
        OplogPosition majority;
        Object lastWrite = hello.get("lastWrite");
        if (lastWrite instanceof Document lw && lw.get("majorityOpTime") instanceof Document opTime && opTime.get("ts") instanceof BsonTimestamp ts) {
            majority = OplogPosition.of(ts);
        } else {
            Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1), ReadPreference.primary());
            Object optimes = status.get("optimes");
            if (optimes instanceof Document o && o.get("lastCommittedOpTime") instanceof Document opTime && opTime.get("ts") instanceof BsonTimestamp ts) {
                majority = OplogPosition.of(ts);
            } else {
                throw new IllegalStateException("the MongoDB server reports no majority commit point (replSetGetStatus has no optimes.lastCommittedOpTime)");
            }
        }
        return new MemberView(me, writablePrimary, hello.get("electionId"), majority);
    }

    /**
     * A read's entries and the commit point they are held to must come from one member that was the writable primary of
     * one term all along: then the entries are that member's oplog and, up to its commit point, the majority's. A primary
     * never rolls back within its term, and a member's commit point is always in its own history. Anything else (a
     * stepdown, an election, a driver that still sends reads to a former primary) fails the read, which is read again
     * from the new primary.
     */
    static void requireOnePrimary(MemberView before, @Nullable ServerAddress servedBy, MemberView after) {
        if (before.me() == null || servedBy == null) {
            return; // a server that does not say who it is (not a real replica set member): nothing to compare
        }
        boolean same = before.writablePrimary()
            && after.writablePrimary()
            && java.util.Objects.equals(before.electionId(), after.electionId())
            && sameMember(before.me(), servedBy)
            && before.me().equalsIgnoreCase(String.valueOf(after.me()));
        if (same == false) {
            throw new PrimaryChangedException(
                "the primary changed during an oplog read (read from ["
                    + servedBy
                    + "], primary ["
                    + (after.writablePrimary() ? after.me() : "none") + "]); reading again from the primary"
            );
        }
    }

    private static boolean sameMember(String me, ServerAddress servedBy) {
        try {
            return new ServerAddress(me).equals(servedBy);
        } catch (IllegalArgumentException e) {
            return me.equalsIgnoreCase(servedBy.toString());
        }
    }

    /**
     * The connection goes straight to one member that is not the primary: a follow reads the primary's oplog, and a
     * direct connection cannot follow elections. Not retryable: the connection string must change.
     */
    public static final class NotThePrimaryException extends IllegalStateException {
        public NotThePrimaryException(String member) {
            super(
                "the follow's connection goes straight to ["
                    + member
                    + "] (directConnection=true, or one host without replicaSet), which is not the replica set's primary: a follow"
                    + " reads the primary's oplog; name the replica set in the connection string (replicaSet=NAME) so that the driver"
                    + " finds the primary and follows elections"
            );
        }
    }

    /** A read that did not come from one primary of one term: retryable, the next read goes to the new primary. */
    public static final class PrimaryChangedException extends IllegalStateException {
        public PrimaryChangedException(String message) {
            super(message);
        }
    }

    /** The entry at {@code position}, or null when the oplog does not hold it. */
    public RawBsonDocument entryAt(OplogPosition position) {
        return oplog.find(Filters.eq("ts", position.toBsonTimestamp())).first();
    }

    /** The oldest entry still in the (capped) oplog, or null when it is empty. */
    @Override
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

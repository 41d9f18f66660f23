package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.client.MongoClient;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.core.Nullable;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * One node's shared read of one MongoDB endpoint's oplog, under every shard task of every follow the node runs against
 * that endpoint: each oplog entry is read from MongoDB once and then served to each task from a bounded window.
 * <p>
 * A read of {@code (from, to]} for one namespace is served from the window when a stored segment covers {@code from}
 * and was read with that namespace in its filter; it waits for a read in flight that covers {@code from}; otherwise it
 * reads from MongoDB itself, with the filter of every namespace the node follows on the endpoint (clipped before the next
 * stored segment or read in flight, so nothing is read twice) and stores the result as a new segment. A segment
 * {@code (from, to]} holds every entry of its filter in that range, all majority-committed (ranges never go past the
 * majority commit point; tailing reads keep only committed entries), so serving a namespace from it, filtered on the
 * client side exactly as the server-side filter of that namespace alone would filter, returns what a direct read would.
 * Shard tasks behind each other, or at different positions after a restart, still share what overlaps; a task whose
 * entries the window no longer holds reads them itself, and that read joins the window too. The window keeps at most
 * {@code maxWindowBytes} of entries, evicting the oldest positions first.
 * <p>
 * What it reads is its {@link FeedSource}'s: the oplog ({@link OplogSource}, the entries above), or one collection's
 * change stream ({@link ChangeStreamSource}: change events by cluster time, one namespace, the same window and sharing).
 * <p>
 * Blocking, like {@link OplogReader}: call it on the plugin's thread pool.
 */
public final class OplogFeed {

    private static final Logger logger = LogManager.getLogger(OplogFeed.class);

    /**
     * A read's result; {@code decoded} holds what each entry of the batch means for the namespace (null for an entry that
     * opens or continues a transaction, decoded with its commit entry), decoded once per node and namespace however many
     * shard tasks read it; {@code fromMongo}: the read went to MongoDB rather than being served from the window (the
     * feed has then checked that the oplog still held {@code from}).
     */
    public record Read(OplogReader.Batch batch, List<DecodedEntry> decoded, boolean fromMongo) {}

    /** What the feed read from MongoDB and how it served it, for stats and benchmarks. */
    public record Stats(long mongoReads, long entriesRead, long bytesRead, long servedFromWindow, long windowBytes, int windowSegments) {}

    /** Immutable once made: served without the feed's lock. */
    /**
     * The oplog no longer held {@code from} after a read from it: entries right after {@code from} may have rolled off
     * before the read reached them, so the read is not stored and its range cannot be followed from the log.
     */
    public static final class HistoryLostException extends RuntimeException {
        private final OplogPosition from;
        private final OplogPosition oldest;
        @Nullable
        private final String shard;
        /** What was lost, when it is not the oplog's oldest entries (else null). */
        @Nullable
        private final String reason;

        HistoryLostException(OplogPosition from, OplogPosition oldest) {
            this(from, oldest, null);
        }

        /** {@code shard}: the MongoDB shard whose oplog lost it, in a sharded cluster (else null). */
        HistoryLostException(OplogPosition from, OplogPosition oldest, @Nullable String shard) {
            super((shard == null ? "the oplog" : "the oplog of MongoDB shard [" + shard + "]") + " no longer holds " + from
                + " (its oldest entry is " + oldest + ")", null, false, false);
            this.from = from;
            this.oldest = oldest;
            this.shard = shard;
            this.reason = null;
        }

        /** The history of {@code shard} after {@code from} cannot be read, for the {@code reason} given. */
        HistoryLostException(OplogPosition from, String shard, String reason) {
            super(reason, null, false, false);
            this.from = from;
            this.oldest = null;
            this.shard = shard;
            this.reason = reason;
        }

        /** What was lost when it is not the oplog's oldest entries (a removed shard this node cannot read), else null. */
        @Nullable
        public String reason() {
            return reason;
        }

        /** The MongoDB shard whose oplog lost the position, in a sharded cluster; null for a replica set. */
        @Nullable
        public String shard() {
            return shard;
        }

        public OplogPosition from() {
            return from;
        }

        public OplogPosition oldest() {
            return oldest;
        }
    }

    private record Segment(
        long from,
        long to,
        long[] positions,
        String[] entryNamespaces,
        /** of a sharded cluster's merged oplogs, each entry's shard; else null */
        @Nullable String[] entryShards,
        List<RawBsonDocument> entries,
        long bytes,
        Set<String> namespaces,
        Map<String, List<DecodedEntry>> decoded,
        /** what its decoded forms hold beyond the entries, charged while it is in the window (under the feed's lock) */
        java.util.concurrent.atomic.AtomicLong decodedBytes,
        java.util.concurrent.atomic.AtomicBoolean inWindow
    ) {
        boolean covers(long position) {
            return from <= position && position < to;
        }

        /** What the window holds for this segment: its entries and their decoded forms. */
        long heldBytes() {
            return bytes + decodedBytes.get();
        }
    }

    private static final class InFlight {
        final long from;
        final Long to; // null: a tailing read
        final Set<String> namespaces;
        /** Reads parked on this one (see {@link OplogFeed#read}): run once it is done. */
        private List<Runnable> parked = new ArrayList<>();

        /** After this ({@link System#nanoTime}), the read is presumed lost (a hung connection): nobody waits for it. */
        final long staleAtNanos;

        InFlight(long from, Long to, Set<String> namespaces, long staleAtNanos) {
            this.from = from;
            this.to = to;
            this.namespaces = namespaces;
            this.staleAtNanos = staleAtNanos;
        }

        boolean isStale(long nowNanos) {
            return nowNanos - staleAtNanos > 0;
        }

        /** Runs {@code continuation} once this read is done; false (and nothing registered) when it already is. */
        synchronized boolean whenDone(Runnable continuation) {
            if (parked == null) {
                return false;
            }
            parked.add(continuation);
            return true;
        }

        void finish() {
            List<Runnable> continuations;
            synchronized (this) {
                continuations = parked;
                parked = null;
            }
            for (Runnable continuation : continuations) {
                try {
                    continuation.run();
                } catch (RuntimeException e) {
                    // each parked read goes on whatever another's continuation does (it is resubmitted to a pool)
                    logger.warn("a parked oplog read could not be resumed", e);
                }
            }
        }

        boolean covers(long position, String namespace) {
            return from <= position && (to == null || position < to) && namespaces.contains(namespace);
        }
    }

    /**
     * How much longer than its poll timeout a read from MongoDB may run before other reads stop waiting for it and read
     * its range themselves (the shard tasks' watchdog gives up on a request after the same grace).
     */
    static final long STALE_READ_GRACE_NANOS = TimeUnit.MINUTES.toNanos(5);

    /** Empty segments (a quiet tail's coverage) weigh nothing: the window holds at most this many segments too. */
    static final int MAX_WINDOW_SEGMENTS = 4096;

    private final Supplier<MongoClient> client;
    private final ShardedOplogReader.ShardClients shards;
    private final FeedSource source;
    private final long maxWindowBytes;
    private final CircuitBreaker breaker;
    /** Stored segments by start; segments may overlap when they were read for different namespaces. */
    private final TreeMap<Long, List<Segment>> window = new TreeMap<>();
    private int segments;
    private final List<InFlight> inFlight = new ArrayList<>();
    private final Map<String, Integer> subscribers = new HashMap<>();
    private long windowBytes;
    private volatile OplogPosition majority = OplogPosition.MIN;
    private final ResumePoints resumePoints = new ResumePoints();

    private final AtomicLong mongoReads = new AtomicLong();
    private final AtomicLong entriesRead = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong servedFromWindow = new AtomicLong();

    /**
     * A feed of what {@code source} reads. {@code breaker} (the node's {@code mongo_follow} breaker) is charged with the
     * entries of each read from MongoDB while it runs (a read that would pass its limit fails with a retryable
     * {@code CircuitBreakingException}, see {@link ReadCharge}) and with the window's bytes (bounded by {@code maxWindowBytes} and a quarter of the breaker's limit, charged without tripping).
     */
    public OplogFeed(Supplier<MongoClient> client, FeedSource source, long maxWindowBytes, CircuitBreaker breaker) {
        this(client, ShardedOplogReader.NONE, source, maxWindowBytes, breaker);
    }

    /** {@code shards}: the node's clients of the shards, when {@code client} is a sharded cluster's mongos. */
    public OplogFeed(Supplier<MongoClient> client, ShardedOplogReader.ShardClients shards, FeedSource source, long maxWindowBytes,
        CircuitBreaker breaker) {
        this.client = client;
        this.shards = shards;
        this.source = source;
        this.maxWindowBytes = maxWindowBytes;
        this.breaker = breaker;
    }

    /** Of a sharded cluster's shards (oplog mode), how far the feed has read each one's oplog, by shard id; else empty. */
    private volatile Map<String, OplogPosition> shardsReadTo = Map.of();

    private void learnShards(@Nullable Map<String, OplogPosition> read) {
        if (read == null) {
            return;
        }
        synchronized (this) {
            Map<String, OplogPosition> known = new java.util.TreeMap<>();
            read.forEach((shard, position) -> known.put(shard, OplogPosition.max(position, shardsReadTo.getOrDefault(shard, position))));
            shardsReadTo = java.util.Collections.unmodifiableMap(known); // the shards the newest read listed
        }
    }

    /** Of a sharded cluster's shards, how far the feed has read each one's oplog (shards named as config.shards names them). */
    public Map<String, OplogPosition> shardsReadTo() {
        return shardsReadTo;
    }

    /**
     * The newest resume point of the source's own (a change stream's token) at or before {@code position}, which a shard
     * task stores with its checkpoint; null for the oplog, or when none is known.
     */
    @Nullable
    public ResumePoint resumePoint(OplogPosition position) {
        return resumePoints.atOrBefore(position);
    }

    /** A resume point stored with a shard task's checkpoint: the task's first reads may resume after it. */
    public void learn(@Nullable ResumePoint point) {
        resumePoints.learn(point);
    }

    /** A shard task of a follow of {@code namespace} ({@code database.collection}) starts reading through the feed. */
    public synchronized void subscribe(String namespace) {
        subscribers.merge(namespace, 1, Integer::sum);
    }

    /** Returns whether nothing reads through the feed any more. */
    public synchronized boolean unsubscribe(String namespace) {
        subscribers.computeIfPresent(namespace, (ns, count) -> count == 1 ? null : count - 1);
        if (subscribers.isEmpty()) {
            dropWindow();
        }
        return subscribers.isEmpty();
    }

    /**
     * Reads {@code namespace}'s part of {@code (from, to]} ({@code to == null}: a tailing read that waits up to
     * {@code pollMillis} at the head), at most {@code maxOperations} entries and about {@code maxBytes}, with
     * {@link OplogReader}'s semantics.
     * <p>
     * When another read already brings what this one needs (most often: every idle shard task of the node waits at the
     * head of the oplog, and one tailing read waits for all of them), this read does not wait for it on its thread: it
     * returns null at once, and {@code park} runs (on the thread that finishes the other read) once that read is done,
     * to call this again. So the node's waiting shard tasks hold no threads: one per read from MongoDB.
     * <p>
     * An {@code essential} read (the one a shard task's whole buffer waits for) that reads from MongoDB brings its first
     * entry however full the breaker is.
     */
    @Nullable
    public Read read(
        String namespace,
        OplogPosition from,
        @Nullable OplogPosition to,
        int maxOperations,
        long maxBytes,
        long pollMillis,
        boolean essential,
        BooleanSupplier abandon,
        Runnable park
    ) {
        long start = from.key();
        while (true) {
            InFlight mine;
            InFlight waitFor = null;
            Segment segment;
            synchronized (this) {
                segment = covering(start, namespace);
                mine = null;
                if (segment == null) {
                    waitFor = inFlightCovering(start, namespace);
                    if (waitFor == null) {
                        mine = plan(start, to == null ? null : to.key(), namespace, pollMillis);
                        inFlight.add(mine);
                    }
                }
            }
            if (segment != null) {
                servedFromWindow.incrementAndGet();
                return serve(segment, namespace, start, to, maxOperations, maxBytes, false);
            }
            if (waitFor != null) {
                if (waitFor.whenDone(park)) {
                    return null;
                }
                continue; // it is done already
            }
            return readFromMongo(mine, namespace, from, to, maxOperations, maxBytes, pollMillis, essential, abandon);
        }
    }

    private Read readFromMongo(
        InFlight mine,
        String namespace,
        OplogPosition from,
        @Nullable OplogPosition to,
        int maxOperations,
        long maxBytes,
        long pollMillis,
        boolean essential,
        BooleanSupplier abandon
    ) {
        Segment segment;
        OplogReader.Batch batch;
        try {
            HistoryReader reader = source.reader(client.get(), shards, mine.namespaces, breaker, essential)
                .resumingAfter(resumePoints.forReadFrom(from));
            batch = mine.to == null
                ? reader.tail(from, maxOperations, maxBytes, pollMillis, abandon)
                : reader.readRange(from, new OplogPosition(mine.to), maxOperations, maxBytes);
            // after the read: the oplog only loses its oldest entries, so if it still holds `from` now, it held every entry
            // after `from` while they were read (a find past the oldest entry does not fail by itself); only then is the
            // read complete, and only a complete read is stored for other readers
            if (from.equals(OplogPosition.MIN) == false) {
                OplogPosition oldest = reader.oldestPosition();
                if (oldest != null && from.compareTo(oldest) < 0) {
                    throw new HistoryLostException(from, oldest);
                }
            }
            resumePoints.learn(batch.resumeAfter());
            learnShards(batch.shardsReadTo());
            OplogPosition batchMajority = batch.majorityCommitPoint();
            mongoReads.incrementAndGet();
            entriesRead.addAndGet(batch.entries().size());
            bytesRead.addAndGet(batch.bytes());
            segment = segment(source, from.key(), batch, mine.namespaces);
            synchronized (this) {
                majority = OplogPosition.max(majority, batchMajority);
                if (segment.to > segment.from && subscribers.isEmpty() == false) {
                    store(segment); // (a read that ends after the last subscriber left stores nothing: the feed is gone)
                }
            }
        } catch (CircuitBreakingException e) {
            // not even one entry fits the node's memory budget: under memory pressure the shared window goes first (its
            // entries are read again from MongoDB when needed), then the read is retried
            synchronized (this) {
                dropWindow();
            }
            throw e;
        } finally {
            synchronized (this) {
                inFlight.remove(mine);
            }
            mine.finish();
        }
        if (segment.to <= segment.from) {
            // a tailing read that found nothing new: nothing read past `from`
            return new Read(new OplogReader.Batch(List.of(), batch.scannedTo(), batch.majorityCommitPoint(), 0), List.of(), true);
        }
        return serve(segment, namespace, from.key(), to, maxOperations, maxBytes, true);
    }

    private InFlight inFlightCovering(long position, String namespace) {
        long now = System.nanoTime();
        for (InFlight read : inFlight) {
            if (read.covers(position, namespace) && read.isStale(now) == false) {
                return read;
            }
        }
        return null;
    }

    /**
     * The read from MongoDB that {@code namespace}'s read from {@code start} needs, so that nothing is read twice: it
     * ends before the next stored segment or read in flight; where the window holds, or a read in flight brings, the
     * range from {@code start} for other namespaces, it is for the others only and ends where that coverage ends.
     */
    private InFlight plan(long start, Long to, String namespace, long pollMillis) {
        Long end = to;
        Map.Entry<Long, List<Segment>> next = window.higherEntry(start);
        if (next != null) {
            end = earlier(end, next.getKey());
        }
        Set<String> namespaces = new TreeSet<>(subscribers.keySet());
        for (List<Segment> atStart : window.headMap(start, true).values()) {
            for (Segment other : atStart) {
                if (other.covers(start)) {
                    namespaces.removeAll(other.namespaces);
                    end = earlier(end, other.to);
                }
            }
        }
        long now = System.nanoTime();
        for (InFlight other : inFlight) {
            if (other.isStale(now)) {
                continue; // presumed lost: read its range again
            }
            if (other.from > start) {
                end = earlier(end, other.from);
            } else if (other.to == null || start < other.to) {
                namespaces.removeAll(other.namespaces);
                if (other.to != null) {
                    end = earlier(end, other.to);
                }
            }
        }
        namespaces.add(namespace);
        return new InFlight(start, end, Set.copyOf(namespaces), now + TimeUnit.MILLISECONDS.toNanos(pollMillis) + STALE_READ_GRACE_NANOS);
    }

    /** The earlier of an end ({@code null}: open) and a position. */
    private static Long earlier(Long end, long position) {
        return end == null ? position : Math.min(end, position);
    }

    /**
     * A stored segment that covers {@code position} and was read with {@code namespace} in its filter (any namespace when
     * null), or null.
     */
    private Segment covering(long position, @Nullable String namespace) {
        for (List<Segment> atStart : window.headMap(position, true).descendingMap().values()) {
            for (Segment segment : atStart) {
                if (segment.covers(position) && (namespace == null || segment.namespaces.contains(namespace))) {
                    return segment;
                }
            }
        }
        return null;
    }

    private static Segment segment(FeedSource source, long from, OplogReader.Batch batch, Set<String> namespaces) {
        List<RawBsonDocument> entries = List.copyOf(batch.entries());
        long[] positions = new long[entries.size()];
        String[] entryNamespaces = new String[entries.size()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = source.position(entries.get(i));
            entryNamespaces[i] = source.namespace(entries.get(i));
        }
        return new Segment(
            from,
            batch.scannedTo().key(),
            positions,
            entryNamespaces,
            batch.entryShards() == null ? null : batch.entryShards().toArray(String[]::new),
            entries,
            batch.bytes(),
            namespaces,
            new java.util.concurrent.ConcurrentHashMap<>(),
            new java.util.concurrent.atomic.AtomicLong(),
            new java.util.concurrent.atomic.AtomicBoolean()
        );
    }

    /**
     * The window's byte limit: {@code window_size}, and at most a quarter of the breaker's limit, so that the shard
     * tasks' buffers and reads always have most of the node's memory budget (a window over it would make every buffer's
     * reservation fail while the retried reads are served from that same window).
     */
    private long windowLimit() {
        return Math.min(maxWindowBytes, breakerShare());
    }

    private long breakerShare() {
        long breakerLimit = breaker.getLimit();
        return breakerLimit > 0 ? breakerLimit / 4 : Long.MAX_VALUE;
    }

    private void dropWindow() {
        for (List<Segment> atStart : window.values()) {
            atStart.forEach(segment -> segment.inWindow.set(false));
        }
        window.clear();
        breaker.addWithoutBreaking(-windowBytes);
        windowBytes = 0;
        segments = 0;
    }

    /** Takes a segment out of the window's accounting (the caller removes it from the window). Under the lock. */
    private void leaveWindow(Segment segment) {
        segment.inWindow.set(false);
        long held = segment.heldBytes();
        windowBytes -= held;
        breaker.addWithoutBreaking(-held);
        segments--;
    }

    /**
     * Charges the decoded form of a segment's entries for a namespace, if the segment is in the window (a segment served
     * straight from a read is let go after it). Only what the decoded form holds beyond the entries counts: an operation's
     * own bytes (a copied part of an applyOps entry) and its overhead.
     */
    private void chargeDecoded(Segment segment, List<DecodedEntry> decoded) {
        long held = 0;
        for (DecodedEntry entry : decoded) {
            if (entry != null && entry.operations() != null) {
                for (org.mongofollow.operation.DocumentOperation operation : entry.operations()) {
                    held += operation.heldBeyondEntryBytes();
                }
            }
        }
        synchronized (this) {
            if (segment.inWindow.get()) {
                segment.decodedBytes.addAndGet(held);
                windowBytes += held;
                breaker.addWithoutBreaking(held);
                trimWindow();
            }
        }
    }

    private void store(Segment segment) {
        // a segment replaces those it contains, for namespaces it was read for too
        Iterator<List<Segment>> starts = window.subMap(segment.from, true, segment.to, false).values().iterator();
        while (starts.hasNext()) {
            List<Segment> atStart = starts.next();
            atStart.removeIf(old -> {
                boolean contained = old.to <= segment.to && segment.namespaces.containsAll(old.namespaces);
                if (contained) {
                    leaveWindow(old);
                }
                return contained;
            });
            if (atStart.isEmpty()) {
                starts.remove();
            }
        }
        window.computeIfAbsent(segment.from, k -> new ArrayList<>()).add(segment);
        segment.inWindow.set(true);
        windowBytes += segment.heldBytes();
        breaker.addWithoutBreaking(segment.heldBytes());
        segments++;
        trimWindow();
    }

    /** Lets the oldest segments go while the window is over its limits. Under the lock. */
    private void trimWindow() {
        long maxBytes = windowLimit();
        // one segment may stay over window_size (a read larger than the window is served to the readers waiting for it),
        // never over the breaker's share: the caller serves the segment it read either way
        while ((windowBytes > maxBytes || segments > MAX_WINDOW_SEGMENTS) && (segments > 1 || windowBytes > breakerShare())) {
            for (Segment oldest : window.pollFirstEntry().getValue()) {
                leaveWindow(oldest);
            }
        }
    }

    /** {@code namespace}'s entries of {@code segment} in {@code (start, to]}, within the read's limits, decoded. */
    private Read serve(
        Segment segment,
        String namespace,
        long start,
        @Nullable OplogPosition to,
        int maxOperations,
        long maxBytes,
        boolean fromMongo
    ) {
        // decoded once per segment and namespace: readers asking at the same time wait for the one decode
        List<DecodedEntry> decodedSegment = segment.decoded.computeIfAbsent(namespace, ns -> {
            List<DecodedEntry> fresh = decode(segment, ns);
            chargeDecoded(segment, fresh);
            return fresh;
        });
        long end = to == null ? segment.to : Math.min(to.key(), segment.to);
        int i = firstAfter(segment.positions, start);
        List<RawBsonDocument> entries = new ArrayList<>();
        List<DecodedEntry> decoded = new ArrayList<>();
        long bytes = 0;
        long scannedTo = end;
        for (; i < segment.positions.length && segment.positions[i] <= end; i++) {
            if (source.matches(segment.entryNamespaces[i], namespace) == false) {
                continue;
            }
            RawBsonDocument entry = segment.entries.get(i);
            entries.add(entry);
            decoded.add(decodedSegment.get(i));
            bytes += entry.getByteBuffer().remaining();
            // entries that share a position (a transaction's change events) are served together: a position is read whole
            boolean groupEnds = i + 1 == segment.positions.length || segment.positions[i + 1] != segment.positions[i];
            if ((entries.size() >= maxOperations || bytes >= maxBytes) && groupEnds) {
                scannedTo = segment.positions[i];
                break;
            }
        }
        OplogReader.Batch batch = new OplogReader.Batch(entries, new OplogPosition(scannedTo), OplogPosition.max(majority, new OplogPosition(segment.to)), bytes);
        return new Read(batch, java.util.Collections.unmodifiableList(decoded), fromMongo);
    }

    /** What each entry of {@code segment} means for a follow of {@code namespace}, once per segment and namespace. */
    private List<DecodedEntry> decode(Segment segment, String namespace) {
        return source.decode(segment.entries, segment.entryNamespaces, segment.entryShards, namespace, segment.namespaces, client, shards, breaker);
    }

    private static int firstAfter(long[] positions, long position) {
        int low = 0;
        int high = positions.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (positions[mid] <= position) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }


    public synchronized Stats stats() {
        return new Stats(mongoReads.get(), entriesRead.get(), bytesRead.get(), servedFromWindow.get(), windowBytes, segments);
    }
}

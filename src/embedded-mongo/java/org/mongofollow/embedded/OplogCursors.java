package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DefaultQueryMatcher;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * {@code find} and {@code getMore} on {@code local.oplog.rs} as a replica set serves them: a {@code ts}
 * range in the filter is turned into a seek in the {@link OplogStore} (O(log n + k)), other conditions are
 * evaluated with the library's own query matcher, tailable cursors stay open at the end of the oplog, and
 * an await-data {@code getMore} waits up to {@code maxTimeMS} for new entries (it is run off the event loop,
 * see {@link WireServer}). A cursor whose position fell off the capped oplog fails with
 * {@code CappedPositionLost} (136).
 */
final class OplogCursors {

    static final String NAMESPACE = "local.oplog.rs";
    private static final int DEFAULT_FIRST_BATCH = 101;
    private static final int MAX_BATCH_BYTES = 16 * 1024 * 1024;
    private static final long DEFAULT_AWAIT_MILLIS = 1000;
    private static final long IDLE_CURSOR_TIMEOUT_MILLIS = 10 * 60 * 1000;

    private final OplogStore store;
    private final CursorRegistry ids;
    private final Map<Long, OplogCursor> cursors = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong examined = new java.util.concurrent.atomic.AtomicLong();

    private final LongSupplier majorityCommitPoint;

    /** {@code majorityCommitPoint}: the ts (unsigned) that reads with readConcern "majority" may not pass. */
    OplogCursors(OplogStore store, CursorRegistry ids, LongSupplier majorityCommitPoint) {
        this.store = store;
        this.ids = ids;
        this.majorityCommitPoint = majorityCommitPoint;
    }

    /** How many oplog entries reads have looked at so far (tests check that range reads seek, not scan). */
    long entriesExamined() {
        return examined.get();
    }

    boolean owns(long cursorId) {
        return cursors.containsKey(cursorId);
    }

    private static final class OplogCursor {
        final long id;
        final Document filter;
        final Long upper; // inclusive upper bound on ts, unsigned
        Long lower; // exclusive lower bound on ts (descending scans stop there)
        final boolean descending;
        final boolean tailable;
        final boolean awaitData;
        boolean majorityOnly; // readConcern "majority": nothing past the majority commit point
        final Document projection;
        final DefaultQueryMatcher matcher = new DefaultQueryMatcher();
        Long position; // ts of the last examined entry; null before the first
        long remaining; // documents still allowed by limit (Long.MAX_VALUE when none)
        int toSkip;
        volatile boolean killed;
        volatile long lastUsed = System.currentTimeMillis();
        int member; // the replica set member the cursor was opened on
        LongSupplier visible; // the newest ts that member has (null: the primary of a one-member set, everything)

        OplogCursor(long id, Document filter, Long upper, boolean descending, boolean tailable, boolean awaitData,
                    Document projection) {
            this.id = id;
            this.filter = filter;
            this.upper = upper;
            this.descending = descending;
            this.tailable = tailable;
            this.awaitData = awaitData;
            this.projection = projection;
        }
    }

    // ---------------------------------------------------------------- find

    Document find(Document command) {
        return find(command, 0, null);
    }

    /** {@code find} on {@code member}, whose oplog ends at {@code visible} (null: at the newest entry). */
    Document find(Document command, int member, LongSupplier visible) {
        Document filter = command.get("filter") instanceof Document ? (Document) command.get("filter") : new Document();
        boolean descending = isDescending(command.get("sort"));
        boolean tailable = Boolean.TRUE.equals(command.get("tailable"));
        boolean awaitData = tailable && Boolean.TRUE.equals(command.get("awaitData"));
        if (descending && tailable) {
            throw new MongoServerError(2, "BadValue", "cannot use tailable option with a descending sort");
        }
        long limit = command.get("limit") instanceof Number ? ((Number) command.get("limit")).longValue() : 0;
        boolean singleBatch = Boolean.TRUE.equals(command.get("singleBatch")) || limit < 0;
        limit = Math.abs(limit);
        int batchSize = command.get("batchSize") instanceof Number
            ? ((Number) command.get("batchSize")).intValue() : DEFAULT_FIRST_BATCH;
        int skip = command.get("skip") instanceof Number ? ((Number) command.get("skip")).intValue() : 0;

        Bounds bounds = Bounds.of(filter);
        OplogCursor cursor = new OplogCursor(ids.generateCursorId(), residualFilter(filter), bounds.upperInclusive, descending,
            tailable, awaitData, (Document) command.get("projection"));
        cursor.remaining = limit == 0 ? Long.MAX_VALUE : limit;
        cursor.member = member;
        cursor.visible = visible;
        cursor.majorityOnly = command.get("readConcern") instanceof Document
            && "majority".equals(((Document) command.get("readConcern")).get("level"));
        cursor.toSkip = skip;
        if (descending) {
            // position is exclusive from above: one past the inclusive upper bound
            cursor.position = bounds.upperInclusive == null || bounds.upperInclusive == -1L
                ? null : bounds.upperInclusive + 1;
            cursor.lower = bounds.lowerExclusive;
        } else {
            cursor.position = bounds.lowerExclusive;
            Long evicted = store.lastEvicted();
            if (evicted != null && (cursor.position == null || Long.compareUnsigned(evicted, cursor.position) > 0)) {
                cursor.position = evicted; // a reader starting before the oldest entry starts at the oldest
            }
        }
        List<Document> batch = fill(cursor, batchSize <= 0 ? DEFAULT_FIRST_BATCH : batchSize);
        long id = keepOpen(cursor, batch, singleBatch) ? cursor.id : 0L;
        if (id != 0) {
            cursors.put(id, cursor);
        }
        return response("firstBatch", batch, id);
    }

    private boolean keepOpen(OplogCursor cursor, List<Document> batch, boolean singleBatch) {
        if (singleBatch || cursor.remaining == 0 || cursor.killed) {
            return false;
        }
        if (cursor.tailable) {
            return true;
        }
        return hasMore(cursor);
    }

    private boolean hasMore(OplogCursor cursor) {
        return !range(cursor).isEmpty();
    }

    private static boolean isDescending(Object sort) {
        if (!(sort instanceof Document) || ((Document) sort).isEmpty()) {
            return false;
        }
        Document s = (Document) sort;
        if (s.size() != 1 || !(s.containsKey("$natural") || s.containsKey("ts"))) {
            throw new MongoServerError(2, "BadValue", "local.oplog.rs can only be sorted by ts or $natural, got " + s);
        }
        Object direction = s.values().iterator().next();
        return direction instanceof Number && ((Number) direction).intValue() < 0;
    }

    /** Counts what {@code find} would return (skip and limit honoured), without keeping a cursor. */
    long count(Document findCommand) {
        Document command = new Document(findCommand);
        command.put("batchSize", Integer.MAX_VALUE);
        command.put("singleBatch", true);
        command.remove("projection");
        Document response = find(command);
        return ((List<?>) ((Document) response.get("cursor")).get("firstBatch")).size();
    }

    // ---------------------------------------------------------------- getMore

    /** Serves a getMore; may block up to maxTimeMS for an await-data cursor (call it off the event loop). */
    Document getMore(Document command) {
        long id = ((Number) command.get("getMore")).longValue();
        OplogCursor cursor = cursors.get(id);
        if (cursor == null) {
            throw new MongoServerError(43, "CursorNotFound", "cursor id " + id + " not found");
        }
        synchronized (cursor) {
            cursor.lastUsed = System.currentTimeMillis();
            int batchSize = command.get("batchSize") instanceof Number
                ? ((Number) command.get("batchSize")).intValue() : Integer.MAX_VALUE;
            if (batchSize <= 0) {
                batchSize = Integer.MAX_VALUE;
            }
            checkPosition(cursor);
            // the newest entry before a fill: an await only needs to wake for entries appended after it, since
            // entries up to it that the fill did not return cannot be returned (bounds, filter, majority)
            long seen = newestKey(cursor.position == null ? 0L : cursor.position);
            List<Document> batch = fill(cursor, batchSize);
            if (batch.isEmpty() && cursor.awaitData) {
                long awaitMillis = command.get("maxTimeMS") instanceof Number
                    ? ((Number) command.get("maxTimeMS")).longValue() : DEFAULT_AWAIT_MILLIS;
                long deadline = System.nanoTime() + awaitMillis * 1_000_000L;
                while (batch.isEmpty() && !cursor.killed && System.nanoTime() < deadline) {
                    try {
                        if (!store.awaitNewerThan(seen, deadline)) {
                            break;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    checkPosition(cursor);
                    seen = newestKey(cursor.position == null ? 0L : cursor.position);
                    batch = fill(cursor, batchSize);
                }
            }
            if (cursor.killed) {
                throw new MongoServerError(237, "CursorKilled", "cursor id " + id + " was killed");
            }
            cursor.lastUsed = System.currentTimeMillis();
            boolean open = keepOpen(cursor, batch, false);
            if (!open) {
                cursors.remove(id);
            }
            return response("nextBatch", batch, open ? id : 0L);
        }
    }

    private long newestKey(long atLeast) {
        de.bwaldvogel.mongo.bson.BsonTimestamp newest = store.newestTs();
        return newest != null && Long.compareUnsigned(newest.getValue(), atLeast) > 0 ? newest.getValue() : atLeast;
    }

    private void checkPosition(OplogCursor cursor) {
        Long evicted = store.lastEvicted();
        if (!cursor.descending && evicted != null
            && (cursor.position == null || Long.compareUnsigned(evicted, cursor.position) > 0)) {
            cursors.remove(cursor.id);
            cursor.killed = true;
            throw new MongoServerError(136, "CappedPositionLost",
                "CollectionScan died due to position in capped collection being deleted. Last seen record id: "
                    + (cursor.position == null ? "none" : new BsonTimestamp(cursor.position)));
        }
    }

    /** Kills the cursors this class owns; returns the ids it did not know. */
    List<Long> kill(List<Long> cursorIds, List<Long> killed) {
        List<Long> unknown = new ArrayList<>();
        for (Long id : cursorIds) {
            OplogCursor cursor = cursors.remove(id);
            if (cursor != null) {
                cursor.killed = true;
                killed.add(id);
            } else {
                unknown.add(id);
            }
        }
        return unknown;
    }

    void expireIdleCursors() {
        long now = System.currentTimeMillis();
        cursors.values().removeIf(c -> now - c.lastUsed > IDLE_CURSOR_TIMEOUT_MILLIS);
    }

    /** Kills the cursors opened on {@code member} (it rolls back). */
    void killMember(int member) {
        cursors.values().removeIf(c -> {
            if (c.member == member) {
                c.killed = true;
                return true;
            }
            return false;
        });
    }

    void killAll() {
        cursors.values().forEach(c -> c.killed = true);
        cursors.clear();
    }

    // ---------------------------------------------------------------- scanning

    /** The entries a cursor may still return, in its order (bounds combined once: sub-maps of sub-maps may throw). */
    private NavigableMap<Long, Document> range(OplogCursor cursor) {
        Bound majority = cursor.majorityOnly ? new Bound(majorityCommitPoint.getAsLong(), true) : null;
        if (cursor.visible != null) {
            majority = Bound.lowest(majority, new Bound(cursor.visible.getAsLong(), true));
        }
        if (cursor.descending) {
            Bound below = cursor.position == null ? null : new Bound(cursor.position, false);
            Bound lower = cursor.lower == null ? null : new Bound(cursor.lower, false);
            return slice(lower, Bound.lowest(below, majority)).descendingMap();
        }
        Bound after = cursor.position == null ? null : new Bound(cursor.position, false);
        Bound upper = cursor.upper == null ? null : new Bound(cursor.upper, true);
        return slice(after, Bound.lowest(upper, majority));
    }

    /** A ts bound (unsigned key) and whether the key itself is in. */
    private record Bound(long key, boolean inclusive) {
        static Bound lowest(Bound a, Bound b) {
            if (a == null || b == null) {
                return a == null ? b : a;
            }
            int c = Long.compareUnsigned(a.key, b.key);
            return c < 0 || (c == 0 && !a.inclusive) ? a : b;
        }
    }

    private NavigableMap<Long, Document> slice(Bound lo, Bound hi) {
        NavigableMap<Long, Document> all = store.all();
        if (lo != null && hi != null) {
            int c = Long.compareUnsigned(lo.key, hi.key);
            if (c > 0 || (c == 0 && !(lo.inclusive && hi.inclusive))) {
                return java.util.Collections.emptyNavigableMap();
            }
            return all.subMap(lo.key, lo.inclusive, hi.key, hi.inclusive);
        }
        if (lo != null) {
            return all.tailMap(lo.key, lo.inclusive);
        }
        if (hi != null) {
            return all.headMap(hi.key, hi.inclusive);
        }
        return all;
    }

    private List<Document> fill(OplogCursor cursor, int batchSize) {
        List<Document> batch = new ArrayList<>();
        if (cursor.remaining == 0) {
            return batch;
        }
        NavigableMap<Long, Document> range = range(cursor);
        long bytes = 0;
        Iterator<Map.Entry<Long, Document>> it = range.entrySet().iterator();
        while (it.hasNext() && batch.size() < batchSize && cursor.remaining > 0) {
            Map.Entry<Long, Document> e = it.next();
            examined.incrementAndGet();
            cursor.position = e.getKey();
            Document entry = e.getValue();
            if (!cursor.filter.isEmpty() && !cursor.matcher.matches(entry, cursor.filter)) {
                continue;
            }
            if (cursor.toSkip > 0) {
                cursor.toSkip--;
                continue;
            }
            Document out = project(entry, cursor.projection);
            if (batch.size() % 16 == 0) {
                bytes += 16L * BsonValues.documentSize(out); // sampled: the cap only has to keep replies well under 48 MB
            }
            batch.add(out);
            if (cursor.remaining != Long.MAX_VALUE) {
                cursor.remaining--;
            }
            if (bytes > MAX_BATCH_BYTES) {
                break;
            }
        }
        return batch;
    }

    /**
     * The filter without a top-level {@code ts} condition that the seek bounds already enforce exactly
     * (Timestamp comparisons only), so plain range reads need no per-entry matching.
     */
    private static Document residualFilter(Document filter) {
        Object ts = filter.get("ts");
        boolean exact = ts instanceof BsonTimestamp;
        if (ts instanceof Document && !((Document) ts).isEmpty()) {
            exact = true;
            for (Map.Entry<String, Object> op : ((Document) ts).entrySet()) {
                if (!(op.getValue() instanceof BsonTimestamp) || !Set.of("$gt", "$gte", "$lt", "$lte", "$eq").contains(op.getKey())) {
                    exact = false;
                }
            }
        }
        if (!exact) {
            return filter;
        }
        Document residual = new Document(filter);
        residual.remove("ts");
        return residual;
    }

    private static Document project(Document entry, Document projection) {
        if (projection == null || projection.isEmpty()) {
            return entry;
        }
        boolean inclusion = false;
        for (Map.Entry<String, Object> p : projection.entrySet()) {
            if (!p.getKey().equals("_id") && isTrue(p.getValue())) {
                inclusion = true;
            }
        }
        Document out = new Document();
        for (Map.Entry<String, Object> field : entry.entrySet()) {
            Object spec = projection.get(field.getKey());
            boolean keep = inclusion ? spec != null && isTrue(spec) : spec == null || isTrue(spec);
            if (keep) {
                out.put(field.getKey(), field.getValue());
            }
        }
        return out;
    }

    private static boolean isTrue(Object value) {
        return value instanceof Boolean ? (Boolean) value : value instanceof Number && ((Number) value).doubleValue() != 0;
    }

    private static Document response(String batchName, List<Document> batch, long id) {
        Document cursor = new Document(batchName, batch).append("id", id).append("ns", NAMESPACE);
        return new Document("cursor", cursor).append("ok", 1.0);
    }

    // ---------------------------------------------------------------- ts bounds of a filter

    /** The ts range a filter allows, as exclusive lower / inclusive upper unsigned keys (null = open). */
    static final class Bounds {
        Long lowerExclusive;
        Long upperInclusive;

        static Bounds of(Document filter) {
            Bounds b = new Bounds();
            b.add(filter.get("ts"));
            Object and = filter.get("$and");
            if (and instanceof List) {
                for (Object clause : (List<?>) and) {
                    if (clause instanceof Document) {
                        b.add(((Document) clause).get("ts"));
                    }
                }
            }
            return b;
        }

        private void add(Object condition) {
            if (condition instanceof BsonTimestamp) {
                lower(((BsonTimestamp) condition).getValue(), true);
                upper(((BsonTimestamp) condition).getValue(), true);
            } else if (condition instanceof Document) {
                for (Map.Entry<String, Object> op : ((Document) condition).entrySet()) {
                    if (!(op.getValue() instanceof BsonTimestamp)) {
                        continue;
                    }
                    long v = ((BsonTimestamp) op.getValue()).getValue();
                    switch (op.getKey()) {
                        case "$gt" -> lower(v, false);
                        case "$gte" -> lower(v, true);
                        case "$lt" -> upper(v, false);
                        case "$lte" -> upper(v, true);
                        case "$eq" -> {
                            lower(v, true);
                            upper(v, true);
                        }
                        default -> {
                        }
                    }
                }
            }
        }

        private void lower(long v, boolean inclusive) {
            Long exclusive;
            if (inclusive) {
                if (v == 0) {
                    return; // $gte Timestamp(0,0): everything
                }
                exclusive = v - 1;
            } else {
                exclusive = v;
            }
            if (lowerExclusive == null || Long.compareUnsigned(exclusive, lowerExclusive) > 0) {
                lowerExclusive = exclusive;
            }
        }

        private void upper(long v, boolean inclusive) {
            Long inclusiveBound;
            if (inclusive) {
                inclusiveBound = v;
            } else {
                if (v == 0) {
                    inclusiveBound = 0L; // $lt Timestamp(0,0): nothing real; ts 0 never exists
                } else {
                    inclusiveBound = v - 1;
                }
            }
            if (upperInclusive == null || Long.compareUnsigned(inclusiveBound, upperInclusive) < 0) {
                upperInclusive = inclusiveBound;
            }
        }
    }
}

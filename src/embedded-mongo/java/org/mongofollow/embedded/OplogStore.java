package org.mongofollow.embedded;

import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;

/**
 * The replica set's {@code local.oplog.rs}: entries keyed by {@code ts} (as the unsigned 64-bit value of
 * the timestamp) in a skip list, so a range read costs O(log n + k). Capped like the real oplog by a
 * number of entries and/or a number of bytes: the oldest entries fall off, and {@link #lastEvicted()}
 * tells readers whether their position is gone. Readers may wait for new entries with
 * {@link #awaitNewerThan}.
 */
public final class OplogStore {

    private final ConcurrentSkipListMap<Long, Document> entries = new ConcurrentSkipListMap<>(Long::compareUnsigned);
    private final ConcurrentSkipListMap<Long, Integer> sizes = new ConcurrentSkipListMap<>(Long::compareUnsigned);
    private final long maxEntries;
    private final long maxBytes;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private volatile long lastEvicted = 0;
    private volatile boolean anyEvicted = false;

    private final ReentrantLock signalLock = new ReentrantLock();
    private final Condition appended = signalLock.newCondition();

    OplogStore(long maxEntries, long maxBytes) {
        this.maxEntries = maxEntries <= 0 ? Long.MAX_VALUE : maxEntries;
        this.maxBytes = maxBytes <= 0 ? Long.MAX_VALUE : maxBytes;
    }

    /** Adds an entry (its {@code ts} must be a {@link BsonTimestamp}); replaces an entry with the same ts. */
    void append(Document entry) {
        Object ts = entry.get("ts");
        if (!(ts instanceof BsonTimestamp)) {
            throw new IllegalArgumentException("oplog entry without a Timestamp ts: " + entry);
        }
        long key = ((BsonTimestamp) ts).getValue();
        Document previous = entries.put(key, entry);
        if (previous == null) {
            count.incrementAndGet();
        }
        if (maxBytes != Long.MAX_VALUE) {
            int size = BsonValues.documentSize(entry);
            Integer previousSize = sizes.put(key, size);
            bytes.addAndGet(size - (previousSize == null ? 0 : previousSize));
        }
        evict();
        signalLock.lock();
        try {
            appended.signalAll();
        } finally {
            signalLock.unlock();
        }
    }

    private void evict() {
        while (count.get() > maxEntries || bytes.get() > maxBytes) {
            Map.Entry<Long, Document> first = entries.pollFirstEntry();
            if (first == null) {
                return;
            }
            count.decrementAndGet();
            Integer size = sizes.remove(first.getKey());
            if (size != null) {
                bytes.addAndGet(-size);
            }
            lastEvicted = first.getKey();
            anyEvicted = true;
        }
    }

    /** Removes every entry (raw mode: a client resetting the oplog). */
    void clear() {
        entries.clear();
        sizes.clear();
        count.set(0);
        bytes.set(0);
        anyEvicted = false; // a fresh oplog: nothing has fallen off it
        lastEvicted = 0;
    }

    /** Removes the entries after {@code ts} (a rollback). */
    void truncateAfter(long ts) {
        NavigableMap<Long, Document> tail = entries.tailMap(ts, false);
        for (Long key : tail.keySet()) {
            if (entries.remove(key) != null) {
                count.decrementAndGet();
            }
            Integer size = sizes.remove(key);
            if (size != null) {
                bytes.addAndGet(-size);
            }
        }
    }

    /** Entries with {@code ts} strictly after {@code afterTs} (unsigned), in ts order. */
    NavigableMap<Long, Document> after(long afterTs, boolean inclusive) {
        return entries.tailMap(afterTs, inclusive);
    }

    NavigableMap<Long, Document> all() {
        return entries;
    }

    /** The ts of the newest evicted entry, or null when nothing fell off yet. */
    Long lastEvicted() {
        return anyEvicted ? lastEvicted : null;
    }

    BsonTimestamp newestTs() {
        Map.Entry<Long, Document> last = entries.lastEntry();
        return last == null ? null : new BsonTimestamp(last.getKey());
    }

    Document newest() {
        Map.Entry<Long, Document> last = entries.lastEntry();
        return last == null ? null : last.getValue();
    }

    public long size() {
        return count.get();
    }

    /**
     * Waits until an entry newer than {@code afterTs} exists or {@code deadlineNanos} (System.nanoTime) passes.
     * Returns whether such an entry exists.
     */
    boolean awaitNewerThan(long afterTs, long deadlineNanos) throws InterruptedException {
        signalLock.lock();
        try {
            while (true) {
                Long last = entries.isEmpty() ? null : entries.lastKey();
                if (last != null && Long.compareUnsigned(last, afterTs) > 0) {
                    return true;
                }
                long remaining = deadlineNanos - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                appended.await(remaining, TimeUnit.NANOSECONDS);
            }
        } finally {
            signalLock.unlock();
        }
    }
}

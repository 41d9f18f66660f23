package org.mongofollow.source;

import org.elasticsearch.core.Nullable;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The shards of a sharded cluster that a node's feed has read, kept across its reads. A shard that {@code config.shards}
 * no longer lists was removed ({@code removeShard}, after its chunks were migrated away): its oplog may still hold changes
 * a follow has not read yet (those made before its chunks moved), so it stays in every read from a position before its
 * own majority commit point when its removal was noticed (after everything it held as a shard), at the hosts it had.
 * Reads from later positions leave it out. A removed shard that cannot be reached delays the reads that need it, as any
 * shard does.
 * <p>
 * A feed that starts (a node's restart, a task's move, a resume) has not seen the shards removed before it: those removed
 * after a read's start ({@code config.changelog}) are history this node cannot read ({@link #removedUnseen}). Thread-safe.
 */
public final class ShardRoster {

    /** A shard's removal as {@code config.changelog} records it: the shard's id and the wall-clock time, in milliseconds. */
    public record Removal(String shard, long timeMillis) {}

    private final Map<String, ShardedOplogReader.Shard> seen = new LinkedHashMap<>();
    /** Removed shards, with the position to read them to (null until the read that noticed the removal ends). */
    private final Map<String, OplogPosition> retired = new HashMap<>();
    /** The earliest position whose removals have been checked, or null before the first check. */
    @Nullable
    private OplogPosition checkedFrom;

    /**
     * The shards to read: those {@code config.shards} lists now, and the removed ones (see {@link #readsNothingAfter}).
     * {@code onRemoved} is told of each shard that is newly found removed (it may refuse to go on).
     */
    synchronized List<ShardedOplogReader.Shard> toRead(List<ShardedOplogReader.Shard> listed, Consumer<ShardedOplogReader.Shard> onRemoved) {
        Map<String, ShardedOplogReader.Shard> now = new LinkedHashMap<>();
        listed.forEach(shard -> now.put(shard.id(), shard));
        for (ShardedOplogReader.Shard shard : seen.values()) {
            if (now.containsKey(shard.id()) == false && retired.containsKey(shard.id()) == false) {
                onRemoved.accept(shard);
                retired.put(shard.id(), null);
            }
        }
        retired.keySet().removeIf(now::containsKey); // listed again (added back under its name)
        seen.putAll(now);
        List<ShardedOplogReader.Shard> read = new ArrayList<>(listed);
        for (String id : retired.keySet()) {
            read.add(seen.get(id));
        }
        return read;
    }

    /**
     * After a read, with each shard's majority commit point then. A removed shard is read to its own majority commit point
     * at the first read after its removal was noticed: every change it made as a shard of the cluster (before its chunks
     * moved away) was majority-committed before it could be removed, so none is after that point; a position from the
     * other shards would not do (a lagging follow reads them in batches, well before the removal).
     */
    synchronized void afterRead(Map<String, OplogPosition> majorities) {
        for (Map.Entry<String, OplogPosition> shard : retired.entrySet()) {
            if (shard.getValue() == null && majorities.get(shard.getKey()) != null) {
                shard.setValue(majorities.get(shard.getKey()));
            }
        }
    }

    /** Whether {@code shard} was removed and holds nothing a read from {@code from} needs. */
    synchronized boolean readsNothingAfter(String shard, OplogPosition from) {
        OplogPosition end = retired.get(shard);
        return end != null && end.compareTo(from) <= 0;
    }

    /**
     * Of the shards removed from the cluster at or after {@code fromMillis} (a read's start, in wall-clock milliseconds), one
     * this roster has not seen, or null. A read from there needs what that shard held before it left, and this node, which
     * did not see it, no longer knows its hosts. {@code removals} is asked for reads from before the last check, and again
     * every {@link #RECHECK_NANOS}.
     */
    @Nullable
    Removal removedUnseen(OplogPosition from, long fromMillis, java.util.function.LongFunction<List<Removal>> removals) {
        Set<String> known;
        long now = System.nanoTime();
        synchronized (this) {
            if (checkedFrom != null && checkedFrom.compareTo(from) <= 0 && now - checkedAtNanos < RECHECK_NANOS) {
                return null;
            }
            known = Set.copyOf(seen.keySet());
        }
        // (asked without the lock: a slow mongos must not hold up the feed's other reads)
        for (Removal removal : removals.apply(fromMillis)) {
            if (known.contains(removal.shard()) == false) {
                return removal;
            }
        }
        synchronized (this) {
            checkedFrom = from;
            checkedAtNanos = now;
        }
        return null;
    }

    /**
     * How long a check stands for the reads after it: a shard can be added, given chunks, drained and removed between two
     * reads (a feed held back for long), unseen by both, so the check is made again at least this often.
     */
    static final long RECHECK_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private long checkedAtNanos;

    private volatile boolean changelogUnreadable;

    /** Whether the follow's user may not read {@code config.changelog} (removals before this node's reads cannot be told). */
    boolean changelogUnreadable() {
        return changelogUnreadable;
    }

    void changelogUnreadable(boolean unreadable) {
        changelogUnreadable = unreadable;
    }

    /** The removed shards, by id, with the position they are read to (null: not known yet). */
    synchronized Map<String, OplogPosition> retired() {
        return new HashMap<>(retired);
    }
}

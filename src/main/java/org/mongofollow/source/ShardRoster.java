package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shards of a sharded cluster that a node's feed has read, kept across its reads. A shard that {@code config.shards}
 * no longer lists was removed ({@code removeShard}, after its chunks were migrated away): its oplog may still hold changes
 * the follow has not read yet (those made before its chunks moved), so it is read on, at the hosts it had, until the
 * merged position passes its own majority commit point when its removal was noticed (after everything it held as a
 * shard); then it is let go. A removed shard that cannot be reached delays the
 * follow, as any shard does. Thread-safe.
 */
public final class ShardRoster {

    private final Map<String, ShardedOplogReader.Shard> seen = new LinkedHashMap<>();
    /** Removed shards still read, with the position to read them to (null until the read that noticed the removal ends). */
    private final Map<String, OplogPosition> retired = new HashMap<>();

    /**
     * The shards to read: those {@code config.shards} lists now, and the removed ones not yet read far enough.
     * {@code onRemoved} is told of each shard that is newly found removed (it may refuse to go on).
     */
    synchronized List<ShardedOplogReader.Shard> toRead(List<ShardedOplogReader.Shard> listed, java.util.function.Consumer<ShardedOplogReader.Shard> onRemoved) {
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
     * After a read that merged every shard up to {@code mergedTo}, with each shard's majority commit point then. A removed
     * shard is read to its own majority commit point at the first read after its removal was noticed: every change it made
     * as a shard of the cluster (before its chunks moved away) was majority-committed before it could be removed, so none
     * is after that point; a position from the other shards would not do (a lagging follow reads them in batches, well
     * before the removal).
     */
    synchronized void afterRead(OplogPosition mergedTo, Map<String, OplogPosition> majorities) {
        for (Map.Entry<String, OplogPosition> shard : retired.entrySet()) {
            if (shard.getValue() == null && majorities.get(shard.getKey()) != null) {
                shard.setValue(majorities.get(shard.getKey()));
            }
        }
        retired.entrySet().removeIf(shard -> {
            if (shard.getValue() != null && mergedTo.compareTo(shard.getValue()) >= 0) {
                seen.remove(shard.getKey());
                return true;
            }
            return false;
        });
    }

    /** The removed shards still read, by id, with the position they are read to (null: not known yet). */
    synchronized Map<String, OplogPosition> retired() {
        return new HashMap<>(retired);
    }
}

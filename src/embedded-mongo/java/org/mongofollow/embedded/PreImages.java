package org.mongofollow.embedded;

import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

import de.bwaldvogel.mongo.bson.Document;

/**
 * Change stream pre- and post-images (MongoDB 6.0+): the collections that record them
 * ({@code changeStreamPreAndPostImages: {enabled: true}} in {@code create} or {@code collMod}), and, for each update,
 * replacement and delete of those collections, the document before it and (for an update) after it, keyed as mongod keys
 * {@code config.system.preimages}: the collection's UUID, the {@code ts} of the oplog entry that holds the operation and
 * the operation's index in that entry's {@code applyOps} (0 outside a transaction). mongod computes an update's
 * post-image by applying the entry to the pre-image; this server keeps the document it wrote, which is the same document.
 * An image is kept while the oplog holds its entry ({@link #expireThrough}), as mongod removes pre-images older than the
 * oplog's oldest entry. Only writes made while the option is on have images, as on mongod.
 */
final class PreImages {

    /** The images of one operation; {@code after} is null for a delete (and for a replacement, whose event carries it). */
    record Images(Document before, Document after) {}

    private record Key(long ts, UUID collection, int applyOpsIndex) implements Comparable<Key> {
        @Override
        public int compareTo(Key other) {
            int byTs = Long.compareUnsigned(ts, other.ts);
            if (byTs != 0) {
                return byTs;
            }
            int byCollection = collection.compareTo(other.collection);
            return byCollection != 0 ? byCollection : Integer.compare(applyOpsIndex, other.applyOpsIndex);
        }
    }

    private final Set<UUID> enabled = ConcurrentHashMap.newKeySet();
    private final ConcurrentSkipListMap<Key, Images> images = new ConcurrentSkipListMap<>();

    /** Sets the collection's {@code changeStreamPreAndPostImages} option. */
    void setEnabled(UUID collection, boolean on) {
        if (on) {
            enabled.add(collection);
        } else {
            enabled.remove(collection);
        }
    }

    boolean isEnabled(UUID collection) {
        return collection != null && enabled.contains(collection);
    }

    void record(long ts, UUID collection, int applyOpsIndex, Images operationImages) {
        images.put(new Key(ts, collection, applyOpsIndex), operationImages);
    }

    /** The images of an operation, or null when none were recorded (or they expired with the oplog). */
    Images get(long ts, UUID collection, int applyOpsIndex) {
        return collection == null ? null : images.get(new Key(ts, collection, applyOpsIndex));
    }

    /** The oplog no longer holds entries up to {@code ts}: their images go too. */
    void expireThrough(long ts) {
        for (Map.Entry<Key, Images> entry : images.entrySet()) {
            if (Long.compareUnsigned(entry.getKey().ts(), ts) > 0) {
                break;
            }
            images.remove(entry.getKey());
        }
    }

    /** The collection is dropped: its option and images go. */
    void dropped(UUID collection) {
        enabled.remove(collection);
        images.keySet().removeIf(key -> key.collection().equals(collection));
    }
}

package org.mongofollow.operation;

import org.elasticsearch.core.Nullable;

import java.util.Comparator;

/**
 * One document operation decoded from the oplog for one follower shard, as the coordinator sees it: where it comes from in
 * the oplog, which document it touches and how big it is. What it does to the document is the writer's business.
 */
public interface FollowOperation {

    /** Oplog order: by position, then by index inside the entry (operations of one transaction share a position). */
    Comparator<FollowOperation> ORDER = Comparator.comparing(FollowOperation::position)
        .thenComparingInt(FollowOperation::indexInEntry);

    /** The position of the oplog entry this operation comes from. */
    OplogPosition position();

    /** The operation's index inside its oplog entry (0 for a plain entry, the index in {@code applyOps} for a transaction). */
    int indexInEntry();

    /**
     * The follower document id this operation touches, or {@code null} for a barrier: an operation that touches every
     * document of the shard (for example a drop of the collection, which empties the index). A barrier is written alone.
     */
    @Nullable
    String documentId();

    /** The operation's size in bytes, counted against the buffer and write request budgets. */
    long sizeInBytes();

    default boolean isBarrier() {
        return documentId() == null;
    }
}

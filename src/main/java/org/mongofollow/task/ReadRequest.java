package org.mongofollow.task;

import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.mongofollow.operation.OplogPosition;

import java.util.Objects;

/**
 * A read of the oplog range {@code (fromExclusive, toInclusive]} for one follower shard.
 * <p>
 * A <em>range read</em> has a {@code toInclusive} that is never past the source's majority commit point as last seen by the
 * coordinator; it returns at once. A <em>tail read</em> has {@code toInclusive == null}: it waits up to {@code pollTimeout}
 * for entries after {@code fromExclusive} and reads up to the majority commit point at the time it answers.
 * <p>
 * The reader returns at most {@code maxOperations} raw oplog entries (entries that pass its server-side filter, before
 * decoding and shard routing) and stops after the entry that makes the read reach {@code maxBytes} (always at least one
 * entry). See {@link ReadResponse#scannedTo()} for how it reports where it stopped.
 * <p>
 * An {@code essential} read is the one every buffered operation waits for (it starts at the read watermark, and nothing
 * buffered is writable): it brings at least its first entry however full the node's memory budget is, or the buffer's
 * memory would be held for ever.
 */
public record ReadRequest(
    OplogPosition fromExclusive,
    @Nullable OplogPosition toInclusive,
    int maxOperations,
    long maxBytes,
    TimeValue pollTimeout,
    boolean essential
) {
    public ReadRequest(OplogPosition fromExclusive, @Nullable OplogPosition toInclusive, int maxOperations, long maxBytes, TimeValue pollTimeout) {
        this(fromExclusive, toInclusive, maxOperations, maxBytes, pollTimeout, false);
    }

    public ReadRequest {
        Objects.requireNonNull(fromExclusive, "fromExclusive");
        Objects.requireNonNull(pollTimeout, "pollTimeout");
        if (toInclusive != null && toInclusive.compareTo(fromExclusive) <= 0) {
            throw new IllegalArgumentException("empty read range (" + fromExclusive + ", " + toInclusive + "]");
        }
    }

    /** Whether this is the read that waits at the head of the oplog. */
    public boolean isTail() {
        return toInclusive == null;
    }

    /** The same range with half the limits (at least one entry): a read whose operations did not fit the memory budget. */
    public ReadRequest halved() {
        return new ReadRequest(fromExclusive, toInclusive, Math.max(1, maxOperations / 2), Math.max(1, maxBytes / 2), pollTimeout, essential);
    }

    /** This read, essential or not. */
    public ReadRequest essential(boolean essential) {
        return essential == this.essential ? this : new ReadRequest(fromExclusive, toInclusive, maxOperations, maxBytes, pollTimeout, essential);
    }

    @Override
    public String toString() {
        return "read (" + fromExclusive + ", " + (toInclusive == null ? "head" : toInclusive) + "] max " + maxOperations + " ops"
            + (essential ? " (essential)" : "");
    }
}

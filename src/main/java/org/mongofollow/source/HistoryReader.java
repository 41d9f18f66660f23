package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.elasticsearch.core.Nullable;

import java.util.function.BooleanSupplier;

/**
 * One read of a MongoDB history for a {@link OplogFeed}: the oplog ({@link OplogReader}) or a collection's change stream
 * ({@link ChangeStreamReader}). Both hold every read to majority-committed history and answer in positions: the oplog's
 * {@code ts}, the change events' {@code clusterTime}. Blocking: call it on the plugin's thread pool.
 */
public interface HistoryReader {

    /**
     * Reads {@code (from, to]}, at most about {@code maxOperations} entries and {@code maxBytes}. A full batch has read the
     * range up to its last entry only; otherwise the whole range is read.
     */
    OplogReader.Batch readRange(OplogPosition from, OplogPosition to, int maxOperations, long maxBytes);

    /**
     * Waits up to {@code timeoutMillis} (or until {@code abandon} says so) at the head for entries after {@code from}, and
     * returns only majority-committed ones; with nothing new, how far the history has been seen.
     */
    OplogReader.Batch tail(OplogPosition from, int maxOperations, long maxBytes, long timeoutMillis, BooleanSupplier abandon);

    /**
     * The oldest position the source still holds, checked by the feed after each read from MongoDB; null when the source
     * cannot tell (a change stream says so itself: its reads fail with {@link OplogFeed.HistoryLostException}).
     */
    @Nullable
    OplogPosition oldestPosition();

    /**
     * A source with its own resume tokens (a change stream) resumes its next read after {@code point}, at or before where the
     * read starts, rather than at the read's position; the others ignore it.
     */
    default HistoryReader resumingAfter(@Nullable ResumePoint point) {
        return this;
    }
}

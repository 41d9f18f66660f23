package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.mongofollow.operation.DocumentOperation;

import java.util.List;
import java.util.Objects;

/**
 * What one oplog entry means for the follower: document operations, a skip, a transaction entry held
 * back until its commit, or a fatal decision. In every case {@link #position()} is the entry's own
 * position (the follower may checkpoint past it, but never past
 * {@link OplogEntryDecoder#oldestOpenTransactionPosition()}).
 *
 * @param outcome    what kind of result this is
 * @param position   the entry's position ({@code ts})
 * @param operations the operations to apply in order (non-empty only for {@link Outcome#OPERATIONS})
 * @param reason     why it was skipped, buffered or fatal (null for OPERATIONS)
 */
public record DecodedEntry(Outcome outcome, OplogPosition position, List<DocumentOperation> operations, String reason) {

    /** The kinds of result. */
    public enum Outcome {
        /** Apply {@link #operations()} in order. */
        OPERATIONS,
        /** Nothing to do for this follower (no-op, other namespace, migration, irrelevant command, ...). */
        SKIPPED,
        /** Part of a transaction that is not committed yet; its operations come with the commit entry. */
        BUFFERED,
        /** The follow must stop: {@link #reason()} explains why. */
        FATAL
    }

    public DecodedEntry {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(position, "position");
        operations = List.copyOf(operations);
        if (outcome == Outcome.OPERATIONS ? operations.isEmpty() : reason == null) {
            throw new IllegalArgumentException(outcome == Outcome.OPERATIONS ? "no operations" : "a reason is required");
        }
    }

    public static DecodedEntry operations(OplogPosition position, List<DocumentOperation> operations) {
        return new DecodedEntry(Outcome.OPERATIONS, position, operations, null);
    }

    public static DecodedEntry skipped(OplogPosition position, String reason) {
        return new DecodedEntry(Outcome.SKIPPED, position, List.of(), reason);
    }

    public static DecodedEntry buffered(OplogPosition position, String reason) {
        return new DecodedEntry(Outcome.BUFFERED, position, List.of(), reason);
    }

    public static DecodedEntry fatal(OplogPosition position, String reason) {
        return new DecodedEntry(Outcome.FATAL, position, List.of(), reason);
    }

    /** Whether the follow must stop. */
    public boolean isFatal() {
        return outcome == Outcome.FATAL;
    }
}

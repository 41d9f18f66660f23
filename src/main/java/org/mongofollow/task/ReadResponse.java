package org.mongofollow.task;

import org.mongofollow.operation.FollowOperation;

import org.mongofollow.operation.OplogPosition;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link ReadRequest} found.
 *
 * @param operations             this shard's operations in the range {@code (fromExclusive, scannedTo]}, in any order
 * @param scannedTo              the position up to which {@code (fromExclusive, scannedTo]} has been read completely. For a
 *                               range read it is {@code toInclusive} when the read returned fewer than {@code maxOperations}
 *                               raw entries and stayed under {@code maxBytes}; otherwise (a full batch) it is the last raw
 *                               entry's position, and the coordinator reads {@code (scannedTo, toInclusive]} again. For a
 *                               tail read it is the majority commit point the read stopped at (or the last raw entry's
 *                               position when full); it may equal {@code fromExclusive} when nothing new was committed.
 * @param majorityCommitPosition the source's majority commit position when the read ran (never below {@code scannedTo})
 * @param rawEntriesRead         how many oplog entries the server-side filter let through (whatever shard they routed to);
 *                               the coordinator learns the oplog's density from it
 * @param operationsSkipped      entries and operations read but not for this shard (other shards, no-ops, ...)
 * @param bytesRead              bytes read from the source
 */
public record ReadResponse<Op extends FollowOperation>(
    List<Op> operations,
    OplogPosition scannedTo,
    OplogPosition majorityCommitPosition,
    int rawEntriesRead,
    long operationsSkipped,
    long bytesRead
) {
    public ReadResponse {
        Objects.requireNonNull(operations, "operations");
        Objects.requireNonNull(scannedTo, "scannedTo");
        Objects.requireNonNull(majorityCommitPosition, "majorityCommitPosition");
        if (rawEntriesRead < 0 || operationsSkipped < 0 || bytesRead < 0) {
            throw new IllegalArgumentException("read response counters must not be negative");
        }
    }
}

package org.mongofollow.task;

import org.mongofollow.operation.FollowOperation;

import org.mongofollow.operation.OplogPosition;

/**
 * A document operation for the tests: {@code value == null} deletes the document (or, for a barrier, empties the shard).
 */
record TestOp(OplogPosition position, int indexInEntry, String documentId, long sizeInBytes, String value)
    implements
        FollowOperation {

    static TestOp put(int seconds, int increment, String id, String value) {
        return new TestOp(OplogPosition.of(seconds, increment), 0, id, 10, value);
    }

    static TestOp put(int seconds, int increment, int index, String id, long size) {
        return new TestOp(OplogPosition.of(seconds, increment), index, id, size, "v" + seconds + ":" + increment + "/" + index);
    }

    static TestOp barrier(int seconds, int increment) {
        return new TestOp(OplogPosition.of(seconds, increment), 0, null, 10, null);
    }

    String key() {
        return position + "/" + indexInEntry;
    }

    @Override
    public String toString() {
        return key() + (documentId == null ? " barrier" : " " + documentId);
    }
}

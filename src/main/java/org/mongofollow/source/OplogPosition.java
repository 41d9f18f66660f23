package org.mongofollow.source;

/**
 * A position in MongoDB's oplog: the BSON timestamp {@code ts} of an entry, as one long
 * {@code seconds << 32 | increment}. Positions order like the oplog (unsigned comparison, as BSON
 * timestamps do). Operations of one transaction share a position and are ordered by their index in it.
 */
public record OplogPosition(long value) implements Comparable<OplogPosition> {

    /** The smallest position, before every oplog entry. */
    public static final OplogPosition MIN = new OplogPosition(0L);

    /** The position of the timestamp {@code Timestamp(seconds, increment)}; both are unsigned 32-bit values. */
    public static OplogPosition of(int seconds, int increment) {
        return new OplogPosition(((long) seconds << 32) | (increment & 0xFFFFFFFFL));
    }

    /** The timestamp's seconds (unsigned 32-bit). */
    public int seconds() {
        return (int) (value >>> 32);
    }

    /** The timestamp's increment (unsigned 32-bit). */
    public int increment() {
        return (int) value;
    }

    @Override
    public int compareTo(OplogPosition other) {
        return Long.compareUnsigned(value, other.value);
    }

    /** {@code seconds:increment}, for example {@code 1714564800:3}. */
    @Override
    public String toString() {
        return Integer.toUnsignedString(seconds()) + ":" + Integer.toUnsignedString(increment());
    }
}

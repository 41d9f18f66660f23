package org.mongofollow.operation;

/**
 * A position in MongoDB's oplog: the BSON timestamp {@code ts} of an entry, (seconds, increment), as one long
 * {@code seconds << 32 | increment}. Seconds are below 2^31, so the value is never negative and the natural long order is
 * the oplog order. The increment is an unsigned 32-bit number.
 * <p>
 * Positions are unique per oplog entry but not dense: nothing tells how many entries lie between two positions. Every long
 * value between two entries' positions is still a valid position, which is how a checkpoint can say "everything up to here"
 * without naming an entry.
 */
public record OplogPosition(long value) implements Comparable<OplogPosition> {

    /** The position before every oplog entry. */
    public static final OplogPosition MIN = new OplogPosition(0L);

    public OplogPosition {
        if (value < 0) {
            throw new IllegalArgumentException(
                "oplog time ["
                    + Integer.toUnsignedLong((int) (value >>> 32))
                    + "] is at or after 2038-01-19T03:14:08Z: such positions do not fit an Elasticsearch document version"
                    + " (signed 64 bits) and are not supported yet"
            );
        }
    }

    /**
     * @param seconds   the timestamp's seconds, non-negative
     * @param increment the timestamp's increment, read as an unsigned 32-bit number
     */
    public static OplogPosition of(int seconds, int increment) {
        if (seconds < 0) {
            throw new IllegalArgumentException("oplog position seconds must not be negative, got [" + seconds + "]");
        }
        return new OplogPosition(((long) seconds << 32) | (increment & 0xFFFFFFFFL));
    }

    /** Parses the {@link #toString()} form {@code seconds:increment}. */
    public static OplogPosition parse(String text) {
        int colon = text == null ? -1 : text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("oplog position must look like [seconds:increment], got [" + text + "]");
        }
        try {
            return of(Integer.parseInt(text.substring(0, colon)), Integer.parseUnsignedInt(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("oplog position must look like [seconds:increment], got [" + text + "]", e);
        }
    }

    /** The position of a BSON timestamp, as in an oplog entry's {@code ts}. */
    public static OplogPosition of(org.bson.BsonTimestamp ts) {
        return new OplogPosition(ts.getValue());
    }

    public org.bson.BsonTimestamp toBsonTimestamp() {
        return new org.bson.BsonTimestamp(value);
    }

    public int seconds() {
        return (int) (value >>> 32);
    }

    /** The increment as stored (use {@link Integer#toUnsignedLong(int)} to compare it). */
    public int increment() {
        return (int) value;
    }

    public boolean after(OplogPosition other) {
        return value > other.value;
    }

    public boolean before(OplogPosition other) {
        return value < other.value;
    }

    public static OplogPosition max(OplogPosition a, OplogPosition b) {
        return a.value >= b.value ? a : b;
    }

    public static OplogPosition min(OplogPosition a, OplogPosition b) {
        return a.value <= b.value ? a : b;
    }

    @Override
    public int compareTo(OplogPosition other) {
        return Long.compare(value, other.value);
    }

    @Override
    public String toString() {
        return seconds() + ":" + Integer.toUnsignedString(increment());
    }
}

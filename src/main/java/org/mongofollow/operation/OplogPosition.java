package org.mongofollow.operation;

/**
 * A position in MongoDB's oplog: the BSON timestamp {@code ts} of an entry, (seconds, increment), both unsigned 32-bit
 * numbers, held as one long {@link #key()} whose signed order is the oplog order: the timestamp
 * {@code seconds << 32 | increment} with its top bit flipped. So seconds past 2^31 (2038-01-19T03:14:08Z) and up to
 * 2^32 (2106) order after the earlier ones, and every comparison, sorted map and difference of keys works on plain longs.
 * Persisted and sent positions are the timestamp itself ({@link #timestamp()}, {@link #ofTimestamp(long)}); what a
 * document's Elasticsearch version is for a position is {@link DocumentVersions}' to say.
 * <p>
 * Positions are unique per oplog entry but not dense: nothing tells how many entries lie between two positions. Every long
 * value between two entries' positions is still a valid position, which is how a checkpoint can say "everything up to here"
 * without naming an entry.
 */
public record OplogPosition(long key) implements Comparable<OplogPosition> {

    /** The position before every oplog entry (timestamp 0:0). */
    public static final OplogPosition MIN = ofTimestamp(0L);

    /** The position of a BSON timestamp value ({@code seconds << 32 | increment}, read as unsigned). */
    public static OplogPosition ofTimestamp(long timestamp) {
        return new OplogPosition(timestamp ^ Long.MIN_VALUE);
    }

    /**
     * @param seconds   the timestamp's seconds, read as an unsigned 32-bit number
     * @param increment the timestamp's increment, read as an unsigned 32-bit number
     */
    public static OplogPosition of(int seconds, int increment) {
        return ofTimestamp(((long) seconds << 32) | (increment & 0xFFFFFFFFL));
    }

    /** Parses the {@link #toString()} form {@code seconds:increment}. */
    public static OplogPosition parse(String text) {
        int colon = text == null ? -1 : text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("oplog position must look like [seconds:increment], got [" + text + "]");
        }
        try {
            return of(Integer.parseUnsignedInt(text.substring(0, colon)), Integer.parseUnsignedInt(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("oplog position must look like [seconds:increment], got [" + text + "]", e);
        }
    }

    /** The position of a BSON timestamp, as in an oplog entry's {@code ts}. */
    public static OplogPosition of(org.bson.BsonTimestamp ts) {
        return ofTimestamp(ts.getValue());
    }

    /** The BSON timestamp value, {@code seconds << 32 | increment} (compare it unsigned, or compare positions). */
    public long timestamp() {
        return key ^ Long.MIN_VALUE;
    }

    public org.bson.BsonTimestamp toBsonTimestamp() {
        return new org.bson.BsonTimestamp(timestamp());
    }

    /** The seconds since the epoch, 0 to 2^32 - 1. */
    public long seconds() {
        return timestamp() >>> 32;
    }

    /** The increment as stored (use {@link Integer#toUnsignedLong(int)} to compare it). */
    public int increment() {
        return (int) key;
    }

    public boolean after(OplogPosition other) {
        return key > other.key;
    }

    public boolean before(OplogPosition other) {
        return key < other.key;
    }

    public static OplogPosition max(OplogPosition a, OplogPosition b) {
        return a.key >= b.key ? a : b;
    }

    public static OplogPosition min(OplogPosition a, OplogPosition b) {
        return a.key <= b.key ? a : b;
    }

    @Override
    public int compareTo(OplogPosition other) {
        return Long.compare(key, other.key);
    }

    @Override
    public String toString() {
        return seconds() + ":" + Integer.toUnsignedString(increment());
    }
}

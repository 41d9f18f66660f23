package org.mongofollow.operation;

/**
 * How a follow makes an Elasticsearch document version of an oplog position: the position's timestamp minus the follow's
 * {@link #base()}. Versions are signed 64-bit numbers that must not be negative, and an oplog timestamp is an unsigned one
 * ({@code seconds << 32 | increment}), so a follow can version 2^63 timestamps from its base on: 2^31 seconds, 68 years.
 * <ul>
 *   <li>A follow created from this version on has the base {@link #DEFAULT_BASE} (2004-01-10T13:37:04Z), or its start
 *       position when that is earlier: its versions last until 2072.</li>
 *   <li>A follow created before has the base 0 ({@link #IDENTITY}: a version is the timestamp, as its documents already
 *       hold), which lasts until 2038-01-19T03:14:08Z; past it, the follow stops with an explanation instead of writing a
 *       negative version. A resync keeps a follow's base; a new follow of the index gets the new one.</li>
 * </ul>
 * The base is recorded in the follow's metadata, so every task of a follow versions alike wherever it runs.
 *
 * @param base the timestamp that is version 0, read as unsigned
 */
public record DocumentVersions(long base) {

    /** Versions that are the timestamps themselves: follows created before bases were recorded. */
    public static final DocumentVersions IDENTITY = new DocumentVersions(0L);

    /** The base of new follows: the timestamp of 2^30 seconds, 0 increment (2004-01-10T13:37:04Z). */
    public static final long DEFAULT_BASE = 1L << 62;

    /** The versions of a follow that starts at {@code start}: {@link #DEFAULT_BASE}, or {@code start} when earlier. */
    public static DocumentVersions forNewFollow(OplogPosition start) {
        long startTimestamp = start.timestamp();
        return new DocumentVersions(Long.compareUnsigned(startTimestamp, DEFAULT_BASE) < 0 ? startTimestamp : DEFAULT_BASE);
    }

    /**
     * The document version of {@code position}.
     *
     * @throws IllegalStateException when the position is before the base, or 2^63 or more after it
     */
    public long of(OplogPosition position) {
        long timestamp = position.timestamp();
        long version = timestamp - base;
        if (Long.compareUnsigned(timestamp, base) < 0 || version < 0) {
            throw new IllegalStateException(
                "oplog position [" + position + "] cannot be a document version of this follow: its versions cover ["
                    + OplogPosition.ofTimestamp(base) + "] to [" + OplogPosition.ofTimestamp(base + Long.MAX_VALUE) + "]"
                    + (base == 0
                        ? " (it versions documents as their oplog timestamps, as a follow created before 2038 support or into an index that"
                            + " already held documents does; follow the collection into a new index to go past 2038)"
                        : "")
            );
        }
        return version;
    }

    /** The position whose version is {@code version} (for messages and comparisons with positions). */
    public OplogPosition position(long version) {
        if (version < 0) {
            throw new IllegalArgumentException("a document version is not negative, got [" + version + "]");
        }
        return OplogPosition.ofTimestamp(base + version);
    }
}

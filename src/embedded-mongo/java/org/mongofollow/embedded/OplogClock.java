package org.mongofollow.embedded;

import java.time.Clock;

import de.bwaldvogel.mongo.bson.BsonTimestamp;

/**
 * Hands out oplog timestamps with the server's semantics: the high 32 bits are wall-clock seconds, the low
 * 32 bits an increment that restarts at 1 each new second, strictly increasing even if the clock stalls or
 * goes back. Thread-safe: the shards of a sharded cluster share one clock (their cluster time), each taking its
 * timestamps under its own oplog's write lock.
 */
final class OplogClock {

    private final Clock clock;
    private long lastSeconds;
    private long lastIncrement;

    OplogClock(Clock clock) {
        this.clock = clock;
    }

    synchronized BsonTimestamp next() {
        long seconds = clock.millis() / 1000;
        if (seconds > lastSeconds) {
            lastSeconds = seconds;
            lastIncrement = 1;
        } else {
            lastIncrement++;
            if (lastIncrement > 0xFFFFFFFFL) {
                lastSeconds++;
                lastIncrement = 1;
            }
        }
        return new BsonTimestamp((lastSeconds << 32) | lastIncrement);
    }

    /** Makes the next timestamp greater than {@code ts} (after entries were injected by a client). */
    synchronized void advancePast(BsonTimestamp ts) {
        long seconds = Integer.toUnsignedLong(ts.getTime());
        long increment = Integer.toUnsignedLong(ts.getInc());
        if (seconds > lastSeconds || (seconds == lastSeconds && increment > lastIncrement)) {
            lastSeconds = seconds;
            lastIncrement = increment;
        }
    }

    /** The newest timestamp handed out (0 before the first). */
    synchronized long last() {
        return (lastSeconds << 32) | lastIncrement;
    }

    long wallMillis() {
        return clock.millis();
    }
}

package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;

import org.junit.Test;

import de.bwaldvogel.mongo.bson.BsonTimestamp;

/** ts values: wall-clock seconds, an increment restarting at 1 each second, strictly increasing regardless. */
public class OplogClockTests {

    /** A clock the test moves by hand. */
    private static final class ManualClock extends Clock {
        long millis;

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    @Test
    public void secondsAndIncrements() {
        ManualClock wall = new ManualClock();
        wall.millis = 1_714_564_800_250L;
        OplogClock clock = new OplogClock(wall);
        assertTs(1_714_564_800, 1, clock.next());
        assertTs(1_714_564_800, 2, clock.next());
        wall.millis += 500; // same second
        assertTs(1_714_564_800, 3, clock.next());
        wall.millis += 1000; // next second: the increment restarts
        assertTs(1_714_564_801, 1, clock.next());
        wall.millis -= 5000; // the clock goes back: ts still increases
        assertTs(1_714_564_801, 2, clock.next());
        clock.advancePast(new BsonTimestamp(Instant.ofEpochSecond(1_714_564_900), 7)); // injected entries
        BsonTimestamp next = clock.next();
        assertTs(1_714_564_900, 8, next);
        assertTrue(next.compareTo(new BsonTimestamp(Instant.ofEpochSecond(1_714_564_900), 7)) > 0);
    }

    private static void assertTs(long seconds, int increment, BsonTimestamp ts) {
        assertEquals(seconds, Integer.toUnsignedLong(ts.getTime()));
        assertEquals(increment, ts.getInc());
    }
}

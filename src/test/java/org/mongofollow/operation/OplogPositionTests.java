package org.mongofollow.operation;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class OplogPositionTests {

    @Test
    public void packsSecondsAndIncrement() {
        OplogPosition p = OplogPosition.of(1714564800, 3);
        assertEquals((1714564800L << 32) | 3, p.value());
        assertEquals(1714564800, p.seconds());
        assertEquals(3, p.increment());
        assertEquals("1714564800:3", p.toString());
    }

    @Test
    public void incrementIsUnsignedAndSecondsStayAnExternalVersion() {
        OplogPosition p = OplogPosition.of(Integer.MAX_VALUE, -1);
        assertEquals(Integer.MAX_VALUE + ":4294967295", p.toString());
        assertEquals(-1, p.increment());
        assertTrue(p.value() > 0);
        // positions are Elasticsearch external versions, which are never negative: seconds past 2^31 are refused
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.of(-1, 0));
        // an oplog timestamp of 2038-01-19T03:14:08Z or later is refused with an explanation, never made a negative version
        IllegalArgumentException in2038 = assertThrows(
            IllegalArgumentException.class,
            () -> OplogPosition.of(new org.bson.BsonTimestamp((int) (1L << 31), 1))
        );
        assertTrue(in2038.getMessage(), in2038.getMessage().contains("[2147483648] is at or after 2038-01-19T03:14:08Z"));
    }

    @Test
    public void ordersLikeTheOplog() {
        assertTrue(OplogPosition.of(10, 2).compareTo(OplogPosition.of(10, 1)) > 0);
        assertTrue(OplogPosition.of(10, 1).compareTo(OplogPosition.of(11, 0)) < 0);
        assertTrue(OplogPosition.of(10, -1).compareTo(OplogPosition.of(11, 0)) < 0);
        assertEquals(0, OplogPosition.of(10, 1).compareTo(new OplogPosition((10L << 32) | 1)));
        assertTrue(OplogPosition.MIN.compareTo(OplogPosition.of(0, 1)) < 0);
        assertEquals("0:0", OplogPosition.MIN.toString());
    }
}

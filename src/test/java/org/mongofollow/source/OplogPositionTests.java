package org.mongofollow.source;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
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
    public void unsignedParts() {
        OplogPosition p = OplogPosition.of(-1, -1);
        assertEquals("4294967295:4294967295", p.toString());
        assertEquals(-1, p.seconds());
        assertEquals(-1, p.increment());
        assertTrue(p.compareTo(OplogPosition.of(Integer.MAX_VALUE, 0)) > 0);
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

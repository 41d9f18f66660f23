package org.mongofollow.task;

import org.junit.Test;
import org.mongofollow.operation.OplogPosition;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class OplogPositionTests {

    @Test
    public void testSecondsAndIncrementRoundTrip() {
        OplogPosition p = OplogPosition.of(1_700_000_000, 42);
        assertEquals(1_700_000_000, p.seconds());
        assertEquals(42, p.increment());
        assertEquals((1_700_000_000L << 32) | 42, p.value());
        assertEquals("1700000000:42", p.toString());
        assertEquals(p, OplogPosition.parse("1700000000:42"));
    }

    @Test
    public void testIncrementIsUnsigned() {
        OplogPosition p = OplogPosition.of(5, -1);
        assertEquals("5:4294967295", p.toString());
        assertTrue(p.before(OplogPosition.of(6, 0)));
        assertTrue(p.after(OplogPosition.of(5, Integer.MAX_VALUE)));
        assertEquals(p, OplogPosition.parse("5:4294967295"));
        assertEquals(OplogPosition.of(6, 0).value() - 1, p.value());
    }

    @Test
    public void testOrderIsSecondsThenIncrement() {
        assertTrue(OplogPosition.of(1, 100).compareTo(OplogPosition.of(2, 0)) < 0);
        assertTrue(OplogPosition.of(2, 1).compareTo(OplogPosition.of(2, 0)) > 0);
        assertTrue(OplogPosition.MIN.compareTo(OplogPosition.of(0, 1)) < 0);
    }

    @Test
    public void testRejectsInvalid() {
        assertThrows(IllegalArgumentException.class, () -> new OplogPosition(-1));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.of(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("12"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("a:b"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse(":1"));
    }
}

package org.mongofollow.operation;

import org.bson.BsonTimestamp;
import org.junit.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class OplogPositionTests {

    @Test
    public void packsSecondsAndIncrement() {
        OplogPosition p = OplogPosition.of(1714564800, 3);
        assertEquals((1714564800L << 32) | 3, p.timestamp());
        assertEquals(1714564800L, p.seconds());
        assertEquals(3, p.increment());
        assertEquals("1714564800:3", p.toString());
        assertEquals(p, OplogPosition.parse("1714564800:3"));
        assertEquals(p, OplogPosition.of(new BsonTimestamp(1714564800, 3)));
        assertEquals(new BsonTimestamp(1714564800, 3), p.toBsonTimestamp());
        assertEquals(p, OplogPosition.ofTimestamp(p.timestamp()));
    }

    @Test
    public void incrementIsUnsigned() {
        OplogPosition p = OplogPosition.of(5, -1);
        assertEquals("5:4294967295", p.toString());
        assertEquals(-1, p.increment());
        assertTrue(p.before(OplogPosition.of(6, 0)));
        assertTrue(p.after(OplogPosition.of(5, Integer.MAX_VALUE)));
        assertEquals(p, OplogPosition.parse("5:4294967295"));
        assertEquals(OplogPosition.of(6, 0).key() - 1, p.key());
    }

    @Test
    public void ordersLikeTheOplog() {
        assertTrue(OplogPosition.of(10, 2).compareTo(OplogPosition.of(10, 1)) > 0);
        assertTrue(OplogPosition.of(10, 1).compareTo(OplogPosition.of(11, 0)) < 0);
        assertTrue(OplogPosition.of(10, -1).compareTo(OplogPosition.of(11, 0)) < 0);
        assertEquals(0, OplogPosition.of(10, 1).compareTo(OplogPosition.ofTimestamp((10L << 32) | 1)));
        assertTrue(OplogPosition.MIN.compareTo(OplogPosition.of(0, 1)) < 0);
        assertEquals("0:0", OplogPosition.MIN.toString());
    }

    @Test
    public void secondsPast2038OrderAfterTheEarlierOnesUpTo2106() {
        OplogPosition last2037 = OplogPosition.of(Integer.MAX_VALUE, -1); // 2038-01-19T03:14:07Z, the last increment
        OplogPosition first2038 = OplogPosition.of(new BsonTimestamp((int) (1L << 31), 1)); // 2038-01-19T03:14:08Z
        OplogPosition last = OplogPosition.of(-1, -1); // 2106-02-07T06:28:15Z
        assertTrue(first2038.after(last2037));
        assertTrue(last.after(first2038));
        assertEquals(1L << 31, first2038.seconds());
        assertEquals("2147483648:1", first2038.toString());
        assertEquals("4294967295:4294967295", last.toString());
        assertEquals(first2038, OplogPosition.parse("2147483648:1"));
        assertEquals(last, OplogPosition.parse("4294967295:4294967295"));
        assertEquals(OplogPosition.MIN, OplogPosition.min(OplogPosition.MIN, last));
        assertEquals(last, OplogPosition.max(first2038, last));
        // differences of keys are differences of timestamps across the boundary
        assertEquals(1L << 32, OplogPosition.of((int) (1L << 31), 1).key() - OplogPosition.of(Integer.MAX_VALUE, 1).key());
    }

    @Test
    public void keysSortAsTimestampsReadUnsigned() {
        Random random = new Random(7);
        List<Long> timestamps = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            timestamps.add(random.nextLong());
        }
        timestamps.addAll(List.of(0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 62));
        List<Long> byTimestamp = new ArrayList<>(timestamps);
        byTimestamp.sort(Long::compareUnsigned);
        TreeSet<OplogPosition> byPosition = new TreeSet<>();
        timestamps.forEach(t -> byPosition.add(OplogPosition.ofTimestamp(t)));
        List<Long> sorted = new ArrayList<>();
        byPosition.forEach(p -> sorted.add(p.timestamp()));
        assertEquals(byTimestamp.stream().distinct().toList(), sorted);
    }

    @Test
    public void rejectsWhatIsNotAPosition() {
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("12"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("a:b"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse(":1"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("-1:0"));
        assertThrows(IllegalArgumentException.class, () -> OplogPosition.parse("4294967296:0"));
    }
}

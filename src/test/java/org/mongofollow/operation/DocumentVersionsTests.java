package org.mongofollow.operation;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class DocumentVersionsTests {

    private static final OplogPosition IN_2026 = OplogPosition.of(1_796_000_000, 7);
    private static final OplogPosition FIRST_2038 = OplogPosition.of((int) (1L << 31), 1);

    @Test
    public void aNewFollowVersionsFrom2004To2072() {
        DocumentVersions versions = DocumentVersions.forNewFollow(IN_2026);
        assertEquals(DocumentVersions.DEFAULT_BASE, versions.base());
        assertEquals(((1_796_000_000L - (1L << 30)) << 32) | 7, versions.of(IN_2026));
        // past 2038: still a positive version, above every earlier one
        assertTrue(versions.of(FIRST_2038) > versions.of(OplogPosition.of(Integer.MAX_VALUE, -1)));
        assertEquals(FIRST_2038, versions.position(versions.of(FIRST_2038)));
        assertEquals(IN_2026, versions.position(versions.of(IN_2026)));
        // the last second it versions: 2^30 + 2^31 - 1 (2072-01-20); one more is refused, never made negative
        OplogPosition lastIn2072 = OplogPosition.of((int) ((1L << 30) + (1L << 31) - 1), -1);
        assertEquals(Long.MAX_VALUE, versions.of(lastIn2072));
        IllegalStateException after = assertThrows(
            IllegalStateException.class,
            () -> versions.of(OplogPosition.of((int) ((1L << 30) + (1L << 31)), 0))
        );
        assertTrue(after.getMessage(), after.getMessage().contains("cover [1073741824:0] to [3221225471:4294967295]"));
        // and before its base
        assertThrows(IllegalStateException.class, () -> versions.of(OplogPosition.of(5, 0)));
    }

    @Test
    public void aFollowStartingBefore2004VersionsFromItsStart() {
        OplogPosition start = OplogPosition.of(1000, 1);
        DocumentVersions versions = DocumentVersions.forNewFollow(start);
        assertEquals(start.timestamp(), versions.base());
        assertEquals(0, versions.of(start));
        assertEquals(1L << 32, versions.of(OplogPosition.of(1001, 1)));
    }

    @Test
    public void aFollowCreatedBeforeVersionsByTimestampAndStopsIn2038WithAnExplanation() {
        DocumentVersions identity = DocumentVersions.IDENTITY;
        assertEquals(IN_2026.timestamp(), identity.of(IN_2026));
        assertEquals(Long.MAX_VALUE, identity.of(OplogPosition.of(Integer.MAX_VALUE, -1)));
        IllegalStateException in2038 = assertThrows(IllegalStateException.class, () -> identity.of(FIRST_2038));
        assertTrue(in2038.getMessage(), in2038.getMessage().contains("[2147483648:1] cannot be a document version of this follow"));
        assertTrue(in2038.getMessage(), in2038.getMessage().contains("follow the collection into a new index to go past 2038"));
    }

    @Test
    public void aVersionIsNeverNegative() {
        assertThrows(IllegalArgumentException.class, () -> DocumentVersions.IDENTITY.position(-1));
    }
}

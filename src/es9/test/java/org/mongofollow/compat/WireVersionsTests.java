package org.mongofollow.compat;

import org.elasticsearch.TransportVersions;
import org.elasticsearch.test.ESTestCase;

/** The 9.x compat layer finds the oldest compatible transport version where 9.0 and 9.1 keep it (a field). */
public class WireVersionsTests extends ESTestCase {

    public void testMinimumCompatibleIsTheServersOwn() {
        assertSame(TransportVersions.MINIMUM_COMPATIBLE, WireVersions.minimumCompatible());
    }
}

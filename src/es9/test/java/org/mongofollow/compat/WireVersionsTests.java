package org.mongofollow.compat;

import org.elasticsearch.TransportVersion;
import org.elasticsearch.test.ESTestCase;

/** The 9.x compat layer finds the oldest compatible transport version where 9.2 and later keep it (a method). */
public class WireVersionsTests extends ESTestCase {

    public void testMinimumCompatibleIsTheServersOwn() {
        assertEquals(TransportVersion.minimumCompatible(), WireVersions.minimumCompatible());
    }
}

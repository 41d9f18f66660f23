package org.mongofollow.compat;

import org.elasticsearch.TransportVersion;
import org.elasticsearch.test.ESTestCase;

/** The 8.19 compat layer gives the server's own oldest compatible transport version. */
public class WireVersionsTests extends ESTestCase {

    public void testMinimumCompatibleIsTheServersOwn() {
        assertEquals(TransportVersion.minimumCompatible(), WireVersions.minimumCompatible());
    }
}

package org.mongofollow.compat;

import org.elasticsearch.TransportVersion;

/** Elasticsearch 8.19's transport versions. */
public final class WireVersions {
    private WireVersions() {}

    /** The oldest transport version this node talks to. */
    public static TransportVersion minimumCompatible() {
        return TransportVersion.minimumCompatible();
    }
}

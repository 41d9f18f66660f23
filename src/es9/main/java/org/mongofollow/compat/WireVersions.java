package org.mongofollow.compat;

import org.elasticsearch.TransportVersion;

/**
 * Elasticsearch 9.x's transport versions. The oldest compatible one is the field {@code TransportVersions.MINIMUM_COMPATIBLE}
 * in 9.0 and 9.1 and the method {@code TransportVersion.minimumCompatible()} from 9.2 on (9.3 has no
 * {@code TransportVersions} class): looked up once, by reflection, so that one source compiles against every 9.x line.
 */
public final class WireVersions {
    private WireVersions() {}

    private static final TransportVersion MINIMUM_COMPATIBLE = lookUpMinimumCompatible();

    /** The oldest transport version this node talks to. */
    public static TransportVersion minimumCompatible() {
        return MINIMUM_COMPATIBLE;
    }

    private static TransportVersion lookUpMinimumCompatible() {
        try {
            return (TransportVersion) TransportVersion.class.getMethod("minimumCompatible").invoke(null);
        } catch (NoSuchMethodException e) {
            try {
                return (TransportVersion) Class.forName("org.elasticsearch.TransportVersions").getField("MINIMUM_COMPATIBLE").get(null);
            } catch (ReflectiveOperationException inner) {
                inner.addSuppressed(e);
                throw new IllegalStateException("this Elasticsearch has neither TransportVersion.minimumCompatible() nor TransportVersions.MINIMUM_COMPATIBLE", inner);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("TransportVersion.minimumCompatible() failed", e);
        }
    }
}

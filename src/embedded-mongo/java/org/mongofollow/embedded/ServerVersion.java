package org.mongofollow.embedded;

import java.util.List;

/**
 * The MongoDB release this server answers as: what {@code hello} ({@code maxWireVersion}), {@code buildInfo} and
 * {@code serverStatus} report, and what differs between releases in what clients see (from MongoDB's own documentation
 * and source, and the drivers' change streams specification):
 * <ul>
 *   <li>oplog updates: {@code $v:2} diffs from 5.0, {@code $v:1} {@code $set}/{@code $unset} before;</li>
 *   <li>change events: {@code wallTime} from 6.0; {@code updateDescription.truncatedArrays} with {@code $v:2} diffs
 *   (5.0); {@code disambiguatedPaths} from 6.1 (with {@code showExpandedEvents});</li>
 *   <li>{@code $changeStream} options: {@code showExpandedEvents} and {@code fullDocument: "whenAvailable"/"required"} from
 *   6.0 (before: errors 40415, an unknown field, and 40575); pre- and post-images
 *   ({@code changeStreamPreAndPostImages}) from 6.0;</li>
 *   <li>resume tokens: version 2 from 6.1, version 1 before.</li>
 * </ul>
 * The releases served are 4.2, 4.4, 5.0, 6.0, 7.0 (the default) and 8.0.
 */
record ServerVersion(int major, int minor) {

    static final ServerVersion DEFAULT = new ServerVersion(7, 0);
    static final List<String> SUPPORTED = List.of("4.2", "4.4", "5.0", "6.0", "7.0", "8.0");

    static ServerVersion parse(String version) {
        if (SUPPORTED.contains(version) == false) {
            throw new IllegalArgumentException("the embedded MongoDB serves as MongoDB " + SUPPORTED + ", not [" + version + "]");
        }
        int dot = version.indexOf('.');
        return new ServerVersion(Integer.parseInt(version.substring(0, dot)), Integer.parseInt(version.substring(dot + 1)));
    }

    boolean atLeast(int otherMajor, int otherMinor) {
        return major > otherMajor || (major == otherMajor && minor >= otherMinor);
    }

    /** The wire protocol version of the release ({@code maxWireVersion}). */
    int wireVersion() {
        return switch (major * 10 + minor) {
            case 42 -> 8;
            case 44 -> 9;
            case 50 -> 13;
            case 60 -> 17;
            case 70 -> 21;
            case 80 -> 25;
            default -> throw new IllegalStateException("no wire version for " + this);
        };
    }

    String versionString() {
        return major + "." + minor + ".99-mongo-follow-embedded";
    }

    List<Integer> versionArray() {
        return List.of(major, minor, 99, 0);
    }

    boolean v2Diffs() {
        return atLeast(5, 0);
    }

    boolean expandedEvents() {
        return atLeast(6, 0);
    }

    boolean wallTime() {
        return atLeast(6, 0);
    }

    boolean disambiguatedPaths() {
        return atLeast(6, 1);
    }

    boolean preAndPostImages() {
        return atLeast(6, 0);
    }

    int resumeTokenVersion() {
        return atLeast(6, 1) ? 2 : 1;
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}

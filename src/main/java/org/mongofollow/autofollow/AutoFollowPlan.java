package org.mongofollow.autofollow;

import org.elasticsearch.cluster.metadata.MetadataCreateIndexService;
import org.elasticsearch.core.Nullable;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one poll of a pattern does with the collections MongoDB listed: which to follow now, which are followed already, and
 * which are skipped and why. Decided from the listing and the indices alone, without I/O.
 */
public final class AutoFollowPlan {

    private AutoFollowPlan() {}

    public enum Kind {
        /** Start its follow now. */
        FOLLOW,
        /** Followed already: through this pattern before (its follow may have ended since), or its index follows it. */
        FOLLOWED,
        /** Not followed, for the decision's reason (an index name that exists or is invalid), reported in the stats. */
        SKIP
    }

    public record Decision(String database, String collection, String index, Kind kind, @Nullable String reason) {
        public String namespace() {
            return database + "." + collection;
        }
    }

    /** What the cluster has under an index name. */
    public interface Indices {
        /** Whether an index of that name exists. */
        boolean exists(String index);

        /** The namespace the index follows, or null (no such index, or a plain one). */
        @Nullable
        String followedNamespace(String index);
    }

    /**
     * Decides, for each listed collection ({@code database -> collections}) the pattern matches, in the listing's order.
     */
    public static List<Decision> plan(AutoFollowPattern pattern, Map<String, List<String>> listing, Indices indices) {
        List<Decision> decisions = new ArrayList<>();
        Map<String, String> claimed = new HashMap<>(); // index -> namespace of this poll that takes it
        for (Map.Entry<String, List<String>> database : listing.entrySet()) {
            if (pattern.matchesDatabase(database.getKey()) == false) {
                continue;
            }
            for (String collection : database.getValue()) {
                if (pattern.matchesCollection(collection) == false) {
                    continue;
                }
                decisions.add(decide(pattern, database.getKey(), collection, indices, claimed));
            }
        }
        return decisions;
    }

    private static Decision decide(AutoFollowPattern pattern, String database, String collection, Indices indices, Map<String, String> claimed) {
        String namespace = database + "." + collection;
        String index = pattern.followIndex(database, collection);
        if (pattern.followed().contains(namespace)) {
            return new Decision(database, collection, index, Kind.FOLLOWED, null);
        }
        String invalid = invalidIndexName(index);
        if (invalid != null) {
            return new Decision(database, collection, index, Kind.SKIP, "[" + index + "] is not a valid index name: " + invalid);
        }
        String follows = indices.followedNamespace(index);
        if (namespace.equals(follows)) {
            return new Decision(database, collection, index, Kind.FOLLOWED, null);
        }
        if (follows != null) {
            return new Decision(database, collection, index, Kind.SKIP, "index [" + index + "] exists and follows [" + follows + "]");
        }
        if (indices.exists(index)) {
            return new Decision(database, collection, index, Kind.SKIP, "index [" + index + "] exists");
        }
        String other = claimed.putIfAbsent(index, namespace);
        if (other != null) {
            return new Decision(database, collection, index, Kind.SKIP, "index [" + index + "] is the follower index of [" + other + "]");
        }
        return new Decision(database, collection, index, Kind.FOLLOW, null);
    }

    /** Why Elasticsearch refuses {@code index} as an index name, or null. */
    static String invalidIndexName(String index) {
        if (index.toLowerCase(java.util.Locale.ROOT).equals(index) == false) {
            return "must be lowercase";
        }
        try {
            MetadataCreateIndexService.validateIndexOrAliasName(index, (name, reason) -> new IllegalArgumentException(reason));
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}

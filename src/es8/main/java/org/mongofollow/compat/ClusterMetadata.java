package org.mongofollow.compat;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.index.Index;

/** Elasticsearch 8.19: the indices are in the cluster's {@code Metadata}. */
public final class ClusterMetadata {
    private ClusterMetadata() {}

    /** The index of that name, or null. */
    public static IndexMetadata index(ClusterState state, String name) {
        return state.metadata().index(name);
    }

    /** The index, or null when it is gone (or another index now has its name). */
    public static IndexMetadata index(ClusterState state, Index index) {
        return state.metadata().index(index);
    }

    /** Every index. */
    public static Iterable<IndexMetadata> indices(ClusterState state) {
        return state.metadata();
    }
}

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

    /** Waits until {@code count} copies of each shard of the index are active; {@code false} at the timeout. */
    public static void waitForActiveShards(
        org.elasticsearch.cluster.service.ClusterService clusterService,
        String index,
        org.elasticsearch.action.support.ActiveShardCount count,
        org.elasticsearch.core.TimeValue timeout,
        org.elasticsearch.action.ActionListener<Boolean> listener
    ) {
        org.elasticsearch.action.support.ActiveShardsObserver.waitForActiveShards(clusterService, new String[] { index }, count, timeout, listener);
    }

    /** What the name stands for (an index, an alias or a data stream), or null. */
    public static org.elasticsearch.cluster.metadata.IndexAbstraction abstraction(ClusterState state, String name) {
        return state.metadata().getIndicesLookup().get(name);
    }
}

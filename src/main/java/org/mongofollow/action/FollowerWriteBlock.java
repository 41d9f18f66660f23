package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.bulk.BulkShardRequest;
import org.elasticsearch.action.support.ActionFilter;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlock;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.rest.RestStatus;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Only its follow writes into a follower index, as only CCR writes into its followers: every other write (index, create,
 * update, delete, bulk, update and delete by query, reindex into it) reaches the index's shards as a shard bulk request, which
 * this filter refuses with a write block's 403 ({@code cluster_block_exception}), item by item in a bulk answer. A user's
 * write would otherwise silently break the follow: the next change of the document overwrites it, or, versioned above the
 * follow's versions, it makes the follow's later changes of that document fail. The follow's own writes go through its
 * shard write action, never through bulk. A paused follow blocks writes too; {@code _unfollow} lifts the block.
 */
public final class FollowerWriteBlock extends ActionFilter.Simple {

    /** The action every write into a shard goes through ({@code TransportShardBulkAction}'s). */
    static final String SHARD_BULK = "indices:data/write/bulk[s]";

    public static final ClusterBlock BLOCK = new ClusterBlock(
        90_173,
        "mongo follower index (only its follow writes into it; _unfollow it to write)",
        false,
        false,
        false,
        RestStatus.FORBIDDEN,
        EnumSet.of(ClusterBlockLevel.WRITE)
    );

    private final Supplier<ClusterState> state;

    public FollowerWriteBlock(Supplier<ClusterState> state) {
        this.state = state;
    }

    @Override
    public int order() {
        return 0; // after security's filter (Integer.MIN_VALUE): an unauthorised write stays a security_exception
    }

    @Override
    protected boolean apply(String action, ActionRequest request, ActionListener<?> listener) {
        if (SHARD_BULK.equals(action) && request instanceof BulkShardRequest shardRequest && follows(shardRequest)) {
            listener.onFailure(new ClusterBlockException(Map.of(shardRequest.shardId().getIndexName(), Set.of(BLOCK))));
            return false;
        }
        return true;
    }

    private boolean follows(BulkShardRequest request) {
        ClusterState current = state.get();
        IndexMetadata index = current == null ? null : ClusterMetadata.index(current, request.shardId().getIndex());
        return index != null && FollowMetadata.of(index) != null;
    }
}

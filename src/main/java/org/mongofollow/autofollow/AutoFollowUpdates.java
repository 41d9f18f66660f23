package org.mongofollow.autofollow;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateTaskListener;
import org.elasticsearch.cluster.SimpleBatchedExecutor;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.cluster.service.MasterServiceTaskQueue;
import org.elasticsearch.common.Priority;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.core.Tuple;
import org.mongofollow.compat.MetadataCustomBase;

import java.util.function.UnaryOperator;

/**
 * The one way the auto-follow patterns change: a change of the patterns, run by the elected master as a batched
 * cluster-state task (the pattern APIs' changes and the coordinator's record of what it followed). A change that throws
 * fails its own task only; one that changes nothing publishes nothing.
 */
public final class AutoFollowUpdates {

    private final MasterServiceTaskQueue<Update> queue;

    public AutoFollowUpdates(ClusterService clusterService) {
        this.queue = clusterService.createTaskQueue("mongo-follow-auto-follow", Priority.NORMAL, new Executor());
    }

    /** Submits {@code change}, on the master only; the listener learns once the new state is published. */
    void submit(String source, UnaryOperator<AutoFollowMetadata> change, TimeValue timeout, ActionListener<Void> listener) {
        queue.submitTask("mongo_follow auto-follow " + source, new Update(change, listener), timeout);
    }

    private record Update(UnaryOperator<AutoFollowMetadata> change, ActionListener<Void> listener) implements ClusterStateTaskListener {
        @Override
        public void onFailure(Exception e) {
            listener.onFailure(e);
        }
    }

    private static final class Executor extends SimpleBatchedExecutor<Update, Void> {
        @Override
        public Tuple<ClusterState, Void> executeTask(Update task, ClusterState state) {
            AutoFollowMetadata current = AutoFollowMetadata.of(state);
            AutoFollowMetadata updated = task.change().apply(current);
            if (updated.equals(current)) {
                return Tuple.tuple(state, null);
            }
            return Tuple.tuple(MetadataCustomBase.put(state, AutoFollowMetadata.TYPE, updated), null);
        }

        @Override
        public void taskSucceeded(Update task, Void unused) {
            task.listener().onResponse(null);
        }
    }
}

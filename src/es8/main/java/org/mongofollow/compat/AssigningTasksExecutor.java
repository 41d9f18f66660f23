package org.mongofollow.compat;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.persistent.PersistentTaskParams;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.persistent.PersistentTasksExecutor;

import java.util.Collection;
import java.util.concurrent.Executor;

/**
 * A persistent tasks executor that decides a task's node in {@link #assign}.
 * Elasticsearch 8.19: the executor overrides {@code getAssignment}.
 */
public abstract class AssigningTasksExecutor<Params extends PersistentTaskParams> extends PersistentTasksExecutor<Params> {

    protected AssigningTasksExecutor(String taskName, Executor executor) {
        super(taskName, executor);
    }

    /** The node the task runs on, or {@code NO_NODE_FOUND}. */
    protected abstract PersistentTasksCustomMetadata.Assignment assign(Params params, Collection<DiscoveryNode> candidateNodes, ClusterState clusterState);

    @Override
    public final PersistentTasksCustomMetadata.Assignment getAssignment(Params params, Collection<DiscoveryNode> candidateNodes, ClusterState clusterState) {
        return assign(params, candidateNodes, clusterState);
    }
}

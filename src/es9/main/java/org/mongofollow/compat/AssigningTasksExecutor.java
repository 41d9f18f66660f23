package org.mongofollow.compat;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.persistent.PersistentTaskParams;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.persistent.PersistentTasksExecutor;

import java.util.Collection;
import java.util.concurrent.Executor;

/**
 * A persistent tasks executor that decides a task's node in {@link #assign}.
 * Elasticsearch 9.x: 9.0 and 9.1 ask {@code getAssignment}, 9.2 and later {@code doGetAssignment} with a project; both are
 * declared here without {@code @Override}, so that one source compiles against every 9.x line.
 */
public abstract class AssigningTasksExecutor<Params extends PersistentTaskParams> extends PersistentTasksExecutor<Params> {

    protected AssigningTasksExecutor(String taskName, Executor executor) {
        super(taskName, executor);
    }

    /** The node the task runs on, or {@code NO_NODE_FOUND}. */
    protected abstract PersistentTasksCustomMetadata.Assignment assign(Params params, Collection<DiscoveryNode> candidateNodes, ClusterState clusterState);

    /** Elasticsearch 9.0 and 9.1 ask this (9.2 and later make {@code getAssignment} final, and never call this one). */
    public final PersistentTasksCustomMetadata.Assignment getAssignment(Params params, Collection<DiscoveryNode> candidateNodes, ClusterState clusterState) {
        return assign(params, candidateNodes, clusterState);
    }

    /** Elasticsearch 9.2 and later ask this, for the default project (9.0 and 9.1 do not have it, and never call it). */
    protected final PersistentTasksCustomMetadata.Assignment doGetAssignment(
        Params params,
        Collection<DiscoveryNode> candidateNodes,
        ClusterState clusterState,
        ProjectId projectId
    ) {
        return assign(params, candidateNodes, clusterState);
    }
}

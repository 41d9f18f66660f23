package org.mongofollow.task;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.persistent.PersistentTaskParams;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.mongofollow.compat.AssigningTasksExecutor;

import java.util.Collection;

/**
 * The executors of the plugin's persistent tasks (shard follows, copies): each task runs on the least loaded
 * data node, on the plugin's thread pool, with the node's services. A start that the pool's full queue refuses is
 * offered again until it runs.
 */
public abstract class DataNodeTasksExecutor<Params extends PersistentTaskParams> extends AssigningTasksExecutor<Params> {

    protected final ClusterService clusterService;
    protected final ShardFollowNodeTask.Services services;

    protected DataNodeTasksExecutor(String taskName, ClusterService clusterService, ShardFollowNodeTask.Services services) {
        // a start the full pool refuses waits for room: refused, the task would be marked failed and removed
        super(taskName, RetryScheduling.retryingRejections(services.threadPool(), services.executor()));
        this.clusterService = clusterService;
        this.services = services;
    }

    @Override
    protected PersistentTasksCustomMetadata.Assignment assign(Params params, Collection<DiscoveryNode> candidateNodes, ClusterState clusterState) {
        DiscoveryNode node = selectLeastLoadedNode(clusterState, candidateNodes, DiscoveryNode::canContainData);
        return node == null ? NO_NODE_FOUND : new PersistentTasksCustomMetadata.Assignment(node.getId(), "least loaded data node");
    }
}

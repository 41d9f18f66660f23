package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.TaskOperationFailure;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.tasks.TransportTasksAction;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.CancellableTask;
import org.elasticsearch.transport.TransportService;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.task.ShardFollowNodeTask;
import org.mongofollow.task.ShardFollowStatus;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects the status of the shard follow tasks of already resolved follower indices from every node
 * ({@link FollowStatsAction#SHARDS}, internal: only {@link TransportFollowStatsAction} sends it).
 */
public class TransportShardFollowStatsAction extends TransportTasksAction<
    ShardFollowNodeTask,
    FollowStatsAction.Request,
    FollowStatsAction.Response,
    ShardFollowStatus> {

    @Inject
    public TransportShardFollowStatsAction(TransportService transportService, ActionFilters actionFilters, ClusterService clusterService) {
        super(
            FollowStatsAction.SHARDS_NAME,
            clusterService,
            transportService,
            actionFilters,
            FollowStatsAction.Request::new,
            ShardFollowStatus::new,
            EsExecutors.DIRECT_EXECUTOR_SERVICE
        );
    }

    @Override
    protected FollowStatsAction.Response newResponse(
        FollowStatsAction.Request request,
        List<ShardFollowStatus> statuses,
        List<TaskOperationFailure> taskFailures,
        List<FailedNodeException> nodeFailures
    ) {
        Map<String, Integer> numberOfShards = new HashMap<>();
        var state = clusterService.state();
        for (String index : request.followers().keySet()) {
            var indexMetadata = ClusterMetadata.index(state, index);
            if (indexMetadata != null) {
                numberOfShards.put(index, indexMetadata.getNumberOfShards());
            }
        }
        return new FollowStatsAction.Response(
            request.followers(),
            request.copies(),
            request.nowMillis(),
            statuses,
            taskFailures,
            nodeFailures,
            numberOfShards
        );
    }

    @Override
    protected void taskOperation(
        CancellableTask actionTask,
        FollowStatsAction.Request request,
        ShardFollowNodeTask task,
        ActionListener<ShardFollowStatus> listener
    ) {
        ActionListener.completeWith(listener, () -> {
            ShardFollowStatus status = task.getStatus();
            if (status == null) {
                throw new IllegalStateException("shard follow task [" + task.params().index() + "][" + task.params().shard() + "] has not started yet");
            }
            return status;
        });
    }
}

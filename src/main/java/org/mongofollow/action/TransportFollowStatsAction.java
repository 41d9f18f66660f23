package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.TaskOperationFailure;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.tasks.TransportTasksAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.CancellableTask;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.transport.TransportService;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.task.ShardFollowNodeTask;
import org.mongofollow.task.ShardFollowStatus;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Collects the status of the shard follow tasks of the requested follower indices from every node. */
public class TransportFollowStatsAction extends TransportTasksAction<
    ShardFollowNodeTask,
    FollowStatsAction.Request,
    FollowStatsAction.Response,
    ShardFollowStatus> {

    private final IndexNameExpressionResolver indexNameExpressionResolver;

    @Inject
    public TransportFollowStatsAction(
        TransportService transportService,
        ActionFilters actionFilters,
        ClusterService clusterService,
        IndexNameExpressionResolver indexNameExpressionResolver
    ) {
        super(
            FollowStatsAction.NAME,
            clusterService,
            transportService,
            actionFilters,
            FollowStatsAction.Request::new,
            ShardFollowStatus::new,
            EsExecutors.DIRECT_EXECUTOR_SERVICE
        );
        this.indexNameExpressionResolver = indexNameExpressionResolver;
    }

    @Override
    protected void doExecute(Task task, FollowStatsAction.Request request, ActionListener<FollowStatsAction.Response> listener) {
        Map<String, String> followers = new HashMap<>();
        Map<String, org.mongofollow.metadata.CopyState> copies = new HashMap<>();
        try {
            ClusterState state = clusterService.state();
            for (IndexMetadata index : FollowerIndices.resolve(state, indexNameExpressionResolver, request.indices(), request)) {
                FollowMetadata follow = FollowMetadata.of(index);
                followers.put(index.getIndex().getName(), follow.status().label());
                if (follow.copy() != null) {
                    copies.put(index.getIndex().getName(), follow.copy());
                }
            }
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        request.followers(followers);
        request.copies(copies, System.currentTimeMillis());
        if (followers.isEmpty()) {
            listener.onResponse(new FollowStatsAction.Response(followers, copies, request.nowMillis(), List.of(), List.of(), List.of()));
            return;
        }
        super.doExecute(task, request, listener);
    }

    @Override
    protected FollowStatsAction.Response newResponse(
        FollowStatsAction.Request request,
        List<ShardFollowStatus> statuses,
        List<TaskOperationFailure> taskFailures,
        List<FailedNodeException> nodeFailures
    ) {
        return new FollowStatsAction.Response(request.followers(), request.copies(), request.nowMillis(), statuses, taskFailures, nodeFailures);
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

package org.mongofollow.action;

import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.transport.TransportService;
import org.mongofollow.metadata.FollowMetadata;

import java.util.ArrayList;
import java.util.List;

/** Answers follow statistics from the cluster state's follower indices. */
public class TransportFollowStatsAction extends HandledTransportAction<FollowStatsAction.Request, FollowStatsAction.Response> {

    private final ClusterService clusterService;
    private final IndexNameExpressionResolver indexNameExpressionResolver;

    @Inject
    public TransportFollowStatsAction(
        TransportService transportService,
        ActionFilters actionFilters,
        ClusterService clusterService,
        IndexNameExpressionResolver indexNameExpressionResolver
    ) {
        super(FollowStatsAction.NAME, transportService, actionFilters, FollowStatsAction.Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
        this.clusterService = clusterService;
        this.indexNameExpressionResolver = indexNameExpressionResolver;
    }

    @Override
    protected void doExecute(Task task, FollowStatsAction.Request request, ActionListener<FollowStatsAction.Response> listener) {
        ActionListener.completeWith(listener, () -> {
            ClusterState state = clusterService.state();
            List<IndexMetadata> followers = followerIndices(state, request);
            List<FollowStatsAction.IndexStats> stats = new ArrayList<>(followers.size());
            for (IndexMetadata follower : followers) {
                stats.add(new FollowStatsAction.IndexStats(follower.getIndex().getName(), List.of()));
            }
            return new FollowStatsAction.Response(stats);
        });
    }

    private List<IndexMetadata> followerIndices(ClusterState state, FollowStatsAction.Request request) {
        List<IndexMetadata> followers = new ArrayList<>();
        if (request.allFollowers()) {
            for (IndexMetadata indexMetadata : state.metadata()) {
                if (FollowMetadata.isFollowerIndex(indexMetadata)) {
                    followers.add(indexMetadata);
                }
            }
            followers.sort((a, b) -> a.getIndex().getName().compareTo(b.getIndex().getName()));
            return followers;
        }
        for (String name : indexNameExpressionResolver.concreteIndexNames(state, request)) {
            IndexMetadata indexMetadata = state.metadata().index(name);
            if (FollowMetadata.isFollowerIndex(indexMetadata)) {
                followers.add(indexMetadata);
            } else if (isExplicitName(request, name)) {
                throw new ResourceNotFoundException("index [{}] is not a mongo follower index", name);
            }
        }
        followers.sort((a, b) -> a.getIndex().getName().compareTo(b.getIndex().getName()));
        return followers;
    }

    /** A plain index named explicitly is an error; one matched by a pattern is simply not a follower. */
    private static boolean isExplicitName(FollowStatsAction.Request request, String name) {
        for (String expression : request.indices()) {
            if (expression.equals(name)) {
                return true;
            }
        }
        return false;
    }
}

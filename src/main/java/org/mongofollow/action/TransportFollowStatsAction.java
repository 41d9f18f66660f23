package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.transport.TransportService;
import org.mongofollow.metadata.FollowMetadata;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /_mongo_follow/_stats}: resolves the follower indices the request names (with security on, only those the
 * caller may {@code monitor}), then collects their shard tasks' status through {@link TransportShardFollowStatsAction}
 * and the nodes' feeds of their endpoints through {@link FeedStatsAction}.
 */
public class TransportFollowStatsAction extends HandledTransportAction<FollowStatsAction.Request, FollowStatsAction.Response> {

    private final ClusterService clusterService;
    private final IndexNameExpressionResolver indexNameExpressionResolver;
    private final Client client;

    @Inject
    public TransportFollowStatsAction(
        TransportService transportService,
        ActionFilters actionFilters,
        ClusterService clusterService,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Client client
    ) {
        super(FollowStatsAction.NAME, transportService, actionFilters, FollowStatsAction.Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
        this.clusterService = clusterService;
        this.indexNameExpressionResolver = indexNameExpressionResolver;
        this.client = client;
    }

    @Override
    protected void doExecute(Task task, FollowStatsAction.Request request, ActionListener<FollowStatsAction.Response> listener) {
        Map<String, String> followers = new HashMap<>();
        Map<String, org.mongofollow.metadata.CopyState> copies = new HashMap<>();
        java.util.Set<String> sources = new java.util.HashSet<>();
        try {
            ClusterState state = clusterService.state();
            for (IndexMetadata index : FollowerIndices.resolve(state, indexNameExpressionResolver, request.requested(), request)) {
                FollowMetadata follow = FollowMetadata.of(index);
                followers.put(index.getIndex().getName(), follow.status().label());
                sources.add(org.mongofollow.source.OplogFeeds.describe(follow.parameters().endpoint(), follow.parameters().feedSource()));
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
            listener.onResponse(new FollowStatsAction.Response(followers, copies, request.nowMillis(), List.of(), List.of(), List.of(), Map.of()));
            return;
        }
        client.execute(
            FollowStatsAction.SHARDS,
            request,
            listener.delegateFailureAndWrap(
                (l, response) -> client.execute(
                    FeedStatsAction.INSTANCE,
                    new FeedStatsAction.Request(sources),
                    ActionListener.wrap(feeds -> l.onResponse(response.withFeeds(feeds)), e -> l.onResponse(response))
                )
            )
        );
    }
}

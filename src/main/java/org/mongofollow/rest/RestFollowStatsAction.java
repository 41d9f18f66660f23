package org.mongofollow.rest;

import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.common.Strings;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.action.RestToXContentListener;
import org.mongofollow.action.FollowStatsAction;

import java.util.List;

import static org.elasticsearch.rest.RestRequest.Method.GET;

/** {@code GET /_mongo_follow/_stats} and {@code GET /{index}/_mongo_follow/_stats}. */
public class RestFollowStatsAction extends BaseRestHandler {

    @Override
    public String getName() {
        return "mongo_follow_stats_action";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(GET, "/_mongo_follow/_stats"), new Route(GET, "/{index}/_mongo_follow/_stats"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest restRequest, NodeClient client) {
        FollowStatsAction.Request request = new FollowStatsAction.Request(Strings.splitStringByCommaToArray(restRequest.param("index")));
        return channel -> client.execute(FollowStatsAction.INSTANCE, request, new RestToXContentListener<>(channel));
    }
}

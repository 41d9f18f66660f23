package org.mongofollow.rest;

import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestUtils;
import org.elasticsearch.rest.action.RestToXContentListener;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.autofollow.AutoFollowStatsAction;
import org.mongofollow.autofollow.ChangeAutoFollowPatternAction;
import org.mongofollow.autofollow.ChangeAutoFollowPatternAction.Change;
import org.mongofollow.autofollow.GetAutoFollowPatternsAction;
import org.mongofollow.autofollow.PatternRequest;
import org.mongofollow.autofollow.PutAutoFollowPatternAction;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.elasticsearch.rest.RestRequest.Method.DELETE;
import static org.elasticsearch.rest.RestRequest.Method.GET;
import static org.elasticsearch.rest.RestRequest.Method.POST;
import static org.elasticsearch.rest.RestRequest.Method.PUT;

/** The REST handlers of auto-follow patterns ({@code /_mongo_follow/auto_follow}): they parse and forward, nothing more. */
public final class RestAutoFollowActions {

    private RestAutoFollowActions() {}

    public static List<BaseRestHandler> all() {
        return List.of(new Put(), new Get(), new Delete(), new Activate(), new Stats());
    }

    /** {@code PUT /_mongo_follow/auto_follow/{name}}. */
    static final class Put extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_put_auto_follow_pattern_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(PUT, "/_mongo_follow/auto_follow/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
            Map<String, Object> body;
            try (XContentParser parser = request.contentParser()) {
                body = parser.map();
            }
            PutAutoFollowPatternAction.Request put = new PutAutoFollowPatternAction.Request(
                request.param("name"),
                body,
                RestUtils.getMasterNodeTimeout(request)
            );
            return channel -> client.execute(PutAutoFollowPatternAction.INSTANCE, put, new RestToXContentListener<>(channel));
        }
    }

    /** {@code GET /_mongo_follow/auto_follow[/{name}]}. */
    static final class Get extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_get_auto_follow_pattern_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(GET, "/_mongo_follow/auto_follow"), new Route(GET, "/_mongo_follow/auto_follow/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            var get = new PatternRequest.Named(request.param("name"), RestUtils.getMasterNodeTimeout(request));
            return channel -> client.execute(GetAutoFollowPatternsAction.INSTANCE, get, new RestToXContentListener<>(channel));
        }
    }

    /** {@code DELETE /_mongo_follow/auto_follow/{name}}. */
    static final class Delete extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_delete_auto_follow_pattern_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(DELETE, "/_mongo_follow/auto_follow/{name}"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            var delete = new ChangeAutoFollowPatternAction.Request(request.param("name"), Change.DELETE, RestUtils.getMasterNodeTimeout(request));
            return channel -> client.execute(ChangeAutoFollowPatternAction.DELETE, delete, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /_mongo_follow/auto_follow/{name}/_pause} and {@code .../_resume}. */
    static final class Activate extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_activate_auto_follow_pattern_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/_mongo_follow/auto_follow/{name}/_pause"), new Route(POST, "/_mongo_follow/auto_follow/{name}/_resume"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            Change change = request.path().endsWith("/_pause") ? Change.PAUSE : Change.RESUME;
            var activate = new ChangeAutoFollowPatternAction.Request(request.param("name"), change, RestUtils.getMasterNodeTimeout(request));
            return channel -> client.execute(ChangeAutoFollowPatternAction.ACTIVATE, activate, new RestToXContentListener<>(channel));
        }
    }

    /** {@code GET /_mongo_follow/auto_follow/_stats} and {@code GET /_mongo_follow/auto_follow/{name}/_stats}. */
    static final class Stats extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_auto_follow_stats_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(GET, "/_mongo_follow/auto_follow/_stats"), new Route(GET, "/_mongo_follow/auto_follow/{name}/_stats"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            var stats = new PatternRequest.Named(request.param("name"), RestUtils.getMasterNodeTimeout(request));
            return channel -> client.execute(AutoFollowStatsAction.INSTANCE, stats, new RestToXContentListener<>(channel));
        }
    }
}

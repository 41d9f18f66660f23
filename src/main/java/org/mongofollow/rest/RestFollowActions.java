package org.mongofollow.rest;

import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.common.Strings;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestUtils;
import org.elasticsearch.action.support.ActiveShardCount;
import org.elasticsearch.rest.action.RestToXContentListener;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.action.FollowInfoAction;
import org.mongofollow.action.FollowLifecycleActions;
import org.mongofollow.action.PutFollowAction;
import org.mongofollow.action.ResyncAction;
import org.mongofollow.action.WaitForPositionAction;

import java.io.IOException;
import java.util.List;

import static org.elasticsearch.rest.RestRequest.Method.GET;
import static org.elasticsearch.rest.RestRequest.Method.POST;
import static org.elasticsearch.rest.RestRequest.Method.PUT;

/** The REST handlers of a follow's life cycle: they parse and forward, nothing more. */
public final class RestFollowActions {

    private RestFollowActions() {}

    public static List<BaseRestHandler> all() {
        return List.of(new Put(), new Pause(), new Resume(), new Unfollow(), new Info(), new Resync(), new WaitForPosition());
    }

    /** {@code ?master_timeout} and {@code ?timeout} (the ack timeout), as Elasticsearch's own acknowledged APIs take them. */
    private static void timeouts(RestRequest request, org.mongofollow.action.FollowerIndexRequest follow) {
        follow.timeouts(RestUtils.getMasterNodeTimeout(request), RestUtils.getAckTimeout(request));
    }

    /** {@code PUT /{index}/_mongo_follow}. */
    static final class Put extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_put_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(PUT, "/{index}/_mongo_follow"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
            String index = request.param("index");
            PutFollowAction.Request put;
            try (XContentParser parser = request.contentParser()) {
                put = PutFollowAction.Request.fromXContent(index, parser);
            }
            timeouts(request, put);
            put.waitForActiveShards(ActiveShardCount.parseString(request.param("wait_for_active_shards")));
            return channel -> client.execute(PutFollowAction.INSTANCE, put, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /{index}/_mongo_follow/_pause}. */
    static final class Pause extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_pause_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/{index}/_mongo_follow/_pause"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            FollowLifecycleActions.Request pause = new FollowLifecycleActions.Request(request.param("index"), null);
            timeouts(request, pause);
            return channel -> client.execute(FollowLifecycleActions.PAUSE, pause, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /{index}/_mongo_follow/_resume}, with new budgets in an optional body. */
    static final class Resume extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_resume_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/{index}/_mongo_follow/_resume"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
            String index = request.param("index");
            FollowLifecycleActions.Request resume;
            if (request.hasContentOrSourceParam()) {
                try (XContentParser parser = request.contentOrSourceParamParser()) {
                    resume = FollowLifecycleActions.Request.resume(index, parser);
                }
            } else {
                resume = FollowLifecycleActions.Request.resume(index, null);
            }
            timeouts(request, resume);
            return channel -> client.execute(FollowLifecycleActions.RESUME, resume, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /{index}/_mongo_follow/_unfollow}. */
    static final class Unfollow extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_unfollow_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/{index}/_mongo_follow/_unfollow"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            FollowLifecycleActions.Request unfollow = new FollowLifecycleActions.Request(request.param("index"), null);
            timeouts(request, unfollow);
            return channel -> client.execute(FollowLifecycleActions.UNFOLLOW, unfollow, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /{index}/_mongo_follow/_resync}. */
    static final class Resync extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_resync_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/{index}/_mongo_follow/_resync"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            ResyncAction.Request resync = new ResyncAction.Request(request.param("index"), null);
            timeouts(request, resync);
            return channel -> client.execute(ResyncAction.INSTANCE, resync, new RestToXContentListener<>(channel));
        }
    }

    /** {@code POST /{index}/_mongo_follow/_wait_for_position}: 200 once reached, 408 at the timeout. */
    static final class WaitForPosition extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_wait_for_position_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(POST, "/{index}/_mongo_follow/_wait_for_position"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
            String index = request.param("index");
            WaitForPositionAction.Request wait;
            try (XContentParser parser = request.contentParser()) {
                wait = WaitForPositionAction.Request.fromXContent(index, parser);
            }
            return channel -> client.execute(
                WaitForPositionAction.INSTANCE,
                wait,
                new RestToXContentListener<>(channel, WaitForPositionAction.Answer::status)
            );
        }
    }

    /** {@code GET /_mongo_follow/_info} and {@code GET /{index}/_mongo_follow/_info}. */
    static final class Info extends BaseRestHandler {
        @Override
        public String getName() {
            return "mongo_follow_info_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(GET, "/_mongo_follow/_info"), new Route(GET, "/{index}/_mongo_follow/_info"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            FollowInfoAction.Request info = new FollowInfoAction.Request(Strings.splitStringByCommaToArray(request.param("index")));
            return channel -> client.execute(FollowInfoAction.INSTANCE, info, new RestToXContentListener<>(channel));
        }
    }
}

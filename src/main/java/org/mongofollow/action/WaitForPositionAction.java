package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.action.support.RefCountingListener;
import org.elasticsearch.action.support.WriteRequest;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.security.AsFollowUserClient;
import org.mongofollow.task.ShardFollowStatus;
import org.mongofollow.task.ShardFollowTask;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * {@code POST /{index}/_mongo_follow/_wait_for_position}: read-your-writes. Answers once every shard of the follower index
 * has applied everything up to a MongoDB position (such as the {@code operationTime} of the application's session after its
 * write) and what it applied is visible to search, or at the timeout. It polls the shard tasks' live checkpoints (not the
 * stored ones, which trail them by up to {@code checkpoint_interval}), then refreshes the index's shards, primaries and
 * replicas, through an empty shard write as the follow's user. It needs {@code read} on the index.
 */
public final class WaitForPositionAction {

    public static final String NAME = "indices:data/read/mongo_follow/wait_for_position";
    public static final ActionType<Answer> INSTANCE = new ActionType<>(NAME);

    public static final TimeValue DEFAULT_TIMEOUT = TimeValue.timeValueSeconds(30);
    public static final TimeValue MAX_TIMEOUT = TimeValue.timeValueMinutes(5);
    /** The first and the longest pause between two looks at the shards' checkpoints. */
    static final TimeValue FIRST_POLL = TimeValue.timeValueMillis(10);
    static final TimeValue MAX_POLL = TimeValue.timeValueMillis(200);

    private WaitForPositionAction() {}

    public static final class Request extends FollowerIndexRequest {
        private static final ParseField POSITION = new ParseField("position");
        private static final ParseField TIMEOUT = new ParseField("timeout");

        private final OplogPosition position;
        private final TimeValue timeout;

        public Request(String index, OplogPosition position, TimeValue timeout) {
            super(index);
            this.position = Objects.requireNonNull(position);
            this.timeout = Objects.requireNonNull(timeout);
            if (timeout.millis() < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
                throw new IllegalArgumentException("[timeout] must be between 0s and " + MAX_TIMEOUT + ", got [" + timeout + "]");
            }
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.position = OplogPosition.ofTimestamp(in.readLong());
            this.timeout = in.readTimeValue();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeLong(position.timestamp());
            out.writeTimeValue(timeout);
        }

        public OplogPosition position() {
            return position;
        }

        public TimeValue timeout() {
            return timeout;
        }

        private static final class Body {
            String position;
            TimeValue timeout = DEFAULT_TIMEOUT;
        }

        private static final ObjectParser<Body, Void> PARSER = new ObjectParser<>("mongo_follow_wait_for_position", Body::new);

        static {
            PARSER.declareString((b, v) -> b.position = v, POSITION);
            PARSER.declareString((b, v) -> b.timeout = TimeValue.parseTimeValue(v, TIMEOUT.getPreferredName()), TIMEOUT);
        }

        /** The body {@code {"position": "SECONDS:INCREMENT", "timeout": "30s"}}. */
        public static Request fromXContent(String index, XContentParser parser) {
            Body body = PARSER.apply(parser, null);
            if (body.position == null) {
                throw new IllegalArgumentException("[position] is required: a MongoDB position \"SECONDS:INCREMENT\", such as an operationTime");
            }
            OplogPosition position;
            try {
                position = OplogPosition.parse(body.position);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("[position] must be \"SECONDS:INCREMENT\", got [" + body.position + "]", e);
            }
            return new Request(index, position, body.timeout);
        }
    }

    /**
     * @param checkpoints each shard's live checkpoint (null: a shard whose task has not reported one)
     */
    public record Response(boolean reached, Map<Integer, OplogPosition> checkpoints) implements ToXContentObject {

        public Response {
            checkpoints = java.util.Collections.unmodifiableMap(new TreeMap<>(checkpoints));
        }

        /** 200 once reached, 408 at the timeout. */
        public RestStatus status() {
            return reached ? RestStatus.OK : RestStatus.REQUEST_TIMEOUT;
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject().field("reached", reached).startObject("checkpoints");
            for (var entry : checkpoints.entrySet()) {
                builder.field(Integer.toString(entry.getKey()), entry.getValue() == null ? null : entry.getValue().toString());
            }
            return builder.endObject().endObject();
        }
    }

    /** The response through the transport layer (the REST handler runs it locally; another node may send it on). */
    public static final class Answer extends ActionResponse implements ToXContentObject {
        private final Response response;

        public Answer(Response response) {
            this.response = response;
        }

        public Answer(StreamInput in) throws IOException {
            boolean reached = in.readBoolean();
            Map<Integer, OplogPosition> checkpoints = new TreeMap<>();
            int size = in.readVInt();
            for (int i = 0; i < size; i++) {
                int shard = in.readVInt();
                checkpoints.put(shard, in.readBoolean() ? OplogPosition.ofTimestamp(in.readLong()) : null);
            }
            this.response = new Response(reached, checkpoints);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeBoolean(response.reached());
            out.writeVInt(response.checkpoints().size());
            for (var entry : response.checkpoints().entrySet()) {
                out.writeVInt(entry.getKey());
                out.writeBoolean(entry.getValue() != null);
                if (entry.getValue() != null) {
                    out.writeLong(entry.getValue().timestamp());
                }
            }
        }

        public Response response() {
            return response;
        }

        public RestStatus status() {
            return response.status();
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            return response.toXContent(builder, params);
        }
    }

    public static class TransportAction extends HandledTransportAction<Request, Answer> {
        private final ClusterService clusterService;
        private final Client client;
        private final ThreadPool threadPool;

        @Inject
        public TransportAction(TransportService transportService, ActionFilters actionFilters, ClusterService clusterService, Client client, ThreadPool threadPool) {
            super(NAME, transportService, actionFilters, Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.clusterService = clusterService;
            this.client = client;
            this.threadPool = threadPool;
        }

        @Override
        protected void doExecute(Task task, Request request, ActionListener<Answer> listener) {
            long deadline = threadPool.relativeTimeInNanos() + request.timeout().nanos();
            poll(request, deadline, FIRST_POLL, listener.map(Answer::new));
        }

        private void poll(Request request, long deadline, TimeValue pause, ActionListener<Response> listener) {
            ClusterState state = clusterService.state();
            IndexMetadata index;
            FollowMetadata follow;
            try {
                index = FollowerIndices.follower(state, request.index());
                follow = FollowMetadata.of(index);
            } catch (Exception e) {
                listener.onFailure(e); // not a follower index (404), or unfollowed or deleted meanwhile
                return;
            }
            FollowStatsAction.Request stats = new FollowStatsAction.Request(request.index());
            stats.followers(Map.of(request.index(), follow.status().label()));
            client.execute(FollowStatsAction.SHARDS, stats, listener.delegateFailureAndWrap((l, response) -> {
                Map<Integer, OplogPosition> checkpoints = new TreeMap<>();
                for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                    checkpoints.put(shard, null);
                }
                for (FollowStatsAction.IndexStats indexStats : response.indices()) {
                    for (ShardFollowStatus shard : indexStats.shards()) {
                        if (shard.index().equals(request.index())) {
                            checkpoints.put(shard.shardId(), shard.checkpoint());
                        }
                    }
                }
                if (reached(request.position(), checkpoints, follow.copy())) {
                    refresh(index, l.map(v -> new Response(true, checkpoints)));
                    return;
                }
                long left = deadline - threadPool.relativeTimeInNanos();
                if (left <= 0) {
                    l.onResponse(new Response(false, checkpoints));
                    return;
                }
                TimeValue next = TimeValue.timeValueNanos(Math.min(left, pause.nanos()));
                TimeValue longer = TimeValue.timeValueMillis(Math.min(MAX_POLL.millis(), pause.millis() * 2));
                threadPool.schedule(() -> poll(request, deadline, longer, l), next, threadPool.generic());
            }));
        }

        /**
         * Every shard's checkpoint is at or past the position, and a copy that must still write documents older than it is
         * done (a copy's documents are those at its start position t0).
         */
        static boolean reached(OplogPosition position, Map<Integer, OplogPosition> checkpoints, @Nullable CopyState copy) {
            for (OplogPosition checkpoint : checkpoints.values()) {
                if (checkpoint == null || checkpoint.before(position)) {
                    return false;
                }
            }
            return copy == null || copy.isRunning() == false || position.after(copy.t0());
        }

        /** Refreshes each shard's primary and replicas, as the follow's user (what the follow wrote is visible to search then). */
        private void refresh(IndexMetadata index, ActionListener<Void> listener) {
            PersistentTasksCustomMetadata tasks = PersistentTasksCustomMetadata.getPersistentTasksCustomMetadata(clusterService.state());
            try (RefCountingListener refs = new RefCountingListener(listener)) {
                for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                    PersistentTasksCustomMetadata.PersistentTask<?> task = tasks == null ? null
                        : tasks.getTask(ShardFollowTask.taskId(index.getIndexUUID(), shard));
                    if (task == null || task.getParams() instanceof ShardFollowTask == false) {
                        refs.acquire().onFailure(new IllegalStateException("the follow of shard [" + shard + "] of [" + index.getIndex().getName() + "] stopped"));
                        continue;
                    }
                    ShardFollowTask params = (ShardFollowTask) task.getParams();
                    ApplyOperationsAction.Request refresh = new ApplyOperationsAction.Request(new ShardId(index.getIndex(), shard), List.of());
                    refresh.setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
                    new AsFollowUserClient(client, params.user()).execute(ApplyOperationsAction.INSTANCE, refresh, refs.acquire(r -> {}));
                }
            }
        }
    }
}

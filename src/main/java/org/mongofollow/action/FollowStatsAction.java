package org.mongofollow.action;

import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.TaskOperationFailure;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.action.support.tasks.BaseTasksRequest;
import org.elasticsearch.action.support.tasks.BaseTasksResponse;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.task.ShardFollowNodeTask;
import org.mongofollow.task.ShardFollowStatus;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * {@code GET /_mongo_follow/_stats} and {@code GET /{index}/_mongo_follow/_stats}: the status of every
 * shard follow task, collected from the nodes that run them (as CCR's follow stats), grouped by follower
 * index.
 */
public final class FollowStatsAction {

    public static final String NAME = "indices:monitor/mongo_follow/stats";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    /**
     * The fan-out to the nodes that run the shard tasks of the follower indices {@link #INSTANCE} resolved and security
     * authorised (the per-node requests name no index, so they cannot be authorised as index actions): internal, it runs
     * as the system user, and only {@link TransportFollowStatsAction} sends it.
     */
    public static final String SHARDS_NAME = "internal:mongo_follow/stats/shards";
    public static final ActionType<Response> SHARDS = new ActionType<>(SHARDS_NAME);

    private FollowStatsAction() {}

    /**
     * Replaceable: with security on, wildcards and "every index" become the indices the caller may {@code monitor}, so
     * the follows of other indices are never listed; {@link #requested()} keeps the names as the caller gave them.
     */
    public static final class Request extends BaseTasksRequest<Request> implements IndicesRequest.Replaceable {

        private final String[] requested;
        private String[] indices;
        /** The follower indices resolved on the coordinating node, with their follow status. */
        private Map<String, String> followers = Map.of();
        /** The copies of the resolved follower indices, from their metadata; only on the coordinating node. */
        private transient Map<String, org.mongofollow.metadata.CopyState> copies = Map.of();
        private transient long nowMillis;

        /** @param indices index names or patterns; none means every follower index */
        public Request(String... indices) {
            this.requested = Objects.requireNonNull(indices);
            this.indices = indices;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.requested = in.readStringArray();
            this.indices = in.readStringArray();
            this.followers = in.readMap(StreamInput::readString);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringArray(requested);
            out.writeStringArray(indices);
            out.writeMap(followers, StreamOutput::writeString);
        }

        /** Whether the request names no index, so every follower index (the caller may monitor) is wanted. */
        public boolean allFollowers() {
            return FollowerIndices.allFollowers(requested);
        }

        String[] requested() {
            return requested;
        }

        @Override
        public String[] indices() {
            return indices;
        }

        @Override
        public Request indices(String... indices) {
            this.indices = Objects.requireNonNull(indices);
            return this;
        }

        void followers(Map<String, String> followers) {
            this.followers = Map.copyOf(followers);
        }

        Map<String, String> followers() {
            return followers;
        }

        void copies(Map<String, org.mongofollow.metadata.CopyState> copies, long nowMillis) {
            this.copies = Map.copyOf(copies);
            this.nowMillis = nowMillis;
        }

        Map<String, org.mongofollow.metadata.CopyState> copies() {
            return copies;
        }

        long nowMillis() {
            return nowMillis;
        }

        @Override
        public IndicesOptions indicesOptions() {
            return IndicesOptions.strictExpandOpenAndForbidClosed();
        }

        @Override
        public boolean match(Task task) {
            // only the tasks of active follows: a paused follow's task may still be winding down after the pause
            return task instanceof ShardFollowNodeTask shardTask
                && FollowMetadata.Status.ACTIVE.label().equals(followers.get(shardTask.params().index()));
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Request other && Arrays.equals(indices, other.indices);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(indices);
        }
    }

    /** The statistics of one follower index: its follow status, its copy and one entry per running shard task. */
    /** {@code numberOfShards}: the follower index's, where the answering node knows it (else 0: not known). */
    public record IndexStats(String index, String status, CopyStats initialCopy, List<ShardFollowStatus> shards, int numberOfShards) {}

    /**
     * The follow's copy (initial copy or resync) as its metadata holds it: progress is stored by the copy task at
     * most once per {@code checkpoint_interval}, so the numbers lag the copy by at most that much.
     */
    public record CopyStats(org.mongofollow.metadata.CopyState copy, long nowMillis) implements ToXContentObject {

        public String state() {
            if (copy == null) {
                return "none";
            }
            return copy.failure() != null && copy.isRunning() ? "failed" : copy.state().label();
        }

        /** Percentage of the estimated documents copied (100 when done), or -1 without a copy. */
        public double percent() {
            if (copy == null) {
                return -1;
            }
            if (copy.isRunning() == false) {
                return 100;
            }
            long estimate = copy.totalEstimate();
            if (estimate <= 0) {
                return copy.planned() && copy.rangesDone() == copy.ranges().size() ? 100 : 0;
            }
            return Math.min(99.9, Math.floor(1000.0 * copy.documentsCopied() / estimate) / 10.0);
        }

        public double rate() {
            if (copy == null || copy.startedMillis() <= 0) {
                return 0;
            }
            long elapsed = Math.max(1, nowMillis - copy.startedMillis());
            return Math.round(copy.documentsCopied() * 1000.0 * 10 / elapsed) / 10.0;
        }

        /**
         * How long a running copy still needs at its rate so far for the documents of its estimate it has not copied yet
         * (0 once past the estimate), or null when it cannot tell: no copy running, failed, or nothing copied yet.
         */
        public TimeValue estimatedTimeRemaining() {
            if (copy == null || copy.isRunning() == false || copy.failure() != null) {
                return null;
            }
            double rate = rate();
            if (rate <= 0) {
                return null;
            }
            long left = Math.max(0, copy.totalEstimate() - copy.documentsCopied());
            return TimeValue.timeValueMillis(Math.round(left * 1000.0 / rate));
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject();
            builder.field("state", state());
            if (copy != null) {
                builder.field("resync", copy.resync());
                builder.field("start_position", copy.t0().toString());
                builder.field("documents_copied", copy.documentsCopied());
                builder.field("documents_read", copy.documentsRead());
                builder.field("documents_rejected", copy.documentsRejected());
                builder.field("documents_total_estimate", copy.totalEstimate());
                builder.field("ranges_done", copy.rangesDone());
                builder.field("ranges_total", copy.ranges().size());
                builder.field("percent", percent());
                if (copy.isRunning()) {
                    builder.field("rate", rate());
                    TimeValue remaining = estimatedTimeRemaining();
                    if (remaining != null) {
                        builder.humanReadableField("estimated_time_remaining_in_millis", "estimated_time_remaining", remaining);
                    }
                }
                if (copy.failure() != null) {
                    builder.field("failure", copy.failure());
                }
            }
            return builder.endObject();
        }
    }

    public static final class Response extends BaseTasksResponse implements ToXContentObject {

        private final List<IndexStats> indices;
        /** The nodes' feeds of the listed follows' endpoints; null when they could not be collected. */
        private FeedStatsAction.Response feeds;

        public Response(
            Map<String, String> followers,
            List<ShardFollowStatus> statuses,
            List<TaskOperationFailure> taskFailures,
            List<? extends FailedNodeException> nodeFailures
        ) {
            this(followers, Map.of(), 0, statuses, taskFailures, nodeFailures, Map.of());
        }

        /** {@code numberOfShards}: each follower index's number of shards, for its summary (an index without one: not known). */
        public Response(
            Map<String, String> followers,
            Map<String, org.mongofollow.metadata.CopyState> copies,
            long nowMillis,
            List<ShardFollowStatus> statuses,
            List<TaskOperationFailure> taskFailures,
            List<? extends FailedNodeException> nodeFailures,
            Map<String, Integer> numberOfShards
        ) {
            super(taskFailures, nodeFailures);
            Map<String, List<ShardFollowStatus>> byIndex = new TreeMap<>();
            followers.keySet().forEach(index -> byIndex.put(index, new ArrayList<>()));
            for (ShardFollowStatus status : statuses) {
                byIndex.computeIfAbsent(status.index(), i -> new ArrayList<>()).add(status);
            }
            List<IndexStats> indices = new ArrayList<>();
            byIndex.forEach((index, shards) -> {
                shards.sort(Comparator.comparingInt(ShardFollowStatus::shardId));
                indices.add(
                    new IndexStats(
                        index,
                        followers.getOrDefault(index, "active"),
                        new CopyStats(copies.get(index), nowMillis),
                        List.copyOf(shards),
                        numberOfShards.getOrDefault(index, 0)
                    )
                );
            });
            this.indices = List.copyOf(indices);
        }

        public List<IndexStats> indices() {
            return indices;
        }

        Response withFeeds(FeedStatsAction.Response feeds) {
            this.feeds = feeds;
            return this;
        }

        @Override
        public void writeTo(StreamOutput out) {
            throw new UnsupportedOperationException("follow stats responses are served on the coordinating node");
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject();
            toXContentCommon(builder, params);
            builder.startArray("indices");
            for (IndexStats index : indices) {
                builder.startObject();
                builder.field("index", index.index());
                builder.field("status", index.status());
                builder.field("initial_copy", index.initialCopy());
                FollowSummary.of(index.shards(), index.numberOfShards()).toXContent(builder, params);
                builder.startArray("shards");
                for (ShardFollowStatus shard : index.shards()) {
                    shard.toXContent(builder, params);
                }
                builder.endArray();
                builder.endObject();
            }
            builder.endArray();
            if (feeds != null) {
                feeds.toXContent(builder, params);
            }
            return builder.endObject();
        }

        @Override
        public String toString() {
            return Strings.toString(this);
        }
    }

}

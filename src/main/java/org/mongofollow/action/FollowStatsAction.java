package org.mongofollow.action;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * {@code GET /_mongo_follow/_stats} and {@code GET /{index}/_mongo_follow/_stats}: statistics of every
 * follower shard, grouped by follower index.
 */
public final class FollowStatsAction {

    public static final String NAME = "indices:monitor/mongo_follow/stats";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private FollowStatsAction() {}

    public static final class Request extends ActionRequest implements IndicesRequest.Replaceable {

        private String[] indices;

        /** @param indices index names or patterns; none means every follower index */
        public Request(String... indices) {
            this.indices = Objects.requireNonNull(indices);
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.indices = in.readStringArray();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringArray(indices);
        }

        /** Whether the request names no index, so every follower index is wanted. */
        public boolean allFollowers() {
            return indices.length == 0 || (indices.length == 1 && ("_all".equals(indices[0]) || "*".equals(indices[0])));
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

        @Override
        public IndicesOptions indicesOptions() {
            return IndicesOptions.strictExpandOpenAndForbidClosed();
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

    /** The statistics of one follower index. */
    public record IndexStats(String index, List<ShardStats> shards) {}

    /**
     * The statistics of one follower shard. The follow engine fills these from its shard tasks' status;
     * until a follow runs there is nothing to report.
     */
    public interface ShardStats extends ToXContentObject {}

    public static final class Response extends ActionResponse implements ToXContentObject {

        private final List<IndexStats> indices;

        public Response(List<IndexStats> indices) {
            this.indices = List.copyOf(indices);
        }

        public List<IndexStats> indices() {
            return indices;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            // Served on the coordinating node only (HandledTransportAction), never sent over the wire.
            throw new UnsupportedOperationException("follow stats responses are not serialized");
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject();
            builder.startArray("indices");
            for (IndexStats index : indices) {
                builder.startObject();
                builder.field("index", index.index());
                builder.startArray("shards");
                for (ShardStats shard : index.shards()) {
                    shard.toXContent(builder, params);
                }
                builder.endArray();
                builder.endObject();
            }
            builder.endArray();
            return builder.endObject();
        }

        @Override
        public String toString() {
            return Strings.toString(this);
        }
    }
}

package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.metadata.FollowMetadata;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;

/**
 * {@code GET /{index}/_mongo_follow/_info}: each follower index's status (active or paused) and its
 * parameters, as stored in its metadata (never a credential: a follow names a client or a credential-free
 * connection string), with the shards' checkpoints.
 */
public final class FollowInfoAction {

    public static final String NAME = "indices:monitor/mongo_follow/info";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private FollowInfoAction() {}

    /**
     * Replaceable: with security on, wildcards and "every index" become the indices the caller may {@code monitor}, so
     * the follows of other indices are never listed; {@link #requested()} keeps the names as the caller gave them.
     */
    public static final class Request extends ActionRequest implements IndicesRequest.Replaceable {
        private final String[] requested;
        private String[] indices;

        public Request(String... indices) {
            this.requested = Objects.requireNonNull(indices);
            this.indices = indices;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.requested = in.readStringArray();
            this.indices = in.readStringArray();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringArray(requested);
            out.writeStringArray(indices);
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
            this.indices = indices;
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
    }

    public record FollowerInfo(String index, FollowMetadata follow) {}

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final List<FollowerInfo> followers;

        public Response(List<FollowerInfo> followers) {
            this.followers = List.copyOf(followers);
        }

        public List<FollowerInfo> followers() {
            return followers;
        }

        @Override
        public void writeTo(StreamOutput out) {
            throw new UnsupportedOperationException("follow info responses are served locally");
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject().startArray("follower_indices");
            for (FollowerInfo info : followers) {
                builder.startObject();
                builder.field("follower_index", info.index());
                builder.field("status", info.follow().status().label());
                builder.field("parameters", info.follow().parameters());
                builder.startObject("checkpoints");
                for (var checkpoint : new TreeMap<>(info.follow().checkpoints()).entrySet()) {
                    builder.field(Integer.toString(checkpoint.getKey()), checkpoint.getValue().toString());
                }
                builder.endObject();
                // the oplog positions this follow can version (DocumentVersions): whether it goes on past 2038
                org.mongofollow.operation.DocumentVersions versions = info.follow().versions();
                builder.startObject("document_versions");
                builder.field("from", versions.position(0).toString());
                builder.field("until", versions.position(Long.MAX_VALUE).toString());
                builder.endObject();
                builder.endObject();
            }
            return builder.endArray().endObject();
        }
    }

    public static class TransportAction extends HandledTransportAction<Request, Response> {
        private final ClusterService clusterService;
        private final IndexNameExpressionResolver resolver;

        @Inject
        public TransportAction(
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            IndexNameExpressionResolver resolver
        ) {
            super(NAME, transportService, actionFilters, Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.clusterService = clusterService;
            this.resolver = resolver;
        }

        @Override
        protected void doExecute(Task task, Request request, ActionListener<Response> listener) {
            ActionListener.completeWith(listener, () -> {
                ClusterState state = clusterService.state();
                List<FollowerInfo> followers = new ArrayList<>();
                for (IndexMetadata index : FollowerIndices.resolve(state, resolver, request.requested(), request)) {
                    followers.add(new FollowerInfo(index.getIndex().getName(), FollowMetadata.of(index)));
                }
                followers.sort(Comparator.comparing(FollowerInfo::index));
                return new Response(followers);
            });
        }
    }

}

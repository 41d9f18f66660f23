package org.mongofollow.autofollow;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.master.TransportMasterNodeAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.security.FollowUser;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /_mongo_follow/auto_follow[/{name}]}: the patterns as they were put, each with whether it is active, as CCR's
 * {@code GET /_ccr/auto_follow} answers ({@code {"patterns": [{"name", "pattern"}]}}); a named pattern that does not exist is
 * a 404. Never the pattern's stored security headers. With security on: {@code monitor}.
 */
public final class GetAutoFollowPatternsAction {

    public static final String NAME = "cluster:monitor/mongo_follow/auto_follow/get";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private GetAutoFollowPatternsAction() {}

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final Map<String, AutoFollowPattern> patterns;

        public Response(Map<String, AutoFollowPattern> patterns) {
            Map<String, AutoFollowPattern> shown = new TreeMap<>();
            // what the response carries never holds the user's headers, on the wire either
            patterns.forEach((name, p) -> shown.put(name, new AutoFollowPattern(p.database(), p.collections(), p.excludeCollections(),
                p.followIndexPattern(), p.follow(), p.active(), FollowUser.NONE, p.followed())));
            this.patterns = shown;
        }

        public Response(StreamInput in) throws IOException {
            this(in.readMap(StreamInput::readString, AutoFollowPattern::new));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeMap(patterns, StreamOutput::writeString, (o, p) -> p.writeTo(o));
        }

        public Map<String, AutoFollowPattern> patterns() {
            return patterns;
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject().startArray("patterns");
            for (Map.Entry<String, AutoFollowPattern> entry : patterns.entrySet()) {
                builder.startObject().field("name", entry.getKey()).field("pattern");
                entry.getValue().definitionToXContent(builder);
                builder.endObject();
            }
            return builder.endArray().endObject();
        }
    }

    public static class TransportAction extends TransportMasterNodeAction<PatternRequest.Named, Response> {
        @Inject
        public TransportAction(TransportService transportService, ClusterService clusterService, ThreadPool threadPool,
            ActionFilters actionFilters) {
            super(NAME, transportService, clusterService, threadPool, actionFilters, PatternRequest.Named::new, Response::new,
                EsExecutors.DIRECT_EXECUTOR_SERVICE);
        }

        @Override
        protected void masterOperation(Task task, PatternRequest.Named request, ClusterState state, ActionListener<Response> listener) {
            listener.onResponse(new Response(selected(AutoFollowMetadata.of(state), request.name())));
        }

        @Override
        protected ClusterBlockException checkBlock(PatternRequest.Named request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_READ);
        }
    }

    /** The pattern of that name (a 404 when there is none), or every pattern. */
    static Map<String, AutoFollowPattern> selected(AutoFollowMetadata metadata, String name) {
        if (name == null) {
            return metadata.patterns();
        }
        AutoFollowPattern pattern = metadata.patterns().get(name);
        if (pattern == null) {
            throw PatternRequest.missing(name);
        }
        return Map.of(name, pattern);
    }

}

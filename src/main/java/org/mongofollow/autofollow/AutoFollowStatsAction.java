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

import java.io.IOException;
import java.util.List;

/**
 * {@code GET /_mongo_follow/auto_follow/_stats} and {@code .../{name}/_stats}: each pattern's stats, from the elected master,
 * whose coordinator polls ({@link AutoFollowStats}). With security on: {@code monitor}.
 */
public final class AutoFollowStatsAction {

    public static final String NAME = "cluster:monitor/mongo_follow/auto_follow/stats";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private AutoFollowStatsAction() {}

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final List<AutoFollowStats> patterns;

        public Response(List<AutoFollowStats> patterns) {
            this.patterns = List.copyOf(patterns);
        }

        public Response(StreamInput in) throws IOException {
            this(in.readCollectionAsList(AutoFollowStats::new));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeCollection(patterns);
        }

        public List<AutoFollowStats> patterns() {
            return patterns;
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject().startArray("patterns");
            for (AutoFollowStats stats : patterns) {
                stats.toXContent(builder, params);
            }
            return builder.endArray().endObject();
        }
    }

    public static class TransportAction extends TransportMasterNodeAction<PatternRequest.Named, Response> {
        private final AutoFollowCoordinator coordinator;

        @Inject
        public TransportAction(TransportService transportService, ClusterService clusterService, ThreadPool threadPool,
            ActionFilters actionFilters, AutoFollowCoordinator coordinator) {
            super(NAME, transportService, clusterService, threadPool, actionFilters, PatternRequest.Named::new, Response::new,
                EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.coordinator = coordinator;
        }

        @Override
        protected void masterOperation(Task task, PatternRequest.Named request, ClusterState state, ActionListener<Response> listener) {
            AutoFollowMetadata metadata = new AutoFollowMetadata(GetAutoFollowPatternsAction.selected(AutoFollowMetadata.of(state), request.name()));
            listener.onResponse(new Response(coordinator.stats(metadata)));
        }

        @Override
        protected ClusterBlockException checkBlock(PatternRequest.Named request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_READ);
        }
    }
}

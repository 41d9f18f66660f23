package org.mongofollow.autofollow;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.master.AcknowledgedResponse;
import org.elasticsearch.action.support.master.TransportMasterNodeAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;

import java.io.IOException;
import java.util.Locale;

/**
 * {@code DELETE /_mongo_follow/auto_follow/{name}}, {@code POST .../{name}/_pause} and {@code .../_resume}. Deleting or
 * pausing a pattern stops it starting follows; the follows it started go on (as CCR's). Pausing a paused pattern, or resuming
 * an active one, changes nothing and succeeds; a pattern that does not exist is a 404. With security on: {@code manage}.
 */
public final class ChangeAutoFollowPatternAction {

    public static final ActionType<AcknowledgedResponse> DELETE = new ActionType<>("cluster:admin/mongo_follow/auto_follow/delete");
    public static final ActionType<AcknowledgedResponse> ACTIVATE = new ActionType<>("cluster:admin/mongo_follow/auto_follow/activate");

    private ChangeAutoFollowPatternAction() {}

    public enum Change {
        DELETE,
        PAUSE,
        RESUME
    }

    public static final class Request extends PatternRequest<Request> {
        private final Change change;

        public Request(String name, Change change, TimeValue masterNodeTimeout) {
            super(name, masterNodeTimeout);
            this.change = change;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.change = in.readEnum(Change.class);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeEnum(change);
        }

        public ActionType<AcknowledgedResponse> action() {
            return change == Change.DELETE ? DELETE : ACTIVATE;
        }
    }

    private abstract static class Transport extends TransportMasterNodeAction<Request, AcknowledgedResponse> {
        private final AutoFollowUpdates updates;

        Transport(String name, TransportService transportService, ClusterService clusterService, ThreadPool threadPool,
            ActionFilters actionFilters, AutoFollowUpdates updates) {
            super(name, transportService, clusterService, threadPool, actionFilters, Request::new, AcknowledgedResponse::readFrom,
                EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.updates = updates;
        }

        @Override
        protected void masterOperation(Task task, Request request, ClusterState state, ActionListener<AcknowledgedResponse> listener) {
            if (request.action().name().equals(actionName) == false) {
                throw new IllegalArgumentException("[" + request.change + "] is not a change of action [" + actionName + "]");
            }
            String name = request.name();
            updates.submit(request.change.name().toLowerCase(Locale.ROOT) + " [" + name + "]", metadata -> {
                AutoFollowPattern pattern = metadata.patterns().get(name);
                if (pattern == null) {
                    throw PatternRequest.missing(name);
                }
                return switch (request.change) {
                    case DELETE -> metadata.with(name, null);
                    case PAUSE -> metadata.with(name, pattern.withActive(false));
                    case RESUME -> metadata.with(name, pattern.withActive(true));
                };
            }, request.masterNodeTimeout(), listener.map(v -> AcknowledgedResponse.TRUE));
        }

        @Override
        protected ClusterBlockException checkBlock(Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_WRITE);
        }
    }

    public static class TransportDeleteAction extends Transport {
        @Inject
        public TransportDeleteAction(TransportService transportService, ClusterService clusterService, ThreadPool threadPool,
            ActionFilters actionFilters, AutoFollowUpdates updates) {
            super(DELETE.name(), transportService, clusterService, threadPool, actionFilters, updates);
        }
    }

    public static class TransportActivateAction extends Transport {
        @Inject
        public TransportActivateAction(TransportService transportService, ClusterService clusterService, ThreadPool threadPool,
            ActionFilters actionFilters, AutoFollowUpdates updates) {
            super(ACTIVATE.name(), transportService, clusterService, threadPool, actionFilters, updates);
        }
    }
}

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
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.security.FollowUser;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoEndpoint;

import java.io.IOException;
import java.util.Map;

/**
 * {@code PUT /_mongo_follow/auto_follow/{name}}: creates or replaces an auto-follow pattern. The body is checked as the
 * follows it will start are (a follow's fields, the named client, the connection allowlist) before anything changes; the
 * pattern runs with the privileges of the user who put it last, as CCR's patterns do, and a replaced pattern keeps what it
 * followed and whether it is paused. With security on it needs the {@code manage} cluster privilege; the follows it starts
 * need {@code manage} on their indices, which the pattern's stats report when the user lacks it.
 */
public final class PutAutoFollowPatternAction {

    public static final String NAME = "cluster:admin/mongo_follow/auto_follow/put";
    public static final ActionType<AcknowledgedResponse> INSTANCE = new ActionType<>(NAME);

    private PutAutoFollowPatternAction() {}

    public static final class Request extends PatternRequest<Request> {
        private final Map<String, Object> body;

        public Request(String name, Map<String, Object> body, TimeValue masterNodeTimeout) {
            super(name, masterNodeTimeout);
            validateName(name);
            this.body = new java.util.LinkedHashMap<>(body);
            AutoFollowPattern.parse(body, FollowUser.NONE); // a clear 400 before the request goes anywhere
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.body = in.readGenericMap();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeGenericMap(body);
        }
    }

    public static class TransportAction extends TransportMasterNodeAction<Request, AcknowledgedResponse> {
        private final AutoFollowUpdates updates;
        private final MongoClientService clients;
        private final ConnectionAllowlist allowlist;

        @Inject
        public TransportAction(
            TransportService transportService,
            ClusterService clusterService,
            ThreadPool threadPool,
            ActionFilters actionFilters,
            AutoFollowUpdates updates,
            MongoClientService clients,
            ConnectionAllowlist allowlist
        ) {
            super(NAME, transportService, clusterService, threadPool, actionFilters, Request::new, AcknowledgedResponse::readFrom,
                EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.updates = updates;
            this.clients = clients;
            this.allowlist = allowlist;
        }

        @Override
        protected void masterOperation(Task task, Request request, ClusterState state, ActionListener<AcknowledgedResponse> listener) {
            AutoFollowPattern pattern = AutoFollowPattern.parse(request.body, FollowUser.current(threadPool.getThreadContext()));
            MongoEndpoint endpoint = pattern.endpoint();
            if (endpoint.clientName() != null) {
                clients.namedClient(endpoint.clientName());
            }
            allowlist.check(endpoint);
            updates.submit(
                "put [" + request.name() + "]",
                metadata -> metadata.with(request.name(), pattern.replacing(metadata.patterns().get(request.name()))),
                request.masterNodeTimeout(),
                listener.map(v -> AcknowledgedResponse.TRUE)
            );
        }

        @Override
        protected ClusterBlockException checkBlock(Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_WRITE);
        }
    }
}

package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.action.support.master.AcknowledgedResponse;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ObjectParser;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.security.FollowUser;
import org.mongofollow.metadata.FollowBudgets;

import java.io.IOException;

/**
 * {@code POST /{index}/_mongo_follow/_pause}, {@code _resume} and {@code _unfollow}: the follow's life
 * cycle after it started. Pausing stops the shard tasks and keeps the checkpoints; resuming starts them
 * again from the checkpoints (with new budgets if given); unfollowing stops them and removes the follow,
 * leaving a plain index. Each needs {@code manage} on the index; a resumed follow writes as the user who resumed it.
 */
public final class FollowLifecycleActions {

    public static final ActionType<AcknowledgedResponse> PAUSE = new ActionType<>("indices:admin/mongo_follow/pause");
    public static final ActionType<AcknowledgedResponse> RESUME = new ActionType<>("indices:admin/mongo_follow/resume");
    public static final ActionType<AcknowledgedResponse> UNFOLLOW = new ActionType<>("indices:admin/mongo_follow/unfollow");

    private FollowLifecycleActions() {}

    /** The follower index, and for resume the new budgets (null keeps the old ones). */
    public static final class Request extends FollowerIndexRequest {
        private final FollowBudgets budgets;

        public Request(String index, FollowBudgets budgets) {
            super(index);
            this.budgets = budgets;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.budgets = in.readOptionalWriteable(FollowBudgets::new);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeOptionalWriteable(budgets);
        }

        private static final ObjectParser<FollowBudgets.Builder, Void> BUDGETS = new ObjectParser<>("mongo_follow_resume", FollowBudgets::builder);

        static {
            FollowParameters.declareBudgets(BUDGETS, b -> b);
        }

        /** A resume body: any budgets, validated; the rest of the follow cannot change. */
        public static Request resume(String index, XContentParser parser) {
            return new Request(index, parser == null ? null : BUDGETS.apply(parser, null).build());
        }

    }

    private abstract static class LifecycleTransportAction extends HandledTransportAction<Request, AcknowledgedResponse> {
        protected final ClusterService clusterService;
        protected final Client client;
        protected final PersistentTasksService persistentTasks;

        LifecycleTransportAction(
            String name,
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            Client client,
            PersistentTasksService persistentTasks
        ) {
            super(name, transportService, actionFilters, Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.clusterService = clusterService;
            this.client = client;
            this.persistentTasks = persistentTasks;
        }

        @Override
        protected void doExecute(Task task, Request request, ActionListener<AcknowledgedResponse> listener) {
            IndexMetadata index;
            try {
                index = FollowerIndices.follower(clusterService.state(), request.index);
            } catch (Exception e) {
                listener.onFailure(e);
                return;
            }
            execute(request, index, FollowMetadata.of(index), listener);
        }

        abstract void execute(Request request, IndexMetadata index, FollowMetadata follow, ActionListener<AcknowledgedResponse> listener);

        /** Changes the follow's metadata as the request says, waiting as long as its timeouts say. */
        void updateMetadata(Request request, UpdateFollowMetadataAction.Request update, ActionListener<AcknowledgedResponse> listener) {
            client.execute(UpdateFollowMetadataAction.INSTANCE, update.acknowledged(request.masterNodeTimeout(), request.ackTimeout()), listener);
        }
    }

    public static class TransportPauseAction extends LifecycleTransportAction {
        @Inject
        public TransportPauseAction(
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            Client client,
            PersistentTasksService persistentTasks
        ) {
            super(PAUSE.name(), transportService, actionFilters, clusterService, client, persistentTasks);
        }

        @Override
        void execute(Request request, IndexMetadata index, FollowMetadata follow, ActionListener<AcknowledgedResponse> listener) {
            updateMetadata(
                request,
                UpdateFollowMetadataAction.Request.setStatus(request.index, FollowMetadata.Status.ACTIVE, FollowMetadata.Status.PAUSED, null),
                listener.delegateFailureAndWrap(
                    (l, ack) -> ShardFollowTasks.remove(persistentTasks, index, request.masterNodeTimeout(), l.map(v -> ack))
                )
            );
        }
    }

    public static class TransportResumeAction extends LifecycleTransportAction {
        private final ConnectionAllowlist allowlist;

        @Inject
        public TransportResumeAction(
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            Client client,
            PersistentTasksService persistentTasks,
            ConnectionAllowlist allowlist
        ) {
            super(RESUME.name(), transportService, actionFilters, clusterService, client, persistentTasks);
            this.allowlist = allowlist;
        }

        @Override
        void execute(Request request, IndexMetadata index, FollowMetadata follow, ActionListener<AcknowledgedResponse> listener) {
            try {
                allowlist.check(follow.parameters().endpoint());
            } catch (IllegalArgumentException e) {
                listener.onFailure(e);
                return;
            }
            FollowUser user = FollowUser.current(clusterService.threadPool().getThreadContext());
            FollowParameters parameters = request.budgets == null ? follow.parameters() : follow.parameters().withBudgets(request.budgets);
            updateMetadata(
                request,
                UpdateFollowMetadataAction.Request.setStatus(request.index, FollowMetadata.Status.PAUSED, FollowMetadata.Status.ACTIVE, parameters),
                listener.delegateFailureAndWrap(
                    (l, ack) -> ShardFollowTasks.start(persistentTasks, index, parameters, user, request.masterNodeTimeout(), l.map(v -> ack))
                )
            );
        }
    }

    public static class TransportUnfollowAction extends LifecycleTransportAction {
        @Inject
        public TransportUnfollowAction(
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            Client client,
            PersistentTasksService persistentTasks
        ) {
            super(UNFOLLOW.name(), transportService, actionFilters, clusterService, client, persistentTasks);
        }

        @Override
        void execute(Request request, IndexMetadata index, FollowMetadata follow, ActionListener<AcknowledgedResponse> listener) {
            ShardFollowTasks.remove(
                persistentTasks,
                index,
                request.masterNodeTimeout(),
                listener.delegateFailureAndWrap((l, v) -> updateMetadata(request, UpdateFollowMetadataAction.Request.remove(request.index), l.delegateFailureAndWrap((l2, ack) -> {
                    if (follow.copy() != null && follow.copy().isRunning()) {
                        // the copy held tombstones (index.gc_deletes) up; a plain index gets its own value back
                        org.mongofollow.copy.GcDeletes.restore(client, request.index, follow.copy().gcDeletesBefore(), l2.map(r -> ack));
                    } else {
                        l2.onResponse(ack);
                    }
                })))
            );
        }
    }
}

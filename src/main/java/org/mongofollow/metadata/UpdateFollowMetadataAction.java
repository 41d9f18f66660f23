package org.mongofollow.metadata;

import org.elasticsearch.ResourceAlreadyExistsException;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.master.AcknowledgedResponse;
import org.elasticsearch.action.support.master.MasterNodeRequest;
import org.elasticsearch.action.support.master.TransportMasterNodeAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateTaskListener;
import org.elasticsearch.cluster.ClusterStateAckListener;
import org.elasticsearch.cluster.ClusterStateTaskExecutor;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.cluster.service.MasterServiceTaskQueue;
import org.elasticsearch.common.Priority;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.IndexNotFoundException;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.io.IOException;
import java.util.Map;
import java.util.Objects;

/**
 * Every change to a follow's metadata goes through the master as one batched cluster-state task:
 * starting a follow, pausing and resuming it, ending it, and advancing shard checkpoints (which shard
 * tasks send rate-limited, and which only ever move forward).
 * <p>
 * An internal action ({@code internal:} name): only the plugin's own actions and tasks send it, never a user. With
 * security on it runs as the system user, whether a task sends it or a user's {@code _pause} (already authorised for
 * {@code manage} on the index) does, and no user privilege can grant it.
 */
public final class UpdateFollowMetadataAction {

    public static final String NAME = "internal:mongo_follow/metadata/update";
    public static final ActionType<AcknowledgedResponse> INSTANCE = new ActionType<>(NAME);

    private UpdateFollowMetadataAction() {}

    public enum Change {
        /** Make a plain index a follower index. */
        START,
        /** Set the status (and, on resume, new parameters). */
        SET_STATUS,
        /** Remove the follow: the index stays as a plain index. */
        REMOVE,
        /** Advance shard checkpoints, of any number of indices at once (a node sends all of its pending ones together). */
        CHECKPOINTS,
        /** Start a new copy (a resync): the copy's t0 becomes every shard's checkpoint, the follow becomes active. */
        NEW_COPY,
        /** A copy task's plan, progress or end, merged forward only and only into the copy it belongs to. */
        COPY_UPDATE
    }

    public static final class Request extends MasterNodeRequest<Request> {
        private final String index;
        private final Change change;
        private final FollowMetadata follow;
        private final FollowMetadata.Status status;
        private final FollowMetadata.Status expectedStatus;
        private final FollowParameters parameters;
        /** index -> shard -> checkpoint, for {@link Change#CHECKPOINTS} */
        private final Map<String, Map<Integer, OplogPosition>> checkpoints;
        /** index -> shard -> change stream resume point at or before the checkpoint, for {@link Change#CHECKPOINTS} */
        private Map<String, Map<Integer, ResumePoint>> resumePoints = Map.of();
        private CopyState copy;
        /** How long the change waits for every node to apply it (a user's request: {@code ?timeout}); null: it does not wait. */
        private TimeValue ackTimeout;

        private Request(
            String index,
            Change change,
            FollowMetadata follow,
            FollowMetadata.Status status,
            FollowMetadata.Status expectedStatus,
            FollowParameters parameters,
            Map<String, Map<Integer, OplogPosition>> checkpoints
        ) {
            super(TimeValue.THIRTY_SECONDS);
            this.index = change == Change.CHECKPOINTS ? "_checkpoints" : Objects.requireNonNull(index);
            this.change = change;
            this.follow = follow;
            this.status = status;
            this.expectedStatus = expectedStatus;
            this.parameters = parameters;
            this.checkpoints = checkpoints == null ? Map.of() : Map.copyOf(checkpoints);
            this.checkpoints.values().forEach(Objects::requireNonNull);
        }

        public static Request start(String index, FollowMetadata follow) {
            return new Request(index, Change.START, follow, null, null, null, null);
        }

        /** Changes the status from {@code expected} to {@code status}; {@code parameters} may replace the old ones. */
        public static Request setStatus(String index, FollowMetadata.Status expected, FollowMetadata.Status status, FollowParameters parameters) {
            return new Request(index, Change.SET_STATUS, null, status, expected, parameters, null);
        }

        public static Request remove(String index) {
            return new Request(index, Change.REMOVE, null, null, null, null, null);
        }

        /**
         * Advances the given shard checkpoints (index -> shard -> checkpoint) and change stream resume points, forward only,
         * in one cluster-state update.
         */
        public static Request checkpoints(
            Map<String, Map<Integer, OplogPosition>> checkpoints,
            Map<String, Map<Integer, ResumePoint>> resumePoints
        ) {
            Map<String, Map<Integer, OplogPosition>> copy = new java.util.HashMap<>();
            checkpoints.forEach((index, shards) -> copy.put(index, Map.copyOf(shards)));
            Request request = new Request(null, Change.CHECKPOINTS, null, null, null, null, copy);
            Map<String, Map<Integer, ResumePoint>> points = new java.util.HashMap<>();
            resumePoints.forEach((index, shards) -> points.put(index, Map.copyOf(shards)));
            request.resumePoints = Map.copyOf(points);
            return request;
        }

        public static Request newCopy(String index, CopyState copy) {
            Request request = new Request(index, Change.NEW_COPY, null, null, null, null, null);
            request.copy = Objects.requireNonNull(copy);
            return request;
        }

        public static Request copyUpdate(String index, CopyState copy) {
            Request request = new Request(index, Change.COPY_UPDATE, null, null, null, null, null);
            request.copy = Objects.requireNonNull(copy);
            return request;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.index = in.readString();
            this.change = in.readEnum(Change.class);
            this.follow = in.readBoolean() ? FollowMetadata.fromCustomData(in.readMap(StreamInput::readString)) : null;
            this.status = in.readOptionalEnum(FollowMetadata.Status.class);
            this.expectedStatus = in.readOptionalEnum(FollowMetadata.Status.class);
            this.parameters = in.readOptionalWriteable(FollowParameters::new);
            this.checkpoints = in.readImmutableMap(
                StreamInput::readString,
                i -> i.readImmutableMap(StreamInput::readVInt, p -> OplogPosition.ofTimestamp(p.readLong()))
            );
            this.resumePoints = in.readImmutableMap(
                StreamInput::readString,
                i -> i.readImmutableMap(StreamInput::readVInt, p -> ResumePoint.fromStoredJson(p.readString()))
            );
            this.copy = in.readBoolean() ? CopyState.fromCustomData(in.readMap(StreamInput::readString)) : null;
            this.ackTimeout = in.readOptionalTimeValue();
        }

        /**
         * A user's change: it waits for a master for up to {@code masterNodeTimeout}, and its answer says whether every node
         * applied it within {@code ackTimeout} ({@code acknowledged}), as Elasticsearch's own acknowledged requests do.
         */
        public Request acknowledged(TimeValue masterNodeTimeout, TimeValue ackTimeout) {
            masterNodeTimeout(masterNodeTimeout);
            this.ackTimeout = Objects.requireNonNull(ackTimeout);
            return this;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(index);
            out.writeEnum(change);
            out.writeBoolean(follow != null);
            if (follow != null) {
                out.writeMap(follow.toCustomData(), StreamOutput::writeString);
            }
            out.writeOptionalEnum(status);
            out.writeOptionalEnum(expectedStatus);
            out.writeOptionalWriteable(parameters);
            out.writeMap(checkpoints, StreamOutput::writeString, (o, shards) -> o.writeMap(shards, StreamOutput::writeVInt, (o2, p) -> o2.writeLong(p.timestamp())));
            out.writeMap(
                resumePoints,
                StreamOutput::writeString,
                (o, shards) -> o.writeMap(shards, StreamOutput::writeVInt, (o2, p) -> o2.writeString(p.toStoredJson()))
            );
            out.writeBoolean(copy != null);
            if (copy != null) {
                Map<String, String> data = new java.util.TreeMap<>();
                copy.toCustomData(data);
                out.writeMap(data, StreamOutput::writeString);
            }
            out.writeOptionalTimeValue(ackTimeout);
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }

        /** The follow after this change, or null when it ends; fails when the change does not fit. */
        FollowMetadata apply(FollowMetadata current) {
            switch (change) {
                case START -> {
                    if (current != null) {
                        throw new ResourceAlreadyExistsException("index [{}] already follows [{}]", index, current.parameters().namespace());
                    }
                    return follow;
                }
                case SET_STATUS -> {
                    if (current == null) {
                        throw notAFollower(index);
                    }
                    if (expectedStatus != null && current.status() != expectedStatus) {
                        throw new IllegalArgumentException(
                            "the follow of index [" + index + "] is " + current.status().label() + ", not " + expectedStatus.label()
                        );
                    }
                    FollowMetadata updated = current.withStatus(status);
                    return parameters == null ? updated : updated.withParameters(parameters);
                }
                case REMOVE -> {
                    if (current == null) {
                        throw notAFollower(index);
                    }
                    return null;
                }
                case CHECKPOINTS -> throw new AssertionError("checkpoints are applied per index, see applyCheckpoints");
                case NEW_COPY -> {
                    if (current == null) {
                        throw notAFollower(index);
                    }
                    if (current.copy() != null && current.copy().t0().compareTo(copy.t0()) >= 0) {
                        return current; // a newer copy started meanwhile
                    }
                    CopyState next = copy;
                    if (current.copy() != null && current.copy().isRunning()) {
                        // the running copy raised index.gc_deletes: what to restore is still the value from before it
                        next = new CopyState(
                            copy.t0(),
                            copy.state(),
                            copy.resync(),
                            current.copy().gcDeletesBefore(),
                            copy.totalEstimate(),
                            copy.startedMillis(),
                            copy.documentsRead(),
                            copy.documentsRejected(),
                            copy.mixedIdTypes(),
                            copy.ranges(),
                            copy.failure()
                        );
                    }
                    return current.withNewCopy(next).withStatus(FollowMetadata.Status.ACTIVE);
                }
                case COPY_UPDATE -> {
                    if (current == null || current.copy() == null) {
                        return current;
                    }
                    return current.withCopy(current.copy().merge(copy));
                }
                default -> throw new AssertionError(change);
            }
        }

        /** A short description for the master's task queue: the index, or how many indices' checkpoints. */
        String describe() {
            String what = change.name().toLowerCase(java.util.Locale.ROOT);
            return change == Change.CHECKPOINTS ? what + " of " + checkpoints.size() + " indices" : what + " [" + index + "]";
        }

        @Override
        public String toString() {
            return "UpdateFollowMetadata{" + describe() + "}";
        }
    }

    public static ResourceNotFoundException notAFollower(String index) {
        return new ResourceNotFoundException("index [{}] is not a mongo follower index", index);
    }

    private record UpdateTask(Request request, ActionListener<AcknowledgedResponse> listener) implements ClusterStateTaskListener {
        @Override
        public void onFailure(Exception e) {
            listener.onFailure(e);
        }
    }

    /** A user's change answers whether every node applied it within its ack timeout. */
    private record Acks(UpdateTask task) implements ClusterStateAckListener {
        @Override
        public boolean mustAck(DiscoveryNode discoveryNode) {
            return true;
        }

        @Override
        public void onAllNodesAcked() {
            task.listener().onResponse(AcknowledgedResponse.TRUE);
        }

        @Override
        public void onAckFailure(Exception e) {
            task.listener().onResponse(AcknowledgedResponse.FALSE);
        }

        @Override
        public void onAckTimeout() {
            task.listener().onResponse(AcknowledgedResponse.FALSE);
        }

        @Override
        public TimeValue ackTimeout() {
            return task.request().ackTimeout;
        }
    }

    public static class TransportAction extends TransportMasterNodeAction<Request, AcknowledgedResponse> {

        private final MasterServiceTaskQueue<UpdateTask> queue;
        /**
         * The follows' own progress (checkpoints, a copy's progress), at the lowest priority: a busy cluster's follows send
         * it several times a second, which at a higher priority would keep the master from ever running its lowest-priority
         * tasks (such as a health request's {@code wait_for_events=languid}: RandomFaultsIT, seed CD92930580F).
         */
        private final MasterServiceTaskQueue<UpdateTask> progressQueue;

        @Inject
        public TransportAction(TransportService transportService, ClusterService clusterService, ThreadPool threadPool, ActionFilters actionFilters) {
            super(
                NAME,
                transportService,
                clusterService,
                threadPool,
                actionFilters,
                Request::new,
                AcknowledgedResponse::readFrom,
                EsExecutors.DIRECT_EXECUTOR_SERVICE
            );
            this.queue = clusterService.createTaskQueue("mongo-follow-metadata", Priority.NORMAL, new Executor());
            this.progressQueue = clusterService.createTaskQueue("mongo-follow-progress", Priority.LANGUID, new Executor());
        }

        @Override
        protected void masterOperation(Task task, Request request, ClusterState state, ActionListener<AcknowledgedResponse> listener) {
            boolean progress = request.change == Change.CHECKPOINTS || request.change == Change.COPY_UPDATE;
            (progress ? progressQueue : queue).submitTask("mongo_follow " + request.describe(), new UpdateTask(request, listener), request.masterNodeTimeout());
        }

        @Override
        protected ClusterBlockException checkBlock(Request request, ClusterState state) {
            return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_WRITE);
        }
    }

    /**
     * Applies the batch's changes in order; a user's change answers once every node applied it (or its ack timeout passed),
     * the tasks' own (checkpoints, copy progress) once the new state is committed.
     */
    private static final class Executor implements ClusterStateTaskExecutor<UpdateTask> {
        @Override
        public ClusterState execute(BatchExecutionContext<UpdateTask> batch) {
            ClusterState state = batch.initialState();
            for (TaskContext<UpdateTask> context : batch.taskContexts()) {
                UpdateTask task = context.getTask();
                try (var ignored = context.captureResponseHeaders()) {
                    ClusterState before = state;
                    state = executeTask(task, state);
                    if (task.request().ackTimeout != null && state != before) {
                        context.success(new Acks(task));
                    } else { // (a change that changes nothing has nothing for the nodes to apply)
                        context.success(() -> task.listener().onResponse(AcknowledgedResponse.TRUE));
                    }
                } catch (Exception e) {
                    context.onFailure(e);
                }
            }
            return state;
        }

        private static ClusterState executeTask(UpdateTask task, ClusterState state) {
            Request request = task.request();
            if (request.change == Change.CHECKPOINTS) {
                return applyCheckpoints(request.checkpoints, request.resumePoints, state);
            }
            IndexMetadata indexMetadata = ClusterMetadata.index(state, request.index);
            if (indexMetadata == null) {
                throw new IndexNotFoundException(request.index);
            }
            FollowMetadata current = FollowMetadata.of(indexMetadata);
            FollowMetadata updated = request.apply(current);
            if (Objects.equals(current, updated)) {
                return state;
            }
            Metadata.Builder metadata = Metadata.builder(state.metadata());
            put(metadata, indexMetadata, updated);
            return ClusterState.builder(state).metadata(metadata).build();
        }

        /**
         * Moves each index's checkpoints forward. An index that is gone or no longer follows is skipped: a late
         * checkpoint of a stopped task. Only indices whose follow changes get a new index metadata version.
         */
        private static ClusterState applyCheckpoints(
            Map<String, Map<Integer, OplogPosition>> checkpoints,
            Map<String, Map<Integer, ResumePoint>> resumePoints,
            ClusterState state
        ) {
            Metadata.Builder metadata = null;
            for (Map.Entry<String, Map<Integer, OplogPosition>> entry : checkpoints.entrySet()) {
                IndexMetadata indexMetadata = ClusterMetadata.index(state, entry.getKey());
                FollowMetadata current = indexMetadata == null ? null : FollowMetadata.of(indexMetadata);
                if (current == null) {
                    continue;
                }
                FollowMetadata updated = current.withCheckpoints(entry.getValue(), resumePoints.getOrDefault(entry.getKey(), Map.of()));
                if (updated.equals(current) == false) {
                    metadata = metadata == null ? Metadata.builder(state.metadata()) : metadata;
                    put(metadata, indexMetadata, updated);
                }
            }
            return metadata == null ? state : ClusterState.builder(state).metadata(metadata).build();
        }

        private static void put(Metadata.Builder metadata, IndexMetadata indexMetadata, FollowMetadata updated) {
            IndexMetadata.Builder builder = IndexMetadata.builder(indexMetadata);
            if (updated == null) {
                builder.removeCustom(FollowMetadata.CUSTOM_KEY);
            } else {
                builder.putCustom(FollowMetadata.CUSTOM_KEY, updated.toCustomData());
            }
            builder.version(indexMetadata.getVersion() + 1);
            metadata.put(builder);
        }
    }
}

package org.mongofollow.apply;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.replication.ReplicatedWriteRequest;
import org.elasticsearch.action.support.replication.ReplicationResponse;
import org.elasticsearch.action.support.WriteResponse;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.index.translog.Translog;
import org.elasticsearch.rest.RestStatus;

import java.io.IOException;
import java.util.List;

/**
 * The shard-level write of a follow: applies a batch of {@link ShardOperation}s on the follower shard's
 * primary and replicates what it did to the replicas (as CCR's bulk shard operations action does).
 */
public final class ApplyOperationsAction {

    public static final String NAME = "indices:data/write/mongo_follow/apply[s]";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private ApplyOperationsAction() {}

    /**
     * A batch the primary applied only in part, replicating what it applied, because a dynamic mapping update could
     * not be taken now (no master, a fail-over, a timeout): transient, the whole batch is sent again (replays are
     * harmless).
     */
    public static final class IncompleteWriteException extends ElasticsearchException {
        public IncompleteWriteException(String reason) {
            super("the batch was applied only in part and must be sent again: " + reason);
        }

        @Override
        public RestStatus status() {
            return RestStatus.SERVICE_UNAVAILABLE;
        }
    }

    /**
     * The primary's request: the operations with each document's together ({@link DocumentGroups#byDocument}), in the order
     * they must be applied.
     */
    public static final class Request extends ReplicatedWriteRequest<Request> {

        private final List<ShardOperation> operations;
        private final long baseFloor;
        private final FieldSelection fields;
        /** Where the primary runs: what it holds for this request, charged to the node's breaker (never sent). */
        private PrimaryCharge primaryCharge;

        /** Writes without updates (index and delete operations, already selected) or of a follow of every field. */
        public Request(ShardId shardId, List<ShardOperation> operations) {
            this(shardId, operations, 0, FieldSelection.ALL);
        }

        /**
         * @param baseFloor updates apply only to a current document whose version is at least this; an older one may be
         *                  stale (a resync copies again from a new start position) and is reported as a missing base, so the
         *                  follow indexes the document as MongoDB has it instead
         * @param fields    the follow's field selection, which updates are narrowed to ({@link FieldSelection}); index
         *                  operations carry documents already selected
         */
        public Request(ShardId shardId, List<ShardOperation> operations, long baseFloor, FieldSelection fields) {
            super(shardId);
            this.operations = List.copyOf(DocumentGroups.byDocument(operations, ShardOperation::id));
            this.baseFloor = baseFloor;
            this.fields = java.util.Objects.requireNonNull(fields);
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.operations = in.readCollectionAsList(ShardOperation::new);
            this.baseFloor = in.readVLong();
            this.fields = new FieldSelection(in);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeCollection(operations);
            out.writeVLong(baseFloor);
            fields.writeTo(out);
        }

        public FieldSelection fields() {
            return fields;
        }

        public long baseFloor() {
            return baseFloor;
        }

        /** The operations, each document's together and in their order, the documents in the order of their first one. */
        public List<ShardOperation> operations() {
            return operations;
        }

        PrimaryCharge primaryCharge() {
            return primaryCharge;
        }

        void primaryCharge(PrimaryCharge charge) {
            this.primaryCharge = charge;
        }

        @Override
        public String toString() {
            return "ApplyOperationsRequest{shard=" + shardId + ", operations=" + operations.size() + "}";
        }
    }

    /** The replicas' request: exactly what the primary did, as translog operations. */
    public static final class ReplicaRequest extends ReplicatedWriteRequest<ReplicaRequest> {

        private final List<Translog.Operation> operations;

        public ReplicaRequest(ShardId shardId, List<Translog.Operation> operations) {
            super(shardId);
            this.operations = List.copyOf(operations);
        }

        public ReplicaRequest(StreamInput in) throws IOException {
            super(in);
            this.operations = in.readCollectionAsList(Translog.Operation::readOperation);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeCollection(operations);
        }

        public List<Translog.Operation> operations() {
            return operations;
        }

        @Override
        public String toString() {
            return "ApplyOperationsReplicaRequest{shard=" + shardId + ", operations=" + operations.size() + "}";
        }
    }

    /** A document Elasticsearch refused (a mapping conflict, a value it cannot take): never blocks the follow. */
    public record Rejection(String id, long version, String reason) implements Writeable {
        public Rejection(StreamInput in) throws IOException {
            this(in.readString(), in.readVLong(), in.readString());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(id);
            out.writeVLong(version);
            out.writeString(reason);
        }
    }

    /**
     * An update the follower cannot apply to its copy (it lacks the document, or the document's selected copy cannot
     * tell what the update does, or an earlier update of the document in the batch was one): the task looks it up.
     */
    public record MissingBase(String id, long version) implements Writeable {
        public MissingBase(StreamInput in) throws IOException {
            this(in.readString(), in.readVLong());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(id);
            out.writeVLong(version);
        }
    }

    public static final class Response extends ReplicationResponse implements WriteResponse {

        private int applied;
        private int stale;
        private List<Rejection> rejections;
        private List<MissingBase> missingBases;
        private String retryReason;
        private Exception failure;

        private int deferred;

        /**
         * The primary stopped before the end of the batch, having replicated what it applied, when {@code retryReason}
         * (a dynamic mapping update the master could not take now: the sender sends the batch again) or {@code failure}
         * (whatever failed the next operation: the sender handles it as if nothing had been applied) is not null, or when
         * {@code deferred} is not 0: the documents its updates rewrote filled the node's memory budget, and the last
         * {@code deferred} operations of the request (whole documents: see {@link Request#operations()}) were not tried.
         */
        public Response(
            int applied,
            int stale,
            List<Rejection> rejections,
            List<MissingBase> missingBases,
            int deferred,
            String retryReason,
            Exception failure
        ) {
            this.applied = applied;
            this.stale = stale;
            this.rejections = List.copyOf(rejections);
            this.missingBases = List.copyOf(missingBases);
            this.deferred = deferred;
            this.retryReason = retryReason;
            this.failure = failure;
        }

        public Response(StreamInput in) throws IOException {
            super(in);
            this.applied = in.readVInt();
            this.stale = in.readVInt();
            this.rejections = in.readCollectionAsList(Rejection::new);
            this.missingBases = in.readCollectionAsList(MissingBase::new);
            this.deferred = in.readVInt();
            this.retryReason = in.readOptionalString();
            this.failure = in.readBoolean() ? in.readException() : null;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeVInt(applied);
            out.writeVInt(stale);
            out.writeCollection(rejections);
            out.writeCollection(missingBases);
            out.writeVInt(deferred);
            out.writeOptionalString(retryReason);
            out.writeBoolean(failure != null);
            if (failure != null) {
                out.writeException(failure);
            }
        }

        /**
         * How many operations at the end of the request the primary did not try (0 when it got through): the sender sends
         * them in a request of their own once this one's answer is handled. They are whole documents' operations, so
         * every document's operations still apply in order, each document's in one request.
         */
        public int deferred() {
            return deferred;
        }

        /** Why the batch stopped early and must be sent again, or null. */
        public String retryReason() {
            return retryReason;
        }

        /** What failed the batch after part of it was applied and replicated, or null. */
        public Exception failure() {
            return failure;
        }

        /** Operations written. */
        public int applied() {
            return applied;
        }

        /** Operations older than the document's version: a replay, harmlessly skipped. */
        public int stale() {
            return stale;
        }

        public List<Rejection> rejections() {
            return rejections;
        }

        public List<MissingBase> missingBases() {
            return missingBases;
        }

        @Override
        public void setForcedRefresh(boolean forcedRefresh) {
            // no refresh is ever forced
        }
    }
}

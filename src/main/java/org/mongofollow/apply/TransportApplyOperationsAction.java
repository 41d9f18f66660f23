package org.mongofollow.apply;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.replication.TransportReplicationAction;
import org.elasticsearch.action.support.replication.TransportWriteAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateObserver;
import org.elasticsearch.cluster.action.index.MappingUpdatedAction;
import org.elasticsearch.cluster.action.shard.ShardStateAction;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.lucene.uid.Versions;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.Releasable;
import org.elasticsearch.core.Releasables;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.IndexingPressure;
import org.elasticsearch.index.VersionType;
import org.elasticsearch.index.engine.Engine;
import org.elasticsearch.index.engine.VersionConflictEngineException;
import org.elasticsearch.index.get.GetResult;
import org.elasticsearch.index.mapper.DocumentParsingException;
import org.elasticsearch.index.mapper.MapperException;
import org.elasticsearch.index.mapper.Mapping;
import org.elasticsearch.index.mapper.RoutingFieldMapper;
import org.elasticsearch.index.mapper.SourceToParse;
import org.elasticsearch.index.seqno.SequenceNumbers;
import org.elasticsearch.index.shard.IndexShard;
import org.elasticsearch.index.translog.Translog;
import org.elasticsearch.indices.ExecutorSelector;
import org.elasticsearch.indices.IndicesService;
import org.elasticsearch.indices.SystemIndices;
import org.elasticsearch.indices.breaker.CircuitBreakerService;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.node.NodeClosedException;
import org.elasticsearch.search.fetch.subphase.FetchSourceContext;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.compat.ShardWriteAction;
import org.mongofollow.memory.FollowBreaker;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import static org.elasticsearch.action.index.IndexRequest.UNSET_AUTO_GENERATED_TIMESTAMP;

/**
 * Applies a batch of {@link ShardOperation}s on the follower shard's primary with the operations' oplog
 * positions as external versions ({@link VersionType#EXTERNAL_GTE}: an older operation is a harmless
 * conflict, an equal one — a replay, or the operations of one transaction — is applied again), reading
 * the current document in real time for updates, and replicates exactly what it did to the replicas.
 * Dynamic mapping updates go through the master as a bulk write's do; a document whose mapping update the
 * master refuses is rejected (dead-lettered), while a master that cannot take the update now (unavailable,
 * failing over, too busy) ends the batch there: what was applied is replicated, and the sender gets a transient
 * failure and sends the batch again.
 * <p>
 * The documents that updates rewrite are held whole until the replicas have them, and the request's size does not count
 * them (it counts the updates). They are charged to the node's {@link FollowBreaker} until the request completes. Once
 * that breaker is over its limit, the batch ends at the next document: the rest of the request is deferred
 * ({@link ApplyOperationsAction.Response#deferred()}), and the sender sends it in a request of its own. The first
 * document of a request always goes, so every request makes progress however full the breaker is.
 */
public class TransportApplyOperationsAction extends ShardWriteAction<
    ApplyOperationsAction.Request,
    ApplyOperationsAction.ReplicaRequest,
    ApplyOperationsAction.Response> {

    private static final Logger logger = LogManager.getLogger(TransportApplyOperationsAction.class);

    private final MappingUpdatedAction mappingUpdatedAction;
    private final CircuitBreaker breaker;

    @Inject
    public TransportApplyOperationsAction(
        Settings settings,
        TransportService transportService,
        ClusterService clusterService,
        IndicesService indicesService,
        ThreadPool threadPool,
        ShardStateAction shardStateAction,
        ActionFilters actionFilters,
        IndexingPressure indexingPressure,
        SystemIndices systemIndices,
        MappingUpdatedAction mappingUpdatedAction,
        CircuitBreakerService breakerService
    ) {
        super(
            settings,
            ApplyOperationsAction.NAME,
            transportService,
            clusterService,
            indicesService,
            threadPool,
            shardStateAction,
            actionFilters,
            ApplyOperationsAction.Request::new,
            ApplyOperationsAction.ReplicaRequest::new,
            ExecutorSelector.getWriteExecutorForShard(threadPool),
            PrimaryActionExecution.RejectOnOverload,
            indexingPressure,
            systemIndices,
            ReplicaActionExecution.SubjectToCircuitBreaker
        );
        this.mappingUpdatedAction = mappingUpdatedAction;
        this.breaker = Objects.requireNonNull(breakerService.getBreaker(FollowBreaker.NAME), "the [" + FollowBreaker.NAME + "] breaker");
    }

    /**
     * Where the primary runs, the request gets the charge its batch adds the documents it rewrites to. It is released with
     * the indexing pressure's, when the primary's action completes: after the replicas have the documents.
     */
    @Override
    protected Releasable checkPrimaryLimits(ApplyOperationsAction.Request request, boolean rerouteWasLocal, boolean localRerouteInitiatedByNodeClient) {
        Releasable limits = super.checkPrimaryLimits(request, rerouteWasLocal, localRerouteInitiatedByNodeClient);
        PrimaryCharge charge = new PrimaryCharge(breaker);
        request.primaryCharge(charge);
        return Releasables.wrap(limits, charge);
    }

    /**
     * A batch the primary applied only in part (and replicated as far as it went) reaches its sender as the failure that
     * stopped it: a transient one is sent again whole, anything else stops the follow, as when nothing was applied.
     */
    @Override
    protected void doExecute(Task task, ApplyOperationsAction.Request request, ActionListener<ApplyOperationsAction.Response> listener) {
        super.doExecute(task, request, listener.delegateFailureAndWrap((l, response) -> {
            if (response.retryReason() != null) {
                l.onFailure(new ApplyOperationsAction.IncompleteWriteException(response.retryReason()));
            } else if (response.failure() != null) {
                l.onFailure(response.failure());
            } else {
                l.onResponse(response);
            }
        }));
    }

    @Override
    protected ApplyOperationsAction.Response newResponseInstance(StreamInput in) throws IOException {
        return new ApplyOperationsAction.Response(in);
    }

    @Override
    protected int primaryOperationCount(ApplyOperationsAction.Request request) {
        return request.operations().size();
    }

    @Override
    protected long primaryOperationSize(ApplyOperationsAction.Request request) {
        return request.operations().stream().mapToLong(ShardOperation::sizeInBytes).sum();
    }

    @Override
    protected int replicaOperationCount(ApplyOperationsAction.ReplicaRequest request) {
        return request.operations().size();
    }

    @Override
    protected long replicaOperationSize(ApplyOperationsAction.ReplicaRequest request) {
        return request.operations().stream().mapToLong(Translog.Operation::estimateSize).sum();
    }

    @Override
    protected void dispatchedShardOperationOnPrimary(
        ApplyOperationsAction.Request request,
        IndexShard primary,
        ActionListener<PrimaryResult<ApplyOperationsAction.ReplicaRequest, ApplyOperationsAction.Response>> listener
    ) {
        new PrimaryBatch(request, primary, listener).run();
    }

    @Override
    protected void dispatchedShardOperationOnReplica(
        ApplyOperationsAction.ReplicaRequest request,
        IndexShard replica,
        ActionListener<ReplicaResult> listener
    ) {
        ActionListener.completeWith(listener, () -> {
            Translog.Location location = null;
            for (Translog.Operation operation : request.operations()) {
                Engine.Result result = replica.applyTranslogOperation(operation, Engine.Operation.Origin.REPLICA);
                if (result.getResultType() == Engine.Result.Type.MAPPING_UPDATE_REQUIRED) {
                    throw new TransportReplicationAction.RetryOnReplicaException(
                        replica.shardId(),
                        "mappings are not available on the replica yet, triggered update: " + result.getRequiredMappingUpdate()
                    );
                }
                location = syncOperationResultOrThrow(result, location);
            }
            return new WriteReplicaResult<>(request, location, null, replica, logger);
        });
    }

    /** The document a mark of a document the follower does not hold starts from. */
    private static final BytesReference STUB = new org.elasticsearch.common.bytes.BytesArray("{}");

    /** One batch on the primary: applies operation after operation, pausing for mapping updates. */
    private final class PrimaryBatch {
        private final ApplyOperationsAction.Request request;
        /** The request's operations, each document's together. */
        private final List<ShardOperation> operations;
        /** The documents the batch rewrote, charged to the breaker until the request completes. */
        private final PrimaryCharge charge;
        private final IndexShard primary;
        private final ActionListener<PrimaryResult<ApplyOperationsAction.ReplicaRequest, ApplyOperationsAction.Response>> listener;
        private final List<Translog.Operation> replicated = new ArrayList<>();
        private final List<ApplyOperationsAction.Rejection> rejections = new ArrayList<>();
        private final List<ApplyOperationsAction.MissingBase> missingBases = new ArrayList<>();
        /** Documents of this batch with a missing base: their later updates are looked up too. */
        private final Set<String> lookedUp = new HashSet<>();
        private Translog.Location location;
        /** The source of the last index operation, which the replicas receive as it was indexed. */
        private BytesReference lastIndexedSource;
        private int applied;
        private int stale;
        private int next;
        /** How many operations from {@link #next} the last write stands for (more than one for combined updates). */
        private int combined;
        /** Where operation {@link #next} is in its dynamic mapping update: sent, retried, then waited for. */
        private MappingStep mappingStep = MappingStep.NONE;
        /** Observes the cluster state from before the last mapping update was sent. */
        private ClusterStateObserver mappingObserver;
        /** An operation whose mapping update the master refused: its document is deleted when the batch goes on. */
        private ShardOperation refusedByMappingUpdate;

        PrimaryBatch(
            ApplyOperationsAction.Request request,
            IndexShard primary,
            ActionListener<PrimaryResult<ApplyOperationsAction.ReplicaRequest, ApplyOperationsAction.Response>> listener
        ) {
            this.request = request;
            this.operations = request.operations();
            this.charge = Objects.requireNonNull(request.primaryCharge(), "a primary request comes through checkPrimaryLimits");
            this.primary = primary;
            this.listener = listener;
        }

        void run() {
            try {
                if (refusedByMappingUpdate != null) {
                    ShardOperation refused = refusedByMappingUpdate;
                    refusedByMappingUpdate = null;
                    deleteRefused(refused);
                }
                while (next < operations.size()) {
                    ShardOperation operation = operations.get(next);
                    if (next > 0 && charge.bytes() > 0 && operation.id().equals(operations.get(next - 1).id()) == false
                        && charge.hasRoom() == false) {
                        break; // the rest waits for a request of its own: see deferred()
                    }
                    combined = 1;
                    Engine.Result result = applyOnPrimary(operation);
                    // the operation whose version was written: the last of combined updates
                    ShardOperation written = operations.get(next + combined - 1);
                    if (result != null && result.getResultType() == Engine.Result.Type.MAPPING_UPDATE_REQUIRED) {
                        if (mappingStep == MappingStep.RETRIED) {
                            // the update is acknowledged but not applied here yet: wait for a newer cluster state
                            mappingStep = MappingStep.WAITED;
                            waitForNewerClusterState();
                        } else {
                            updateMappingThenContinue(written, result.getRequiredMappingUpdate());
                        }
                        return;
                    }
                    mappingStep = MappingStep.NONE;
                    mappingObserver = null;
                    if (result != null) {
                        record(written, result);
                        if (result.getResultType() == Engine.Result.Type.SUCCESS) {
                            applied += combined - 1; // the updates combined into this write
                        }
                    }
                    next += combined;
                }
            } catch (Exception e) {
                if (replicated.isEmpty()) {
                    listener.onFailure(e);
                } else {
                    // what the primary applied must reach the replicas (a failed request would leave their sequence
                    // numbers missing there): finish with it, and give the sender the failure
                    finish(null, e);
                }
                return;
            }
            finish(null, null); // (outside the try: a failure of the answer itself must not answer twice)
        }

        /**
         * Completes the primary with the operations applied so far and replicates them. With a {@code retryReason} or a
         * {@code failure}, the batch stopped early and its sender gets, once the replicas have what was applied, an
         * {@link ApplyOperationsAction.IncompleteWriteException} (it sends the batch again) or that failure. The operations
         * applied on the primary are always replicated: failing the request instead would leave their sequence numbers
         * missing on the replicas.
         */
        private void finish(String retryReason, Exception failure) {
            int deferred = retryReason == null && failure == null ? operations.size() - next : 0;
            ApplyOperationsAction.ReplicaRequest replicaRequest = new ApplyOperationsAction.ReplicaRequest(request.shardId(), replicated);
            replicaRequest.setParentTask(request.getParentTask());
            replicaRequest.setRefreshPolicy(request.getRefreshPolicy()); // a refresh the sender asked for reaches the replicas too
            listener.onResponse(
                new WritePrimaryResult<>(
                    replicaRequest,
                    new ApplyOperationsAction.Response(applied, stale, rejections, missingBases, deferred, retryReason, failure),
                    location,
                    primary,
                    logger,
                    postWriteRefresh
                )
            );
        }

        /** An update that must be looked up in MongoDB; later updates of the same document in the batch must be too. */
        private Engine.Result missingBase(ShardOperation operation) {
            missingBases.add(new ApplyOperationsAction.MissingBase(operation.id(), operation.version()));
            lookedUp.add(operation.id());
            return null;
        }

        /** Applies one operation; null when there is nothing to write (a stale update, a missing base). */
        private Engine.Result applyOnPrimary(ShardOperation operation) throws IOException {
            return switch (operation.kind()) {
                case INDEX -> index(operation.id(), operation.version(), operation.payload());
                case DELETE -> delete(operation);
                case MARK_DELETED -> markDeleted(operation);
                case UPDATE_DIFF, UPDATE_V1, UPDATE_DESCRIPTION -> update(operation);
            };
        }

        /**
         * A delete; one with a sharded collection's shard key values skips a document that contradicts them, the one a move
         * to another shard put under the same {@code _id} ({@link DocumentKeys}), and counts as stale.
         */
        private Engine.Result delete(ShardOperation operation) throws IOException {
            // (also after a looked-up update of the document in this batch: the document a later insert of the batch wrote
            // is the one to keep; a stale one that the delete skips is deleted by the look-up, which finds it gone)
            if (operation.payload().length() > 0) {
                GetResult current = current(operation.id());
                if (current.isExists() && DocumentKeys.contradicts(current.internalSourceRef(), operation.payload())) {
                    stale++;
                    return null;
                }
            }
            return versionedDelete(operation);
        }

        /**
         * MongoDB's delete of a document the follow keeps marked ({@link OnDelete}): the current document, marked, at the
         * delete's version. Where the follower holds none (a document the initial copy had not written yet, or one refused or
         * dropped by a pipeline), a stub with the marks only: the follower knows the document was deleted, not what it held,
         * and an older write (the copy's) stays out, as a delete's tombstone would keep it. A document key that the current
         * document contradicts skips it, as a delete does.
         */
        private Engine.Result markDeleted(ShardOperation operation) throws IOException {
            GetResult current = current(operation.id());
            if (current.isExists() == false) {
                return index(operation.id(), operation.version(), OnDelete.mark(STUB, operation.payload()));
            }
            BytesReference key = OnDelete.key(operation.payload());
            if (key.length() > 0 && DocumentKeys.contradicts(current.internalSourceRef(), key)) {
                stale++;
                return null;
            }
            if (current.getVersion() > operation.version()) {
                stale++;
                return null;
            }
            BytesReference marked = OnDelete.mark(current.internalSourceRef(), operation.payload());
            charge.add(marked.length());
            return index(operation.id(), operation.version(), marked);
        }

        /** The document's delete at the operation's version, unless it holds a later one. */
        private Engine.DeleteResult versionedDelete(ShardOperation operation) throws IOException {
            return primary.applyDeleteOperationOnPrimary(
                operation.version(),
                operation.id(),
                VersionType.EXTERNAL_GTE,
                SequenceNumbers.UNASSIGNED_SEQ_NO,
                SequenceNumbers.UNASSIGNED_PRIMARY_TERM
            );
        }

        /** The document as the primary holds it now (a realtime get). */
        private GetResult current(String id) throws IOException {
            // what getForUpdate reads (its signature differs between 8.19, 9.1 and 9.2; this one is the same in all)
            return primary.getService()
                .get(id, new String[] { RoutingFieldMapper.NAME }, true, Versions.MATCH_ANY, VersionType.INTERNAL, FetchSourceContext.FETCH_SOURCE, false);
        }

        /**
         * An update, and the updates of the same document right after it, go into one write ({@link UpdateRun}). Sets
         * {@link #combined} to the number of operations written.
         */
        private Engine.Result update(ShardOperation operation) throws IOException {
            GetResult current = current(operation.id());
            if (lookedUp.contains(operation.id())) {
                // an earlier update of the document in this batch is looked up: this one applies to what MongoDB has
                return missingBase(operation);
            }
            if (current.isExists() == false || current.getVersion() < request.baseFloor()) {
                return missingBase(operation);
            }
            if (current.getVersion() > operation.version()) {
                stale++;
                return null;
            }
            UpdateRun.Written written;
            try {
                written = UpdateRun.apply(operations, next, current.internalSourceRef(), request.fields());
            } catch (RejectedDocumentException e) {
                // the updated document cannot be taken: it leaves the index rather than stay behind in an old version
                rejections.add(new ApplyOperationsAction.Rejection(operation.id(), operation.version(), e.getMessage()));
                return versionedDelete(operation);
            }
            if (written == null) {
                // the selected copy cannot take this update: the follow indexes the document as MongoDB has it
                return missingBase(operation);
            }
            combined = written.count();
            charge.add(written.source().length());
            return index(operation.id(), operations.get(next + combined - 1).version(), written.source());
        }

        private Engine.IndexResult index(String id, long version, BytesReference source) throws IOException {
            lastIndexedSource = source;
            return primary.applyIndexOperationOnPrimary(
                version,
                VersionType.EXTERNAL_GTE,
                new SourceToParse(id, source, XContentType.JSON),
                SequenceNumbers.UNASSIGNED_SEQ_NO,
                SequenceNumbers.UNASSIGNED_PRIMARY_TERM,
                UNSET_AUTO_GENERATED_TIMESTAMP,
                false
            );
        }

        private void record(ShardOperation operation, Engine.Result result) throws Exception {
            if (result.getResultType() == Engine.Result.Type.SUCCESS) {
                applied++;
                if (result instanceof Engine.IndexResult) {
                    replicated.add(
                        new Translog.Index(
                            operation.id(),
                            result.getSeqNo(),
                            result.getTerm(),
                            result.getVersion(),
                            lastIndexedSource,
                            null,
                            UNSET_AUTO_GENERATED_TIMESTAMP
                        )
                    );
                } else {
                    replicated.add(new Translog.Delete(operation.id(), result.getSeqNo(), result.getTerm(), result.getVersion()));
                }
                location = locationToSync(location, result.getTranslogLocation());
                return;
            }
            Exception failure = result.getFailure();
            if (ExceptionsHelper.unwrapCause(failure) instanceof VersionConflictEngineException) {
                stale++; // an older operation than the document's: a replay, harmless
                return;
            }
            if (isDocumentFailure(failure) == false) {
                throw failure;
            }
            rejections.add(new ApplyOperationsAction.Rejection(operation.id(), operation.version(), ExceptionsHelper.unwrapCause(failure).getMessage()));
            if (result.getSeqNo() != SequenceNumbers.UNASSIGNED_SEQ_NO) {
                replicated.add(new Translog.NoOp(result.getSeqNo(), result.getTerm(), "mongo_follow rejected document: " + failure.getMessage()));
                location = locationToSync(location, result.getTranslogLocation());
            }
            if (result instanceof Engine.IndexResult) {
                deleteRefused(operation);
            }
        }

        /** The refused version goes to the dead-letter index: the document leaves the index rather than stay in an older version. */
        private void deleteRefused(ShardOperation operation) throws Exception {
            Engine.DeleteResult deleted = versionedDelete(operation);
            if (deleted.getResultType() == Engine.Result.Type.SUCCESS) {
                replicated.add(new Translog.Delete(operation.id(), deleted.getSeqNo(), deleted.getTerm(), deleted.getVersion()));
                location = locationToSync(location, deleted.getTranslogLocation());
            } else if (ExceptionsHelper.unwrapCause(deleted.getFailure()) instanceof VersionConflictEngineException == false) {
                throw deleted.getFailure();
            }
        }

        /**
         * Sends the dynamic mapping update to the master, then retries the operation right away, as
         * Elasticsearch's own bulk does. Another batch may have sent the same update first: the master then
         * acknowledges without publishing a new cluster state, so waiting for the mapping version to change
         * would wait for nothing (and the batch failed after the request timeout).
         */
        private void updateMappingThenContinue(ShardOperation operation, Mapping update) {
            mappingObserver = new ClusterStateObserver(clusterService, request.timeout(), logger, threadPool.getThreadContext());
            mappingUpdatedAction.updateMappingOnMaster(primary.shardId().getIndex(), update, new ActionListener<>() {
                @Override
                public void onResponse(Void unused) {
                    mappingStep = MappingStep.RETRIED;
                    continueOnWritePool();
                }

                @Override
                public void onFailure(Exception e) {
                    if (isDocumentFailure(e) == false) {
                        // the master is unavailable, failing over or too busy: the batch ends here and is sent again
                        onWritePool(() -> finish("dynamic mapping update failed: " + e, null));
                        return;
                    }
                    rejections.add(new ApplyOperationsAction.Rejection(operation.id(), operation.version(), "mapping update failed: " + ExceptionsHelper.unwrapCause(e).getMessage()));
                    mappingStep = MappingStep.NONE;
                    mappingObserver = null;
                    refusedByMappingUpdate = operation;
                    next += combined;
                    continueOnWritePool();
                }
            });
        }

        /** Retries the operation once a cluster state newer than the one before the mapping update is applied here. */
        private void waitForNewerClusterState() {
            mappingObserver.waitForNextChange(new ClusterStateObserver.Listener() {
                @Override
                public void onNewClusterState(ClusterState state) {
                    continueOnWritePool();
                }

                @Override
                public void onClusterServiceClose() {
                    listener.onFailure(new NodeClosedException(clusterService.localNode()));
                }

                @Override
                public void onTimeout(TimeValue timeout) {
                    // transient: the batch ends here and is sent again
                    onWritePool(() -> finish("timed out after " + timeout + " waiting for a dynamic mapping update", null));
                }
            });
        }

        private void continueOnWritePool() {
            onWritePool(this::run);
        }

        /** Runs the rest of the batch on the write pool; if the pool refuses, the batch ends here and is sent again. */
        private void onWritePool(Runnable action) {
            try {
                threadPool.executor(ThreadPool.Names.WRITE).execute(action);
            } catch (EsRejectedExecutionException e) {
                finish("the write pool refused the rest of the batch: " + e.getMessage(), null);
            }
        }
    }

    private enum MappingStep {
        /** No mapping update pending for the operation. */
        NONE,
        /** The update is acknowledged and the operation retried. */
        RETRIED,
        /** The retry still missed the mapping and waited for a newer cluster state; a further miss sends the update again. */
        WAITED
    }

    /** Failures of one document (its content or mapping) rather than of the shard or node. */
    static boolean isDocumentFailure(Exception failure) {
        Throwable cause = ExceptionsHelper.unwrapCause(failure);
        return cause instanceof MapperException || cause instanceof IllegalArgumentException
            || cause instanceof DocumentParsingException;
    }
}

package org.mongofollow.copy;

import com.mongodb.ReadConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;
import com.mongodb.client.model.Sorts;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.RawBsonDocument;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.master.AcknowledgedResponse;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.routing.IndexRouting;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.util.concurrent.AbstractRunnable;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.persistent.AllocatedPersistentTask;
import org.elasticsearch.tasks.TaskId;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.apply.RejectedDocumentException;
import org.mongofollow.ingest.FollowPipelines;
import org.mongofollow.ingest.PipelineStage;
import org.mongofollow.apply.ShardOperation;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.memory.FollowBreaker;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.security.AsFollowUserClient;
import org.mongofollow.task.DeadLetters;
import org.mongofollow.task.FollowFailures;
import org.mongofollow.task.FollowThreadPool;
import org.mongofollow.task.RetryScheduling;
import org.mongofollow.task.ShardFollowNodeTask;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a follow's copy on the node its persistent task is assigned to, while the shard tasks follow the oplog
 * from the copy's t0:
 * <ol>
 * <li>plans the {@code _id} ranges ({@link IdRanges}) once and stores the plan in the follower index's metadata;</li>
 * <li>copies the ranges through a {@link CopyCoordinator}: batches of {@code initial_copy_batch_size} documents read in
 * {@code _id} order with read concern majority, up to {@code initial_copy_max_concurrent_ranges} ranges at a time, written
 * to the follower shards through {@link ApplyOperationsAction} as full documents with version t0 (so a copied document
 * never overwrites an operation of the log, whose versions are all above t0), within the follow's write and buffer
 * budgets; documents Elasticsearch refuses (the mapping of a value or a field name, or the primary) go to the
 * dead-letter index ({@link DeadLetters}, operation {@code copy}, version t0) and are removed from the index; each range's
 * progress is stored at most once per {@code checkpoint_interval}, so a copy that restarts (node loss, restart, pause)
 * reads again at most the batches in flight since the last store;</li>
 * <li>sweeps ({@link CopySweep}) what neither the copy nor the log wrote, unless the index had never been written when the
 * follow started;</li>
 * <li>restores {@code index.gc_deletes} and marks the copy done.</li>
 * </ol>
 * Every step runs on the plugin's pool and hands its waiting to a listener or a scheduled retry: no thread waits for a
 * response or sleeps.
 */
public class CopyNodeTask extends AllocatedPersistentTask {

    private static final Logger logger = LogManager.getLogger(CopyNodeTask.class);

    private static final int MAX_SWEEP_ATTEMPTS = 5;

    private final CopyTask params;
    private final ShardFollowNodeTask.Services services;
    private final ClusterService clusterService;
    /** Runs the copy's steps; a step refused by a full queue is offered again until it runs. */
    private final Executor steps;
    /** The copy's writes, sweep and dead letters run as the follow's user; its bookkeeping (progress, gc_deletes) as the node. */
    private final Client asUser;
    private final DeadLetters deadLetters;

    private volatile boolean stopped;
    /** How the follow versions documents (from its metadata, read when the copy starts). */
    private volatile DocumentVersions versions = DocumentVersions.IDENTITY;
    /** The ranges being copied, or null before the plan is stored. */
    private volatile RangeCopier copier;
    private int planRetries;
    private boolean publishScheduled;

    public CopyNodeTask(
        long id,
        String type,
        String action,
        String description,
        TaskId parentTask,
        Map<String, String> headers,
        CopyTask params,
        ShardFollowNodeTask.Services services,
        ClusterService clusterService
    ) {
        super(id, type, action, description, parentTask, headers);
        this.params = params;
        this.services = services;
        this.clusterService = clusterService;
        this.steps = RetryScheduling.retryingRejections(services.threadPool(), services.executor());
        this.asUser = new AsFollowUserClient(services.client(), params.user());
        this.deadLetters = new DeadLetters(asUser);
    }

    public CopyTask params() {
        return params;
    }

    @Override
    protected void onCancelled() {
        stopped = true;
        RangeCopier running = copier;
        if (running != null) {
            running.stop();
        }
        publishNow();
        markAsCompleted();
    }

    private boolean stopping() {
        return stopped || isCancelled() || services.threadPool().executor(FollowThreadPool.NAME).isShutdown();
    }

    /** Starts the copy in the background. */
    void start() {
        steps.execute(this::run);
    }

    /** Reads the copy's state, plans its ranges if no plan is stored yet, and copies them. */
    private void run() {
        try {
            IndexMetadata index = ClusterMetadata.index(clusterService.state(), params.index());
            FollowMetadata follow = index == null ? null : FollowMetadata.of(index);
            if (follow == null || follow.copy() == null || follow.copy().isRunning() == false || follow.status() != FollowMetadata.Status.ACTIVE) {
                markAsCompleted();
                return;
            }
            CopyState state = follow.copy();
            versions = follow.versions();
            // the operator may have taken the follow's hosts off mongo_follow.connection.allowlist since it started
            services.allowlist().check(params.follow().endpoint());
            if (state.planned()) {
                logger.info("[{}] resuming the copy of [{}] from {}: {} of {} ranges done, {} documents copied", params.index(), params.follow().namespace(), state.t0(), state.rangesDone(), state.ranges().size(), state.documentsCopied());
                copy(index, state);
                return;
            }
            IdRanges.Plan plan;
            try {
                plan = IdRanges.plan(
                    collection(BsonDocument.class),
                    params.follow().copyMaxConcurrentRanges(),
                    ChunkBounds.of(services.mongoClients().client(params.follow().endpoint()), params.follow().namespace())
                );
            } catch (Exception e) {
                if (stopping() || FollowFailures.shouldRetry(e) == false) {
                    throw e;
                }
                logger.debug(() -> "[" + params.index() + "] planning the copy failed, planning again", e);
                retryLater(++planRetries, this::run);
                return;
            }
            CopyState planned = state.withPlan(plan.estimate(), plan.mixedTypes(), plan.ranges());
            update(planned, ActionListener.wrap(r -> steps.execute(() -> afterPlan(planned)), this::fail));
        } catch (Exception e) {
            if (stopping() == false) {
                fail(e);
            }
        }
    }

    /** The plan is stored: copies it, unless a resync replaced the copy meanwhile. */
    private void afterPlan(CopyState planned) {
        try {
            IndexMetadata index = ClusterMetadata.index(clusterService.state(), params.index());
            FollowMetadata follow = index == null ? null : FollowMetadata.of(index);
            CopyState state = follow == null ? null : follow.copy();
            if (state == null || state.t0().equals(planned.t0()) == false) {
                completeOrCopyAgain(planned.t0());
                return;
            }
            logger.info("[{}] copying [{}] from {} in {} ranges (about {} documents)", params.index(), params.follow().namespace(), state.t0(), state.ranges().size(), state.totalEstimate());
            copy(index, state);
        } catch (Exception e) {
            if (stopping() == false) {
                fail(e);
            }
        }
    }

    private void copy(IndexMetadata index, CopyState state) {
        RangeCopier ranges = new RangeCopier(index, state.withFailure(null)); // a failed copy started again: its progress clears the failure
        copier = ranges;
        if (stopping()) {
            return; // (a cancellation that came before the copier was set did not see it)
        }
        ranges.start();
    }

    private <T> MongoCollection<T> collection(Class<T> type) {
        return services.mongoClients()
            .client(params.follow().endpoint())
            .getDatabase(params.follow().database())
            .getCollection(params.follow().collection(), type)
            .withReadConcern(ReadConcern.MAJORITY);
    }

    /** Every range is copied: sweeps, restores {@code index.gc_deletes}, and marks the copy done. */
    private void finish(RangeCopier ranges) {
        if (stopping()) {
            return;
        }
        publishNow();
        OplogPosition t0 = ranges.state.t0();
        ActionListener<Long> afterSweep = ActionListener.wrap(swept -> {
            if (swept > 0) {
                logger.info("[{}] the copy removed {} documents that MongoDB no longer has", params.index(), swept);
            }
            if (stopping()) {
                return;
            }
            if (replacement(t0) != null) {
                completeOrCopyAgain(t0); // index.gc_deletes stays raised for the copy that replaced this one
                return;
            }
            GcDeletes.restore(services.client(), params.index(), ranges.state.gcDeletesBefore(), ActionListener.wrap(
                restored -> update(ranges.snapshot().done(), ActionListener.wrap(r -> {
                    logger.info(
                        "[{}] the copy of [{}] is done: {} documents (this run: {} read in {} ms of reads, written in {} ms of writes, summed over requests)",
                        params.index(),
                        params.follow().namespace(),
                        ranges.snapshot().documentsCopied(),
                        ranges.documentsRead(),
                        TimeUnit.NANOSECONDS.toMillis(ranges.readNanos()),
                        TimeUnit.NANOSECONDS.toMillis(ranges.writeNanos())
                    );
                    completeOrCopyAgain(t0);
                }, this::fail)),
                this::fail
            ));
        }, e -> {
            if (stopping() == false) {
                fail(e);
            }
        });
        if (nothingToSweep(ranges.state)) {
            afterSweep.onResponse(0L);
        } else {
            sweep(ranges.index, versions.of(t0), 1, afterSweep);
        }
    }

    /**
     * The initial copy of an index that had never been written when the follow started (its versions have a base, see
     * {@link DocumentVersions#forNewFollow}) has nothing to sweep: every document in it was written by this copy (version
     * t0) or by the log after t0. A resync, and the copy of an index that held documents, sweep.
     */
    private boolean nothingToSweep(CopyState state) {
        return state.resync() == false && versions.equals(DocumentVersions.IDENTITY) == false;
    }

    /** The sweep is idempotent: a failure (a primary moving, a scroll lost) runs it again, a few times. */
    private void sweep(IndexMetadata index, long t0, int attempt, ActionListener<Long> listener) {
        new CopySweep(asUser, index, t0, versions.position(t0), params.follow().onDelete(), this::stopping).run(listener.delegateResponse((l, e) -> {
            if (stopping() || attempt >= MAX_SWEEP_ATTEMPTS) {
                l.onFailure(e);
                return;
            }
            logger.debug(() -> "[" + params.index() + "] the copy's sweep failed, running it again", e);
            RetryScheduling.schedule(
                services.threadPool(),
                TimeValue.timeValueMillis(500L * attempt),
                services.executor(),
                () -> sweep(index, t0, attempt + 1, l)
            );
        }));
    }

    /**
     * The running copy of the follow when a resync replaced the one from {@code t0} (a newer start position), or null. Its
     * resync found this task still running, so started none: this task copies it.
     */
    private CopyState replacement(OplogPosition t0) {
        IndexMetadata index = ClusterMetadata.index(clusterService.state(), params.index());
        FollowMetadata follow = index == null || index.getIndexUUID().equals(params.indexUuid()) == false ? null : FollowMetadata.of(index);
        if (follow == null || follow.status() != FollowMetadata.Status.ACTIVE || follow.copy() == null || follow.copy().isRunning() == false) {
            return null;
        }
        return follow.copy().t0().after(t0) ? follow.copy() : null;
    }

    /**
     * Ends the task, unless a resync replaced the copy from {@code t0} meanwhile (two shard tasks that lost their history
     * at once each start one): then it copies the replacement, with {@code index.gc_deletes} raised again in case the
     * replaced copy restored it.
     */
    private void completeOrCopyAgain(OplogPosition t0) {
        CopyState replacement = stopping() ? null : replacement(t0);
        if (replacement == null) {
            markAsCompleted();
            return;
        }
        logger.info("[{}] a resync replaced the copy from {} with one from {}: copying that one", params.index(), t0, replacement.t0());
        copier = null;
        GcDeletes.raise(services.client(), params.index(), ActionListener.wrap(raised -> steps.execute(this::run), this::fail));
    }

    private void fail(Exception e) {
        logger.warn(() -> "[" + params.index() + "] the copy of [" + params.follow().namespace() + "] failed", e);
        RangeCopier ranges = copier;
        if (ranges == null) {
            markAsFailed(e);
            return;
        }
        update(ranges.snapshot().withFailure(ExceptionsHelper.unwrapCause(e).toString()), ActionListener.running(() -> markAsFailed(e)));
    }

    private void retryLater(int retry, Runnable step) {
        long bound = Math.min(Math.max(10, params.follow().budgets().maxRetryDelay().millis()), RetryScheduling.INITIAL_RETRY_DELAY_MILLIS << Math.min(retry - 1, 20));
        RetryScheduling.schedule(services.threadPool(), TimeValue.timeValueMillis(bound), services.executor(), step);
    }

    private synchronized void schedulePublish() {
        if (publishScheduled) {
            return;
        }
        publishScheduled = true;
        services.threadPool().scheduleUnlessShuttingDown(params.follow().budgets().checkpointInterval(), services.threadPool().generic(), this::publishNow);
    }

    /** Stores the progress now (fire and forget: a lost update is followed by a newer one, or re-read on resume). */
    private void publishNow() {
        synchronized (this) {
            publishScheduled = false;
        }
        RangeCopier ranges = copier;
        if (ranges == null) {
            return;
        }
        services.client()
            .execute(
                UpdateFollowMetadataAction.INSTANCE,
                UpdateFollowMetadataAction.Request.copyUpdate(params.index(), ranges.snapshot()),
                ActionListener.wrap(r -> {}, e -> logger.debug(() -> "[" + params.index() + "] could not store the copy's progress", e))
            );
    }

    private void update(CopyState state, ActionListener<AcknowledgedResponse> listener) {
        services.client().execute(UpdateFollowMetadataAction.INSTANCE, UpdateFollowMetadataAction.Request.copyUpdate(params.index(), state), listener);
    }

    /** A dead letter for a copied document that Elasticsearch or the mapping refused (logged too), with its selected fields only. */
    private DeadLetters.Letter letter(int shard, String id, OplogPosition t0, RawBsonDocument document, String reason) {
        logger.warn("[{}][{}] copied document [{}] rejected: {}", params.index(), shard, id, reason);
        return DeadLetters.Letter.copy(params.index(), shard, params.follow().namespace(), id, t0, versions.of(t0),
            document == null ? null : params.follow().fields().select(document), reason);
    }

    /**
     * One follower shard's part of a copied batch: its operations (a document that cannot be indexed is a delete, with
     * its letter), and the batch's documents by id for the letters of documents the primary refuses.
     */
    record ShardBatch(List<ShardOperation> operations, List<DeadLetters.Letter> letters, Map<String, RawBsonDocument> documents) {}

    /** The copy of the planned ranges: the coordinator with MongoDB reads and follower shard writes. */
    private final class RangeCopier extends CopyCoordinator<ShardBatch> {
        final IndexMetadata index;
        final CopyState state;
        private final IndexRouting routing;
        private final MongoCollection<RawBsonDocument> collection;
        private final long version;

        RangeCopier(IndexMetadata index, CopyState state) {
            super(
                new CopyCoordinator.Limits(
                    params.follow().copyMaxConcurrentRanges(),
                    params.follow().copyBatchSize(),
                    params.follow().budgets().maxOutstandingWriteRequests(),
                    params.follow().budgets().maxWriteBufferSize().getBytes(),
                    params.follow().budgets().maxRetryDelay().millis()
                ),
                state.ranges()
            );
            this.index = index;
            this.state = state;
            this.routing = IndexRouting.fromIndexMetadata(index);
            this.collection = collection(RawBsonDocument.class);
            this.version = versions.of(state.t0());
        }

        CopyState snapshot() {
            return state.withProgress(progress(), state.documentsRead() + documentsRead(), state.documentsRejected() + documentsRejected());
        }

        @Override
        protected void innerRead(Read read, Consumer<Batch<ShardBatch>> onSuccess, Consumer<Exception> onFailure) {
            services.executor().execute(new AbstractRunnable() {
                @Override
                protected void doRun() {
                    Batch<ShardBatch> batch;
                    try {
                        batch = read(read);
                    } catch (Exception e) {
                        onFailure.accept(e);
                        return;
                    }
                    onSuccess.accept(batch);
                }

                @Override
                public void onRejection(Exception e) {
                    onFailure.accept(e);
                }

                @Override
                public void onFailure(Exception e) {
                    logger.warn(() -> "[" + params.index() + "] the copy could not account a read", e);
                }
            });
        }

        /**
         * Reads a batch with one query (an index scan of the range after the last {@code _id} read on a real server) and
         * turns its documents into shard operations.
         */
        private Batch<ShardBatch> read(Read read) throws Exception {
            CopyState.Range after = new CopyState.Range(read.bounds().lower(), read.bounds().upper(), read.after(), 0, false);
            List<RawBsonDocument> documents = new ArrayList<>(Math.min(read.limit(), 10_000));
            try (
                MongoCursor<RawBsonDocument> cursor = collection.find(IdRanges.nextBatch(after, state.mixedIdTypes()))
                    .sort(Sorts.ascending("_id"))
                    .limit(read.limit())
                    .batchSize(read.limit())
                    .iterator()
            ) {
                while (cursor.hasNext()) {
                    documents.add(cursor.next());
                }
            }
            Map<Integer, ShardBatch> byShard = new HashMap<>();
            long bytes = 0;
            BsonValue last = null;
            for (RawBsonDocument document : documents) {
                BsonValue mongoId = document.get("_id");
                last = mongoId;
                String id = DocumentIds.toElasticsearchId(mongoId);
                int shard = routing.getShard(id, null);
                ShardBatch shardBatch = byShard.computeIfAbsent(shard, s -> new ShardBatch(new ArrayList<>(), new ArrayList<>(), new HashMap<>()));
                ShardOperation operation;
                try {
                    operation = ShardOperation.index(id, version, document, params.follow().fields());
                } catch (RejectedDocumentException e) {
                    shardBatch.letters().add(letter(shard, id, state.t0(), document, e.getMessage()));
                    operation = new ShardOperation(ShardOperation.Kind.DELETE, id, version, BytesArray.EMPTY);
                }
                shardBatch.operations().add(operation);
                shardBatch.documents().put(id, document);
                bytes += operation.sizeInBytes() + document.getByteBuffer().remaining();
            }
            return new Batch<>(documents.size(), last, bytes, byShard);
        }

        @Override
        protected void innerWrite(int shard, ShardBatch write, Consumer<Integer> onSuccess, Consumer<Exception> onFailure) {
            // the index's pipeline settings are dynamic: read them for every batch
            IndexMetadata current = ClusterMetadata.index(clusterService.state(), index.getIndex());
            FollowPipelines pipelines = current == null ? FollowPipelines.NONE : FollowPipelines.resolve(current, params.follow().pipeline());
            PipelineStage.run(asUser, params.index(), pipelines, write.operations(), ActionListener.wrap(staged -> {
                List<DeadLetters.Letter> refused = new ArrayList<>(write.letters());
                staged.failures().forEach((i, reason) -> {
                    String id = write.operations().get(i).id();
                    refused.add(letter(shard, id, state.t0(), write.documents().get(id), reason));
                });
                writeStaged(shard, staged.writes(), refused, write.documents(), onSuccess, onFailure);
            }, onFailure::accept));
        }

        private void writeStaged(
            int shard,
            List<ShardOperation> operations,
            List<DeadLetters.Letter> refused,
            Map<String, RawBsonDocument> documents,
            Consumer<Integer> onSuccess,
            Consumer<Exception> onFailure
        ) {
            ApplyOperationsAction.Request request = new ApplyOperationsAction.Request(new ShardId(index.getIndex(), shard), operations);
            asUser.execute(ApplyOperationsAction.INSTANCE, request, new ActionListener<>() {
                @Override
                public void onResponse(ApplyOperationsAction.Response response) {
                    List<DeadLetters.Letter> letters = new ArrayList<>(refused);
                    for (ApplyOperationsAction.Rejection rejection : response.rejections()) {
                        letters.add(letter(shard, rejection.id(), state.t0(), documents.get(rejection.id()), rejection.reason()));
                    }
                    deadLetters.write(params.follow().deadLetterIndex(), letters, () -> onSuccess.accept(letters.size()));
                }

                @Override
                public void onFailure(Exception e) {
                    onFailure.accept(e);
                }
            });
        }

        @Override
        protected void innerProgress() {
            schedulePublish();
        }

        @Override
        protected void innerCompleted() {
            steps.execute(() -> finish(this));
        }

        @Override
        protected void innerFailed(Exception e) {
            if (stopping() == false) {
                steps.execute(() -> fail(e));
            }
        }

        @Override
        protected void innerReserveMemory(long bytes, boolean force) {
            FollowBreaker.reserve(services.breaker(), bytes, force, "mongo_follow copy [" + params.index() + "]");
        }

        @Override
        protected void innerReleaseMemory(long bytes) {
            services.breaker().addWithoutBreaking(-bytes);
        }

        @Override
        protected void schedule(TimeValue delay, Runnable task) {
            RetryScheduling.schedule(services.threadPool(), delay, services.executor(), task);
        }

        @Override
        protected boolean shouldRetry(Exception e) {
            return FollowFailures.shouldRetry(e);
        }

        @Override
        protected long relativeTimeNanos() {
            return System.nanoTime();
        }
    }
}

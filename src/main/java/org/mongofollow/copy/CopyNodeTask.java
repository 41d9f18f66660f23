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
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.action.support.PlainActionFuture;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.routing.IndexRouting;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.persistent.AllocatedPersistentTask;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.tasks.TaskId;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.apply.RejectedDocumentException;
import org.mongofollow.apply.ShardOperation;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.task.DeadLetters;
import org.mongofollow.task.FollowFailures;
import org.mongofollow.task.ShardFollowNodeTask;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a follow's copy on the node its persistent task is assigned to, while the shard tasks follow the oplog
 * from the copy's t0:
 * <ol>
 * <li>plans the {@code _id} ranges ({@link IdRanges}) once and stores the plan in the follower index's metadata;</li>
 * <li>copies up to {@code initial_copy_max_concurrent_ranges} ranges at a time, each in batches of
 * {@code initial_copy_batch_size} documents read in {@code _id} order with read concern majority, written to the
 * follower shards through {@link ApplyOperationsAction} as full documents with version t0 (so a copied document
 * never overwrites an operation of the log, whose versions are all above t0); documents Elasticsearch refuses (the
 * mapping of a value or a field name, or the primary) go to the dead-letter index ({@link DeadLetters}, operation
 * {@code copy}, version t0) and are removed from the index; after each batch the range's last {@code _id} is
 * recorded and stored at most once per {@code checkpoint_interval}, so a copy that restarts (node loss, restart,
 * pause) reads again at most the batches in flight since the last store;</li>
 * <li>sweeps: deletes, with version t0, every document of the index whose version is below t0 (neither the copy
 * nor the log wrote it: left over from before a resync, deleted while the follow could not see it);</li>
 * <li>restores {@code index.gc_deletes} and marks the copy done.</li>
 * </ol>
 * Blocking I/O, on the plugin's thread pool.
 */
public class CopyNodeTask extends AllocatedPersistentTask {

    private static final Logger logger = LogManager.getLogger(CopyNodeTask.class);

    private static final int SWEEP_PAGE_SIZE = 1000;
    private static final TimeValue SWEEP_SCROLL_KEEP_ALIVE = TimeValue.timeValueMinutes(5);

    private final CopyTask params;
    /** How the follow versions documents (from its metadata, read when the copy starts). */
    private volatile DocumentVersions versions = DocumentVersions.IDENTITY;
    private final ShardFollowNodeTask.Services services;
    private final ClusterService clusterService;

    private volatile boolean stopped;
    private CopyState copy;
    private CopyState.Range[] ranges;
    private final AtomicLong read = new AtomicLong();
    private final AtomicLong readNanos = new AtomicLong();
    private final AtomicLong writeNanos = new AtomicLong();
    private long readAtStart;
    private long rejectedAtStart;
    // documents this run sent to the dead-letter index, counted when their batch advances its range, so the stored
    // count always goes with the stored progress (a resumed copy reads the batches after it again, not the ones before)
    private long rejected;
    private final DeadLetters deadLetters;
    private final org.elasticsearch.client.internal.Client asUser;
    private final AtomicReference<Exception> failure = new AtomicReference<>();
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
        // the copy's writes, sweep and dead letters run as the follow's user; its bookkeeping (progress, gc_deletes) as the node
        this.asUser = new org.mongofollow.security.AsFollowUserClient(services.client(), params.user());
        this.deadLetters = new DeadLetters(asUser);
    }

    public CopyTask params() {
        return params;
    }

    @Override
    protected void onCancelled() {
        stopped = true;
        publishNow();
        markAsCompleted();
    }

    private boolean stopping() {
        return stopped || isCancelled() || services.threadPool().executor(org.mongofollow.task.FollowThreadPool.NAME).isShutdown();
    }

    /** Starts the copy in the background. */
    void start() {
        try {
            services.executor().execute(this::run);
        } catch (EsRejectedExecutionException e) {
            stopped = true;
        }
    }

    private void run() {
        try {
            IndexMetadata index = clusterService.state().metadata().index(params.index());
            FollowMetadata follow = index == null ? null : FollowMetadata.of(index);
            if (follow == null || follow.copy() == null || follow.copy().isRunning() == false || follow.status() != FollowMetadata.Status.ACTIVE) {
                markAsCompleted();
                return;
            }
            CopyState state = follow.copy();
            versions = follow.versions();
            // the operator may have taken the follow's hosts off mongo_follow.connection.allowlist since it started
            services.allowlist().check(params.follow().endpoint());
            MongoCollection<BsonDocument> collection = services.mongoClients()
                .client(params.follow().endpoint())
                .getDatabase(params.follow().database())
                .getCollection(params.follow().collection(), BsonDocument.class)
                .withReadConcern(ReadConcern.MAJORITY);
            if (state.planned() == false) {
                IdRanges.Plan plan = retrying(() -> IdRanges.plan(collection, params.follow().copyMaxConcurrentRanges()));
                if (plan == null) {
                    return;
                }
                CopyState planned = state.withPlan(plan.estimate(), plan.mixedTypes(), plan.ranges());
                update(planned);
                state = FollowMetadata.of(clusterService.state().metadata().index(params.index())).copy();
                if (state == null || state.t0().equals(planned.t0()) == false) {
                    completeOrCopyAgain(planned.t0());
                    return;
                }
                logger.info("[{}] copying [{}] from {} in {} ranges (about {} documents)", params.index(), params.follow().namespace(), state.t0(), state.ranges().size(), state.totalEstimate());
            } else {
                logger.info("[{}] resuming the copy of [{}] from {}: {} of {} ranges done, {} documents copied", params.index(), params.follow().namespace(), state.t0(), state.rangesDone(), state.ranges().size(), state.documentsCopied());
            }
            state = state.withFailure(null); // a failed copy started again (resume): its next progress clears the failure
            synchronized (this) {
                copy = state;
                ranges = state.ranges().toArray(new CopyState.Range[0]);
                readAtStart = state.documentsRead();
                rejectedAtStart = state.documentsRejected();
            }
            copyRanges(index, state);
            if (stopping()) {
                return;
            }
            if (failure.get() != null) {
                fail(failure.get());
                return;
            }
            publishNow();
            sweepRetrying(index, versions.of(state.t0()));
            if (stopping()) {
                return;
            }
            if (replacement(state.t0()) != null) {
                completeOrCopyAgain(state.t0()); // index.gc_deletes stays raised for the copy that replaced this one
                return;
            }
            GcDeletes.restore(services.client(), params.index(), state.gcDeletesBefore());
            update(snapshot().done());
            logger.info(
                "[{}] the copy of [{}] is done: {} documents (this run: {} read in {} ms of reads, written in {} ms of writes, summed over ranges)",
                params.index(),
                params.follow().namespace(),
                snapshot().documentsCopied(),
                read.get(),
                TimeUnit.NANOSECONDS.toMillis(readNanos.get()),
                TimeUnit.NANOSECONDS.toMillis(writeNanos.get())
            );
            completeOrCopyAgain(state.t0());
        } catch (Exception e) {
            if (stopping()) {
                return;
            }
            fail(e);
        }
    }

    /**
     * The running copy of the follow when a resync replaced the one from {@code t0} (a newer start position), or null. Its
     * resync found this task still running, so started none: this task copies it.
     */
    private CopyState replacement(OplogPosition t0) {
        IndexMetadata index = clusterService.state().metadata().index(params.index());
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
    private void completeOrCopyAgain(OplogPosition t0) throws Exception {
        CopyState replacement = stopping() ? null : replacement(t0);
        if (replacement == null) {
            markAsCompleted();
            return;
        }
        logger.info("[{}] a resync replaced the copy from {} with one from {}: copying that one", params.index(), t0, replacement.t0());
        org.elasticsearch.action.support.PlainActionFuture<Void> raised = new org.elasticsearch.action.support.PlainActionFuture<>();
        GcDeletes.raise(services.client(), params.index(), raised);
        raised.actionGet(TimeValue.timeValueMinutes(1));
        read.set(0);
        readNanos.set(0);
        writeNanos.set(0);
        run();
    }

    private void fail(Exception e) {
        logger.warn(() -> "[" + params.index() + "] the copy of [" + params.follow().namespace() + "] failed", e);
        try {
            CopyState current = snapshot();
            if (current != null) {
                update(current.withFailure(ExceptionsHelper.unwrapCause(e).toString()));
            }
        } catch (Exception inner) {
            e.addSuppressed(inner);
        }
        markAsFailed(e);
    }

    private void copyRanges(IndexMetadata index, CopyState state) throws InterruptedException {
        BlockingQueue<Integer> pending = new ArrayBlockingQueue<>(Math.max(1, state.ranges().size()));
        for (int i = 0; i < state.ranges().size(); i++) {
            if (state.ranges().get(i).done() == false) {
                pending.add(i);
            }
        }
        int workers = Math.min(params.follow().copyMaxConcurrentRanges(), pending.size());
        if (workers == 0) {
            return;
        }
        IndexRouting routing = IndexRouting.fromIndexMetadata(index);
        AtomicInteger running = new AtomicInteger(workers);
        Object done = new Object();
        for (int w = 0; w < workers; w++) {
            Runnable worker = () -> {
                try {
                    Integer next;
                    while (stopping() == false && failure.get() == null && (next = pending.poll()) != null) {
                        copyRange(index, routing, state, next);
                    }
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (running.decrementAndGet() == 0) {
                        synchronized (done) {
                            done.notifyAll();
                        }
                    }
                }
            };
            if (w == workers - 1) {
                worker.run(); // this thread is a worker too
            } else {
                try {
                    services.executor().execute(worker);
                } catch (EsRejectedExecutionException e) {
                    running.decrementAndGet();
                    if (e.isExecutorShutdown()) {
                        stopped = true;
                    }
                }
            }
        }
        synchronized (done) {
            while (running.get() > 0) {
                done.wait(1000);
            }
        }
    }

    private void copyRange(IndexMetadata index, IndexRouting routing, CopyState state, int rangeIndex) throws Exception {
        MongoCollection<RawBsonDocument> collection = services.mongoClients()
            .client(params.follow().endpoint())
            .getDatabase(params.follow().database())
            .getCollection(params.follow().collection(), RawBsonDocument.class)
            .withReadConcern(ReadConcern.MAJORITY);
        int batchSize = params.follow().copyBatchSize();
        long version = versions.of(state.t0());
        // one cursor per range, in _id order, read batch by batch (an index scan on a real server); a failed cursor is
        // opened again after the range's last copied _id
        MongoCursor<RawBsonDocument> cursor = null;
        long delay = 10;
        try {
            while (stopping() == false) {
                CopyState.Range range = range(rangeIndex);
                if (range.done()) {
                    return;
                }
                List<RawBsonDocument> batch = new ArrayList<>(batchSize);
                boolean exhausted;
                long readStart = System.nanoTime();
                try {
                    if (cursor == null) {
                        cursor = collection.find(IdRanges.nextBatch(range, state.mixedIdTypes()))
                            .sort(Sorts.ascending("_id"))
                            .batchSize(batchSize)
                            .iterator();
                    }
                    while (batch.size() < batchSize && cursor.hasNext()) {
                        batch.add(cursor.next());
                    }
                    exhausted = batch.size() < batchSize || cursor.hasNext() == false;
                } catch (Exception e) {
                    if (cursor != null) {
                        closeQuietly(cursor);
                        cursor = null;
                    }
                    if (FollowFailures.shouldRetry(e) == false && isCursorLost(e) == false) {
                        throw e;
                    }
                    logger.debug(() -> "[" + params.index() + "] copy read failed, reading again after the range's last copied _id", e);
                    Thread.sleep(delay);
                    delay = Math.min(delay * 2, Math.max(10, params.follow().budgets().maxRetryDelay().millis()));
                    continue;
                }
                delay = 10;
                read.addAndGet(batch.size());
                long writeStart = System.nanoTime();
                readNanos.addAndGet(writeStart - readStart);
                Map<Integer, List<ShardOperation>> byShard = new HashMap<>();
                Map<String, RawBsonDocument> byId = new HashMap<>();
                List<DeadLetters.Letter> letters = new ArrayList<>();
                BsonValue last = null;
                for (RawBsonDocument document : batch) {
                    BsonValue mongoId = document.get("_id");
                    last = mongoId;
                    String id = DocumentIds.toElasticsearchId(mongoId);
                    int shard = routing.getShard(id, null);
                    byId.put(id, document);
                    ShardOperation operation;
                    try {
                        operation = ShardOperation.index(id, version, document, params.follow().fields());
                    } catch (RejectedDocumentException e) {
                        letters.add(letter(shard, id, state.t0(), document, e.getMessage()));
                        operation = new ShardOperation(ShardOperation.Kind.DELETE, id, version, BytesArray.EMPTY);
                    }
                    byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(operation);
                }
                List<ApplyOperationsAction.Rejection> rejections = new ArrayList<>();
                if (write(index, byShard, rejections) == false) {
                    return;
                }
                for (ApplyOperationsAction.Rejection rejection : rejections) {
                    letters.add(letter(routing.getShard(rejection.id(), null), rejection.id(), state.t0(), byId.get(rejection.id()), rejection.reason()));
                }
                writeLetters(letters);
                writeNanos.addAndGet(System.nanoTime() - writeStart);
                synchronized (this) {
                    ranges[rangeIndex] = ranges[rangeIndex].advance(last, batch.size(), exhausted);
                    rejected += letters.size();
                }
                schedulePublish();
                if (exhausted) {
                    return;
                }
            }
        } finally {
            if (cursor != null) {
                closeQuietly(cursor);
            }
        }
    }

    /** CursorNotFound (43): the server dropped an idle cursor; reading again after the last copied _id is exact. */
    private static boolean isCursorLost(Exception e) {
        return ExceptionsHelper.unwrapCause(e) instanceof com.mongodb.MongoCursorNotFoundException
            || (ExceptionsHelper.unwrapCause(e) instanceof com.mongodb.MongoException m && m.getCode() == 43);
    }

    private static void closeQuietly(MongoCursor<?> cursor) {
        try {
            cursor.close();
        } catch (Exception e) {
            // the cursor is dropped anyway
        }
    }

    /** A dead letter for a copied document that Elasticsearch or the mapping refused (logged too), with its selected fields only. */
    private DeadLetters.Letter letter(int shard, String id, OplogPosition t0, RawBsonDocument document, String reason) {
        logger.warn("[{}][{}] copied document [{}] rejected: {}", params.index(), shard, id, reason);
        return DeadLetters.Letter.copy(params.index(), shard, params.follow().namespace(), id, t0, versions.of(t0),
            document == null ? null : params.follow().fields().select(document), reason);
    }

    /** Writes a batch's letters to the dead-letter index and waits for them (a letter that cannot be written is logged). */
    private void writeLetters(List<DeadLetters.Letter> letters) throws InterruptedException {
        CountDownLatch written = new CountDownLatch(1);
        deadLetters.write(params.follow().deadLetterIndex(), letters, written::countDown);
        written.await();
    }

    /**
     * Writes a batch to its shards in parallel, adding the documents the primaries refused to {@code rejections};
     * false when the task stopped meanwhile.
     */
    private boolean write(IndexMetadata index, Map<Integer, List<ShardOperation>> byShard, List<ApplyOperationsAction.Rejection> rejections)
        throws Exception {
        Map<Integer, List<ShardOperation>> remaining = new HashMap<>(byShard);
        long delay = 10;
        while (remaining.isEmpty() == false) {
            if (stopping()) {
                return false;
            }
            Map<Integer, PlainActionFuture<ApplyOperationsAction.Response>> futures = new HashMap<>();
            for (var entry : remaining.entrySet()) {
                PlainActionFuture<ApplyOperationsAction.Response> future = new PlainActionFuture<>();
                asUser
                    .execute(
                        ApplyOperationsAction.INSTANCE,
                        new ApplyOperationsAction.Request(new ShardId(index.getIndex(), entry.getKey()), entry.getValue()),
                        future
                    );
                futures.put(entry.getKey(), future);
            }
            Exception lastFailure = null;
            for (var entry : futures.entrySet()) {
                try {
                    rejections.addAll(entry.getValue().actionGet().rejections());
                    remaining.remove(entry.getKey());
                } catch (Exception e) {
                    if (FollowFailures.shouldRetry(e) == false) {
                        throw e;
                    }
                    lastFailure = e;
                }
            }
            if (lastFailure != null) {
                Exception logged = lastFailure;
                logger.debug(() -> "[" + params.index() + "] copy write failed, retrying", logged);
                Thread.sleep(delay);
                delay = Math.min(delay * 2, params.follow().budgets().maxRetryDelay().millis());
            }
        }
        return true;
    }

    /** Runs a MongoDB read, retrying transient failures with backoff; null when the task stopped. */
    private <T> T retrying(java.util.concurrent.Callable<T> read) throws Exception {
        long delay = 10;
        while (true) {
            if (stopping()) {
                return null;
            }
            try {
                return read.call();
            } catch (Exception e) {
                if (FollowFailures.shouldRetry(e) == false) {
                    throw e;
                }
                logger.debug(() -> "[" + params.index() + "] copy read failed, retrying", e);
                Thread.sleep(delay);
                delay = Math.min(delay * 2, Math.max(10, params.follow().budgets().maxRetryDelay().millis()));
            }
        }
    }

    private synchronized CopyState.Range range(int index) {
        return ranges[index];
    }

    private synchronized CopyState snapshot() {
        return copy == null ? null : copy.withProgress(List.of(ranges), readAtStart + read.get(), rejectedAtStart + rejected);
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
        CopyState current;
        synchronized (this) {
            publishScheduled = false;
            current = snapshot();
        }
        if (current == null) {
            return;
        }
        services.client()
            .execute(
                UpdateFollowMetadataAction.INSTANCE,
                UpdateFollowMetadataAction.Request.copyUpdate(params.index(), current),
                org.elasticsearch.action.ActionListener.wrap(r -> {}, e -> logger.debug(() -> "[" + params.index() + "] could not store the copy's progress", e))
            );
    }

    private void update(CopyState state) {
        PlainActionFuture<org.elasticsearch.action.support.master.AcknowledgedResponse> future = new PlainActionFuture<>();
        services.client().execute(UpdateFollowMetadataAction.INSTANCE, UpdateFollowMetadataAction.Request.copyUpdate(params.index(), state), future);
        future.actionGet(TimeValue.timeValueMinutes(1));
    }

    /** The sweep is idempotent: a failure (a primary moving, a scroll lost) runs it again, a few times. */
    private void sweepRetrying(IndexMetadata index, long t0) throws InterruptedException {
        for (int attempt = 1;; attempt++) {
            try {
                sweep(index, t0);
                return;
            } catch (Exception e) {
                if (stopping() || attempt >= 5) {
                    throw e;
                }
                logger.debug(() -> "[" + params.index() + "] the copy's sweep failed, running it again", e);
                Thread.sleep(500L * attempt);
            }
        }
    }

    /**
     * Deletes, shard by shard, every document whose version is below {@code t0}: neither this copy (version t0) nor
     * the log after t0 (versions above t0) wrote it, so MongoDB no longer has it. A document written meanwhile makes
     * its delete a harmless version conflict.
     */
    private void sweep(IndexMetadata index, long t0) {
        var client = asUser;
        client.admin().indices().prepareRefresh(params.index()).get(TimeValue.timeValueMinutes(1));
        long swept = 0;
        for (int shard = 0; shard < index.getNumberOfShards() && stopping() == false; shard++) {
            ShardId shardId = new ShardId(index.getIndex(), shard);
            SearchResponse page = client.prepareSearch(params.index())
                .setPreference("_shards:" + shard)
                .setVersion(true)
                .setFetchSource(false)
                .setSize(SWEEP_PAGE_SIZE)
                .setScroll(SWEEP_SCROLL_KEEP_ALIVE)
                .get(TimeValue.timeValueMinutes(1));
            String scrollId = page.getScrollId();
            try {
                while (true) {
                    List<ShardOperation> deletes = new ArrayList<>();
                    for (SearchHit hit : page.getHits().getHits()) {
                        if (hit.getVersion() < t0) {
                            deletes.add(new ShardOperation(ShardOperation.Kind.DELETE, hit.getId(), t0, BytesArray.EMPTY));
                        }
                    }
                    if (deletes.isEmpty() == false) {
                        client.execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shardId, deletes)).actionGet(TimeValue.timeValueMinutes(1));
                        swept += deletes.size();
                    }
                    if (page.getHits().getHits().length < SWEEP_PAGE_SIZE || stopping()) {
                        break;
                    }
                    page.decRef();
                    page = null;
                    page = client.prepareSearchScroll(scrollId).setScroll(SWEEP_SCROLL_KEEP_ALIVE).get(TimeValue.timeValueMinutes(1));
                    scrollId = page.getScrollId();
                }
            } finally {
                if (page != null) {
                    page.decRef();
                }
                client.prepareClearScroll().addScrollId(scrollId).execute(org.elasticsearch.action.ActionListener.noop());
            }
        }
        if (swept > 0) {
            logger.info("[{}] the copy removed {} documents that MongoDB no longer has", params.index(), swept);
        }
    }
}

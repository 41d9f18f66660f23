package org.mongofollow.task;

import com.mongodb.MongoException;
import com.mongodb.ReadConcern;
import com.mongodb.client.MongoClient;
import com.mongodb.client.model.Filters;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bson.RawBsonDocument;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.routing.IndexRouting;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.persistent.AllocatedPersistentTask;
import org.elasticsearch.tasks.TaskId;
import org.elasticsearch.threadpool.ThreadPool;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.memory.FollowBreaker;
import org.mongofollow.apply.DocumentGroups;
import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.apply.RejectedDocumentException;
import org.mongofollow.apply.ShardOperation;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.ingest.FollowPipelines;
import org.mongofollow.ingest.PipelineStage;
import org.mongofollow.security.AsFollowUserClient;
import org.mongofollow.security.PrivilegeCheck;
import org.mongofollow.source.DecodedEntry;
import org.mongofollow.source.FeedSource;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.OplogFeed;
import org.mongofollow.source.OplogFeeds;
import org.mongofollow.source.ResumePoint;
import org.mongofollow.source.OplogEntryDecoder;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.OplogReader;
import org.mongofollow.source.TransactionChains;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * The persistent task of one follower shard on the node it is assigned to: runs the shard's
 * {@link ShardFollowCoordinator} with real I/O — oplog reads through the MongoDB driver on the plugin's
 * thread pool, shard writes through {@link ApplyOperationsAction}, checkpoints through the
 * {@link CheckpointPublisher} — and reports its status to the stats API.
 */
public class ShardFollowNodeTask extends AllocatedPersistentTask {

    private static final Logger logger = LogManager.getLogger(ShardFollowNodeTask.class);

    /** What the task needs from the node. */
    public record Services(
        Client client,
        org.elasticsearch.cluster.service.ClusterService clusterService,
        ThreadPool threadPool,
        Executor executor,
        MongoClientService mongoClients,
        CheckpointPublisher checkpoints,
        TimeValue privilegeCheckInterval,
        OplogFeeds feeds,
        AutomaticResync resyncs,
        org.mongofollow.security.ConnectionAllowlist allowlist,
        /** the node's {@link org.mongofollow.memory.FollowBreaker} */
        org.elasticsearch.common.breaker.CircuitBreaker breaker
    ) {}

    private static final int DROP_PAGE_SIZE = 1000;
    /** The {@code _id}s one look-up of updated documents asks MongoDB for. */
    private static final int LOOKUP_CHUNK = 1000;
    /** How often a drop that waits for a copy to end checks whether its task stopped. */
    private static final TimeValue COPY_WAIT_CHECK = TimeValue.timeValueSeconds(30);
    private static final TimeValue DROP_SCROLL_KEEP_ALIVE = TimeValue.timeValueMinutes(1);

    private final ShardFollowTask params;
    private final Services services;
    /** Every write, sweep, dead letter and automatic resync of this task runs as the follow's user. */
    private final Client asUser;
    private volatile Coordinator coordinator;
    /** Orders {@link #start} and {@link #onCancelled}: a task cancelled while the node prepares it never starts. */
    private final Object lifecycle = new Object();
    /** The node's shared read of the follow's endpoint (see {@link OplogFeed}); null until the task starts. */
    private volatile OplogFeed feed;
    private final java.util.concurrent.atomic.AtomicBoolean unsubscribed = new java.util.concurrent.atomic.AtomicBoolean();
    /** See {@link ApplyOperationsAction.Request#baseFloor()}: the t0 of the follow's latest copy, 0 without one. */
    private volatile long baseFloor;
    /** How the follow versions documents, from its metadata ({@link DocumentVersions}). */
    private volatile DocumentVersions versions = DocumentVersions.IDENTITY;
    private final java.util.concurrent.atomic.AtomicBoolean resyncRequested = new java.util.concurrent.atomic.AtomicBoolean();

    public ShardFollowNodeTask(
        long id,
        String type,
        String action,
        String description,
        TaskId parentTask,
        Map<String, String> headers,
        ShardFollowTask params,
        Services services
    ) {
        super(id, type, action, description, parentTask, headers);
        this.params = params;
        this.services = services;
        this.asUser = new AsFollowUserClient(services.client(), params.user());
    }

    public ShardFollowTask params() {
        return params;
    }

    /** Sets the task up for the follower shard; its status reads "starting" until {@link #start} runs. */
    void prepare(IndexMetadata indexMetadata) {
        org.mongofollow.metadata.FollowMetadata follow = org.mongofollow.metadata.FollowMetadata.of(indexMetadata);
        this.baseFloor = follow == null ? 0 : follow.baseFloor();
        this.versions = follow == null ? DocumentVersions.IDENTITY : follow.versions();
        this.coordinator = new Coordinator(new ShardId(indexMetadata.getIndex(), params.shard()), IndexRouting.fromIndexMetadata(indexMetadata));
    }

    /**
     * Starts following after {@code checkpoint}; {@code resume} is the change stream resume point stored with it, if any;
     * {@code head} is the majority commit point if known. A task cancelled
     * before this (a pause or unfollow while the node was preparing it) does not start: nothing would stop it later.
     */
    void start(OplogPosition checkpoint, @Nullable ResumePoint resume, OplogPosition head) {
        synchronized (lifecycle) {
            if (isCancelled()) {
                logger.debug("[{}][{}] cancelled before it started", params.index(), params.shard());
                return;
            }
            logger.info("[{}][{}] following [{}] from {}", params.index(), params.shard(), params.follow().namespace(), checkpoint);
            feed = services.feeds().subscribe(params.follow().endpoint(), params.follow().feedSource(), params.follow().namespace());
            feed.learn(resume); // the stored resume point, at or before the checkpoint: the first read may resume after it
            coordinator.start(checkpoint, head);
        }
        scheduleWatchdog(coordinator);
        if (params.user().isNone() == false) {
            schedulePrivilegeCheck(coordinator);
        }
    }

    /**
     * Does not start: the task reports {@code failure} as its fatal error (status {@code failed}) from {@code checkpoint}
     * without reading anything, until the follow is paused and resumed.
     */
    void failBeforeStart(OplogPosition checkpoint, Exception failure) {
        coordinator.markFatal(failure);
        coordinator.start(checkpoint, null);
    }

    /** How often the coordinator's watchdog looks for lost requests ({@link ShardFollowCoordinator#checkStalled}). */
    static final TimeValue WATCHDOG_INTERVAL = TimeValue.timeValueSeconds(30);

    private void scheduleWatchdog(Coordinator current) {
        RetryScheduling.schedule(services.threadPool(), WATCHDOG_INTERVAL, services.executor(), () -> {
            // a stopped coordinator still has its requests in flight watched: their memory stays charged until they end
            if (current.isStopped() == false || current.hasOutstandingRequests()) {
                current.checkStalled();
                scheduleWatchdog(current);
            }
        });
    }

    /** See {@link PrivilegeCheck}: an empty write as the follow's user, every interval, while the task runs. */
    private void schedulePrivilegeCheck(Coordinator current) {
        RetryScheduling.schedule(services.threadPool(), services.privilegeCheckInterval(), services.executor(), () -> {
            if (current.isStopped()) {
                return;
            }
            asUser.execute(
                ApplyOperationsAction.INSTANCE,
                new ApplyOperationsAction.Request(current.shardId, List.of()),
                ActionListener.wrap(r -> schedulePrivilegeCheck(current), e -> {
                    if (PrivilegeCheck.refused(e)) {
                        current.markFatal(e);
                    } else {
                        logger.debug(() -> "[" + params.index() + "][" + params.shard() + "] privilege check failed, will check again", e);
                        schedulePrivilegeCheck(current);
                    }
                })
            );
        });
    }

    private void unsubscribe() {
        if (feed != null && unsubscribed.compareAndSet(false, true)) {
            services.feeds().unsubscribe(params.follow().endpoint(), params.follow().feedSource(), params.follow().namespace());
        }
    }

    @Override
    public ShardFollowStatus getStatus() {
        Coordinator current = coordinator;
        if (current == null) {
            return null;
        }
        ShardFollowStatus status = current.getStatus();
        OplogFeed currentFeed = feed;
        if (currentFeed == null) {
            return status;
        }
        status = status.withMongodbShards(currentFeed.shardsReadTo());
        return status.checkpoint() == null ? status : status.withResumePoint(currentFeed.resumePoint(status.checkpoint()));
    }

    @Override
    protected void onCancelled() {
        synchronized (lifecycle) { // after a start in progress, or before it (which then sees isCancelled())
            Coordinator current = coordinator;
            if (current != null) {
                current.stop();
                services.checkpoints().stop(params.index(), params.shard());
            }
            unsubscribe();
        }
        markAsCompleted();
    }

    private final class Coordinator extends ShardFollowCoordinator<DocumentOperation> {
        private final ShardId shardId;
        private final IndexRouting routing;
        private final DeadLetters deadLetters = new DeadLetters(asUser);
        private MongoClient client;
        private OplogReader reader;

        Coordinator(ShardId shardId, IndexRouting routing) {
            super(
                params.index(),
                params.shard(),
                services.mongoClients().describe(params.follow().endpoint()) + " " + params.follow().namespace(),
                readBudgets(params.follow())
            );
            this.shardId = shardId;
            this.routing = routing;
        }

        /** The reader on the endpoint's current client (a settings reload replaces the client). */
        private synchronized OplogReader reader() {
            MongoClient current = services.mongoClients().client(params.follow().endpoint());
            if (current != client) {
                client = current;
                reader = new OplogReader(current, params.follow().database(), params.follow().collection());
            }
            return reader;
        }

        /**
         * Runs blocking I/O on the plugin's pool. A pool that is shutting down (the node closes) stops the
         * coordinator quietly: the task resumes from its checkpoint wherever it runs next.
         */
        private void execute(Consumer<Exception> onFailure, Runnable io) {
            try {
                services.executor().execute(io);
            } catch (EsRejectedExecutionException e) {
                if (e.isExecutorShutdown()) {
                    stop();
                } else {
                    onFailure.accept(e);
                }
            }
        }

        /** A tailing read stops waiting when the task stops or the node shuts down. */
        private boolean abandoned() {
            return isStopped() || services.threadPool().executor(org.mongofollow.task.FollowThreadPool.NAME).isShutdown();
        }

        private synchronized MongoClient currentClient() {
            reader();
            return client;
        }

        @Override
        protected void innerSendReadRequest(ReadRequest request, Consumer<ReadResponse<DocumentOperation>> onResponse, Consumer<Exception> onFailure) {
            execute(onFailure, () -> readOrPark(request, onResponse, onFailure));
        }

        /**
         * Reads through the node's feed; while another task's read brings what this one needs, the read is parked (its
         * thread goes back to the pool) and tried again on the pool once that read is done.
         */
        private void readOrPark(ReadRequest request, Consumer<ReadResponse<DocumentOperation>> onResponse, Consumer<Exception> onFailure) {
            ReadResponse<DocumentOperation> response;
            try {
                response = read(request, () -> execute(onFailure, () -> readOrPark(request, onResponse, onFailure)));
            } catch (Exception e) {
                onFailure.accept(e);
                return;
            }
            if (response != null) {
                onResponse.accept(response);
            }
        }

        /** The response, or null when the read is parked and {@code park} will run. */
        @Nullable
        private ReadResponse<DocumentOperation> read(ReadRequest request, Runnable park) {
            OplogReader oplog = reader();
            OplogFeed.Read read;
            try {
                read = feed.read(
                    params.follow().namespace(),
                    request.fromExclusive(),
                    request.toInclusive(),
                    request.maxOperations(),
                    request.maxBytes(),
                    request.pollTimeout().millis(),
                    request.essential(),
                    this::abandoned,
                    park
                );
            } catch (MongoException e) {
                if (e.getCode() == FollowFailures.CAPPED_POSITION_LOST) {
                    // (a change-stream follow may not read the oplog: its stream tells history loss itself, 286)
                    throw historyLost(request.fromExclusive(), params.follow().source() == org.mongofollow.source.SourceMode.OPLOG ? oldest(oplog) : null, null, null);
                }
                throw e;
            } catch (TransactionChains.MissingEntryException e) {
                logger.warn("[{}][{}] {}", params.index(), params.shard(), e.getMessage());
                throw historyLost(request.fromExclusive(), oldest(oplog), null, null);
            } catch (OplogFeed.HistoryLostException e) {
                // the feed checks every read it makes from MongoDB (the window holds complete reads only)
                throw historyLost(e.from(), e.oldest(), e.shard(), e.reason());
            }
            if (read == null) {
                return null; // parked
            }
            OplogReader.Batch batch = read.batch();
            List<DocumentOperation> operations = new ArrayList<>();
            long skipped = 0;
            // decoded once per node and namespace by the feed, whichever shard task read the entries first
            for (DecodedEntry decoded : read.decoded()) {
                if (decoded == null) {
                    skipped++; // opens or continues a transaction: decoded with its commit entry
                    continue;
                }
                switch (decoded.outcome()) {
                    case SKIPPED -> skipped++;
                    case FATAL -> throw new FollowFatalException("the follow of [{}] cannot go on: {}", params.follow().namespace(), decoded.reason());
                    case BUFFERED -> throw new FollowFatalException(
                        "the follow of [{}] could not decode the transaction entry at {}: {}",
                        params.follow().namespace(),
                        decoded.position(),
                        decoded.reason()
                    );
                    case OPERATIONS -> {
                        for (DocumentOperation operation : decoded.operations()) {
                            if (operation.isBarrier() || routing.getShard(operation.documentId(), null) == shardId.id()) {
                                operations.add(operation);
                            } else {
                                skipped++;
                            }
                        }
                    }
                }
            }
            // the reader holds every read to the commit point of the primary it read from: nothing past it was scanned
            OplogPosition majority = batch.majorityCommitPoint();
            assert batch.scannedTo().compareTo(majority) <= 0 : batch.scannedTo() + " scanned past the commit point " + majority;
            return new ReadResponse<>(
                operations,
                batch.scannedTo(),
                majority,
                batch.entries().size(),
                skipped,
                batch.bytes()
            );
        }

        /** The oldest entry of the endpoint's oplog, or null where it cannot tell (a mongos has none of its own). */
        @Nullable
        private static OplogPosition oldest(OplogReader oplog) {
            try {
                return oplog.oldestPosition();
            } catch (MongoException e) {
                return null;
            }
        }

        /**
         * {@code shard}: the MongoDB shard that lost it, in a sharded cluster (else null); {@code reason}: what was lost when it
         * is not the oplog's oldest entries (else null).
         */
        private FollowFatalException historyLost(OplogPosition from, OplogPosition oldest, @Nullable String shard, @Nullable String reason) {
            boolean resync = params.follow().onHistoryLost() == org.mongofollow.metadata.FollowParameters.OnHistoryLost.RESYNC;
            if (resync && resyncRequested.compareAndSet(false, true)) {
                logger.warn("[{}][{}] history lost at {}: starting a resync (on_history_lost: resync)", params.index(), params.shard(), from);
                services.resyncs().historyLost(
                    params.index(),
                    from,
                    params.user(),
                    ActionListener.wrap(
                        r -> {},
                        e -> logger.warn(() -> "[" + params.index() + "] the automatic resync after history loss failed; call _resync", e)
                    )
                );
            }
            return historyLostException(params.follow().namespace(), params.index(), from, oldest, shard, reason, resync, params.follow().source());
        }

        @Override
        protected void innerSendWriteRequest(List<DocumentOperation> batch, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {
            try {
                for (DocumentOperation operation : batch) {
                    versions.of(operation.position()); // a position past what this follow can version stops it, explained
                }
            } catch (IllegalStateException e) {
                onFailure.accept(new FollowFatalException("the follow of [{}] cannot go on: {}", params.follow().namespace(), e.getMessage()));
                return;
            }
            if (batch.size() == 1 && batch.get(0).isBarrier()) {
                emptyShard(versions.of(batch.get(0).position()), onSuccess, onFailure);
                return;
            }
            // the order the request carries them in, so that a deferred tail of it is a tail of this list
            List<DocumentOperation> operations = DocumentGroups.byDocument(batch, DocumentOperation::documentId);
            List<ShardOperation> writes = new ArrayList<>(operations.size());
            Map<Integer, String> refused = new HashMap<>(); // operation index -> why its document cannot be indexed
            for (int i = 0; i < operations.size(); i++) {
                DocumentOperation operation = operations.get(i);
                try {
                    ShardOperation write = ShardOperation.of(operation, params.follow().fields(), versions);
                    if (write.kind() == ShardOperation.Kind.DELETE) {
                        write = params.follow().onDelete().deleteOf(write.id(), write.version(), operation.position(), write.payload());
                    }
                    writes.add(write);
                } catch (RejectedDocumentException e) {
                    refused.put(i, e.getMessage());
                    writes.add(new ShardOperation(ShardOperation.Kind.DELETE, operation.documentId(), versions.of(operation.position()), BytesArray.EMPTY));
                } catch (IOException e) {
                    onFailure.accept(e);
                    return;
                }
            }
            FollowPipelines pipelines = pipelines();
            if (pipelines.any() == false) {
                apply(operations, writes, refused, onSuccess, onFailure);
                return;
            }
            Runnable ingest = () -> PipelineStage.run(asUser, params.index(), pipelines, writes, ActionListener.wrap(staged -> {
                refused.putAll(staged.failures());
                apply(operations, staged.writes(), refused, onSuccess, onFailure);
            }, onFailure::accept));
            if (writes.stream().anyMatch(w -> w.kind().isUpdate())) {
                execute(onFailure, () -> {
                    try {
                        lookUpUpdates(operations, writes, refused);
                    } catch (Exception e) {
                        onFailure.accept(e);
                        return;
                    }
                    ingest.run();
                });
            } else {
                ingest.run();
            }
        }

        /** The follow's ingest pipelines now (the index's pipeline settings are dynamic). */
        private FollowPipelines pipelines() {
            IndexMetadata index = ClusterMetadata.index(services.clusterService().state(), shardId.getIndex());
            return index == null ? FollowPipelines.NONE : FollowPipelines.resolve(index, params.follow().pipeline());
        }

        /**
         * Under ingest pipelines the follower holds what the pipelines made of a document, to which MongoDB's update cannot
         * apply: each update becomes the index of the document as MongoDB has it now, read with majority read concern (at or
         * after the update, so a replay of the log converges on the pipelines' view of MongoDB's latest document), or a
         * delete at the update's version when MongoDB no longer has it (its delete follows in the log).
         */
        private void lookUpUpdates(List<DocumentOperation> operations, List<ShardOperation> writes, Map<Integer, String> refused) throws IOException {
            Map<String, org.bson.BsonValue> ids = new java.util.LinkedHashMap<>();
            for (int i = 0; i < writes.size(); i++) {
                if (writes.get(i).kind().isUpdate()) {
                    ids.putIfAbsent(operations.get(i).documentId(), operations.get(i).mongoId());
                }
            }
            var collection = currentClient().getDatabase(params.follow().database())
                .getCollection(params.follow().collection(), RawBsonDocument.class)
                .withReadConcern(ReadConcern.MAJORITY);
            Map<String, RawBsonDocument> found = new HashMap<>();
            List<org.bson.BsonValue> all = new ArrayList<>(ids.values());
            for (int from = 0; from < all.size(); from += LOOKUP_CHUNK) {
                for (RawBsonDocument document : collection.find(Filters.in("_id", all.subList(from, Math.min(all.size(), from + LOOKUP_CHUNK))))) {
                    found.put(org.mongofollow.operation.DocumentIds.toElasticsearchId(document.get("_id")), document);
                }
            }
            for (int i = 0; i < writes.size(); i++) {
                ShardOperation write = writes.get(i);
                if (write.kind().isUpdate() == false) {
                    continue;
                }
                RawBsonDocument current = found.get(write.id());
                if (current == null) {
                    writes.set(i, params.follow().onDelete().deleteOf(write.id(), write.version(), operations.get(i).position(), BytesArray.EMPTY));
                    continue;
                }
                try {
                    writes.set(i, ShardOperation.index(write.id(), write.version(), current, params.follow().fields()));
                } catch (RejectedDocumentException e) {
                    refused.put(i, e.getMessage());
                    writes.set(i, new ShardOperation(ShardOperation.Kind.DELETE, write.id(), write.version(), BytesArray.EMPTY));
                }
            }
        }

        /** Writes a batch's shard operations ({@code writes}, one per operation) and its dead letters. */
        private void apply(
            List<DocumentOperation> operations,
            List<ShardOperation> writes,
            Map<Integer, String> refused,
            Consumer<WriteResponse> onSuccess,
            Consumer<Exception> onFailure
        ) {
            asUser.execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shardId, writes, baseFloor, params.follow().fields()), ActionListener.wrap(response -> {
                int tried = operations.size() - response.deferred();
                List<DocumentOperation> done = operations.subList(0, tried);
                List<DeadLetters.Letter> letters = new ArrayList<>();
                refused.forEach((i, reason) -> {
                    if (i < tried) {
                        letters.add(letter(operations.get(i), reason));
                    }
                });
                addLetters(letters, done, response.rejections());
                long total = letters.size();
                Consumer<WriteResponse> then = response.deferred() == 0 ? onSuccess : first -> sendDeferred(operations.subList(tried, operations.size()), first, onSuccess, onFailure);
                Runnable written = () -> {
                    if (response.missingBases().isEmpty()) {
                        then.accept(new WriteResponse(total));
                    } else {
                        execute(onFailure, () -> lookUpMissingBases(done, response.missingBases(), total, then, onFailure));
                    }
                };
                deadLetters.write(params.follow().deadLetterIndex(), letters, written);
            }, onFailure));
        }

        /**
         * The primary deferred the rest of a batch (the documents its updates rewrote filled the node's breaker): it goes in
         * a request of its own, and the batch is written once that one is. A task that stopped meanwhile leaves it to the
         * coordinator, which puts the whole batch back (the part written is replayed harmlessly).
         */
        private void sendDeferred(List<DocumentOperation> rest, WriteResponse first, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {
            if (isStopped()) {
                onFailure.accept(new org.elasticsearch.tasks.TaskCancelledException("the follow of the shard stopped"));
                return;
            }
            logger.debug("[{}][{}] the primary deferred {} operations of a write: sending them on their own", params.index(), params.shard(), rest.size());
            execute(onFailure, () -> innerSendWriteRequest(
                rest,
                second -> onSuccess.accept(new WriteResponse(first.documentsRejected() + second.documentsRejected())),
                onFailure
            ));
        }

        /** A dead letter for an operation Elasticsearch or the mapping refused (logged too). */
        private DeadLetters.Letter letter(DocumentOperation operation, String reason) {
            logger.warn("[{}][{}] document [{}] at {} rejected: {}", params.index(), params.shard(), operation.documentId(), operation.position(), reason);
            return DeadLetters.Letter.of(params.index(), params.shard(), params.follow().namespace(), operation, reason, params.follow().fields(), versions);
        }

        /** Letters for the primary's rejections, each with the batch's operation it refused. */
        private void addLetters(List<DeadLetters.Letter> letters, List<DocumentOperation> batch, List<ApplyOperationsAction.Rejection> rejections) {
            for (ApplyOperationsAction.Rejection rejection : rejections) {
                DocumentOperation operation = batch.stream()
                    .filter(o -> rejection.id().equals(o.documentId()) && versions.of(o.position()) == rejection.version())
                    .findFirst()
                    .orElse(null);
                if (operation == null) {
                    logger.warn("[{}][{}] document [{}] at version {} rejected: {}", params.index(), params.shard(), rejection.id(), rejection.version(), rejection.reason());
                    letters.add(new DeadLetters.Letter(params.index(), params.shard(), params.follow().namespace(), rejection.id(), versions.position(rejection.version()), rejection.version(), 0, "unknown", rejection.reason(), null));
                } else {
                    letters.add(letter(operation, rejection.reason()));
                }
            }
        }

        /** Updates whose base document the follower lacks: index the document as MongoDB has it now (majority-committed). */
        private void lookUpMissingBases(
            List<DocumentOperation> batch,
            List<ApplyOperationsAction.MissingBase> missing,
            long rejected,
            Consumer<WriteResponse> onSuccess,
            Consumer<Exception> onFailure
        ) {
            List<ShardOperation> writes = new ArrayList<>();
            List<DeadLetters.Letter> letters = new ArrayList<>();
            try {
                var collection = currentClient().getDatabase(params.follow().database())
                    .getCollection(params.follow().collection(), RawBsonDocument.class)
                    .withReadConcern(ReadConcern.MAJORITY);
                for (ApplyOperationsAction.MissingBase base : missing) {
                    DocumentOperation operation = batch.stream()
                        .filter(o -> base.id().equals(o.documentId()) && versions.of(o.position()) == base.version())
                        .findFirst()
                        .orElseThrow();
                    RawBsonDocument current = collection.find(Filters.eq("_id", operation.mongoId())).first();
                    if (current != null) {
                        try {
                            writes.add(ShardOperation.index(operation.documentId(), base.version(), current, params.follow().fields()));
                        } catch (RejectedDocumentException e) {
                            logger.warn("[{}][{}] document [{}] looked up at {} rejected: {}", params.index(), params.shard(), operation.documentId(), operation.position(), e.getMessage());
                            letters.add(new DeadLetters.Letter(params.index(), params.shard(), params.follow().namespace(), operation.documentId(),
                                versions.position(base.version()), base.version(), operation.indexInEntry(), "index", e.getMessage(), DeadLetters.json(params.follow().fields().select(current))));
                            writes.add(new ShardOperation(ShardOperation.Kind.DELETE, operation.documentId(), base.version(), BytesArray.EMPTY));
                        }
                    }
                }
            } catch (Exception e) {
                onFailure.accept(e);
                return;
            }
            if (writes.isEmpty()) {
                onSuccess.accept(new WriteResponse(rejected));
                return;
            }
            PipelineStage.run(asUser, params.index(), pipelines(), writes, ActionListener.wrap(staged -> {
                staged.failures().forEach((i, reason) -> {
                    ShardOperation write = writes.get(i);
                    logger.warn("[{}][{}] document [{}] looked up at {} rejected: {}", params.index(), params.shard(), write.id(), versions.position(write.version()), reason);
                    letters.add(new DeadLetters.Letter(params.index(), params.shard(), params.follow().namespace(), write.id(),
                        versions.position(write.version()), write.version(), 0, "index", reason, null));
                });
                asUser.execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shardId, staged.writes()), ActionListener.wrap(r -> {
                    addLetters(letters, batch, r.rejections());
                    deadLetters.write(params.follow().deadLetterIndex(), letters, () -> onSuccess.accept(new WriteResponse(rejected + letters.size())));
                }, onFailure::accept));
            }, onFailure::accept));
        }

        /**
         * The followed collection (or its database) was dropped: deletes every document of this shard older than
         * the drop, each with the drop's position as version, so the tombstones keep older replays out.
         */
        private void emptyShard(long dropVersion, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {
            if (copyWritingBefore(services.clusterService().state(), dropVersion)) {
                // a batch the copy read before the drop and writes after this sweep would survive it: the sweep waits
                // until the copy has written its last batch (after the drop, its reads of the collection find nothing)
                logger.info("[{}][{}] the drop at {} waits for the copy to end", params.index(), params.shard(), versions.position(dropVersion));
                org.elasticsearch.cluster.ClusterStateObserver.waitForState(
                    services.clusterService(),
                    services.threadPool().getThreadContext(),
                    new org.elasticsearch.cluster.ClusterStateObserver.Listener() {
                        @Override
                        public void onNewClusterState(org.elasticsearch.cluster.ClusterState state) {
                            execute(onFailure, () -> emptyShard(dropVersion, onSuccess, onFailure));
                        }

                        @Override
                        public void onClusterServiceClose() {
                            onFailure.accept(new org.elasticsearch.node.NodeClosedException(services.clusterService().localNode()));
                        }

                        @Override
                        public void onTimeout(TimeValue timeout) {
                            if (isStopped()) {
                                onFailure.accept(new org.elasticsearch.tasks.TaskCancelledException("the follow of the shard stopped"));
                            } else {
                                execute(onFailure, () -> emptyShard(dropVersion, onSuccess, onFailure));
                            }
                        }
                    },
                    state -> copyWritingBefore(state, dropVersion) == false,
                    COPY_WAIT_CHECK,
                    logger
                );
                return;
            }
            Client client = asUser;
            client.admin().indices().prepareRefresh(shardId.getIndexName()).execute(ActionListener.wrap(refreshed -> {
                client.prepareSearch(shardId.getIndexName())
                    .setPreference("_shards:" + shardId.id())
                    .setVersion(true)
                    .setFetchSource(false)
                    .setSize(DROP_PAGE_SIZE)
                    .setScroll(DROP_SCROLL_KEEP_ALIVE)
                    .execute(ActionListener.wrap(page -> deletePage(page, dropVersion, onSuccess, onFailure), onFailure));
            }, onFailure));
        }

        /**
         * Whether a copy (initial or resync) that started before the drop at {@code dropVersion} is still writing: the
         * batches it read before the drop carry its t0, below the drop, and must be written before the sweep.
         */
        private boolean copyWritingBefore(org.elasticsearch.cluster.ClusterState state, long dropVersion) {
            IndexMetadata index = ClusterMetadata.index(state, shardId.getIndex());
            org.mongofollow.metadata.FollowMetadata follow = index == null ? null : org.mongofollow.metadata.FollowMetadata.of(index);
            org.mongofollow.metadata.CopyState copy = follow == null ? null : follow.copy();
            return copy != null
                && copy.state() == org.mongofollow.metadata.CopyState.State.RUNNING
                && copy.failure() == null
                && versions.of(copy.t0()) < dropVersion;
        }

        private void deletePage(SearchResponse page, long dropVersion, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {
            String scrollId = page.getScrollId();
            List<ShardOperation> deletes = new ArrayList<>();
            for (SearchHit hit : page.getHits().getHits()) {
                if (hit.getVersion() < dropVersion) {
                    try {
                        deletes.add(params.follow().onDelete().deleteOf(hit.getId(), dropVersion, versions.position(dropVersion), BytesArray.EMPTY));
                    } catch (IOException e) {
                        onFailure.accept(e);
                        return;
                    }
                }
            }
            boolean last = page.getHits().getHits().length < DROP_PAGE_SIZE;
            Runnable next = () -> {
                if (last) {
                    asUser.prepareClearScroll().addScrollId(scrollId).execute(ActionListener.noop());
                    onSuccess.accept(WriteResponse.OK);
                } else {
                    asUser
                        .prepareSearchScroll(scrollId)
                        .setScroll(DROP_SCROLL_KEEP_ALIVE)
                        .execute(ActionListener.wrap(p -> deletePage(p, dropVersion, onSuccess, onFailure), onFailure));
                }
            };
            if (deletes.isEmpty()) {
                next.run();
            } else {
                asUser
                    .execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shardId, deletes), ActionListener.wrap(r -> next.run(), onFailure));
            }
        }

        @Override
        protected void innerReserveMemory(long bytes, boolean force) {
            FollowBreaker.reserve(services.breaker(), bytes, force, "mongo_follow [" + params.index() + "][" + params.shard() + "]");
        }

        @Override
        protected void innerReleaseMemory(long bytes) {
            services.breaker().addWithoutBreaking(-bytes);
        }

        @Override
        protected void innerPersistCheckpoint(OplogPosition checkpoint, boolean applied) {
            OplogFeed current = feed;
            services.checkpoints().publish(
                params.index(),
                params.shard(),
                checkpoint,
                current == null ? null : current.resumePoint(checkpoint),
                applied,
                params.follow().budgets().checkpointInterval()
            );
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

    /** The follow's budgets, with one read at a time for a source that is read in order ({@link FeedSource#parallelReads}). */
    static org.mongofollow.metadata.FollowBudgets readBudgets(org.mongofollow.metadata.FollowParameters follow) {
        return follow.feedSource().parallelReads() ? follow.budgets() : follow.budgets().toBuilder().maxOutstandingReadRequests(1).build();
    }

    /**
     * The fatal error of a follow whose position has rolled off the oplog (or that its change stream can no longer
     * start at), in words a user understands.
     */
    public static FollowFatalException historyLostException(
        String namespace,
        String index,
        OplogPosition from,
        OplogPosition oldest,
        @Nullable String shard,
        @Nullable String reason,
        boolean resyncing,
        org.mongofollow.source.SourceMode source
    ) {
        String lost = reason != null ? "history lost: " + reason + " (the follow of [" + namespace + "])"
            : source == org.mongofollow.source.SourceMode.CHANGE_STREAM
            ? "history lost: MongoDB can no longer start the change stream of the follow of [" + namespace + "] at position " + from
                + " (error ChangeStreamHistoryLost: its oplog no longer holds it)"
            : "history lost: " + (shard == null ? "the MongoDB oplog" : "the oplog of MongoDB shard [" + shard + "]")
                + " no longer holds position " + from + " of the follow of [" + namespace
                + "] (its oldest entry is " + (oldest == null ? "unknown" : oldest) + ")";
        String message = lost + (reason != null ? ", so index [" : ": changes made to the collection while the follow was "
            + "paused or behind have rolled off the log, so index [") + index + "] can no longer be kept exact from it and may hold documents "
            + "that were deleted or changed since. "
            + (resyncing
                ? "A resync has started (on_history_lost: resync): the collection is copied again and stale documents are removed."
                : "Run POST /" + index + "/_mongo_follow/_resync to copy the collection again and remove the stale documents while the index "
                    + "stays searchable (or follow with \"on_history_lost\": \"resync\" to do it automatically).")
            + (reason != null
                ? " To prevent it, keep the follows of a sharded cluster running, and caught up, while a shard is removed"
                : " To prevent it, give the oplog more room (replSetResizeOplog) or keep the follow from being paused or behind for that long");
        return new FollowFatalException(message.replace("{", "(").replace("}", ")"));
    }
}

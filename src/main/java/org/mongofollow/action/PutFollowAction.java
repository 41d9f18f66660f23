package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.admin.indices.create.CreateIndexRequest;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.ActiveShardCount;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.action.admin.indices.stats.ShardStats;
import org.elasticsearch.cluster.metadata.MetadataCreateIndexService;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.indices.InvalidIndexNameException;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.ingest.FollowPipelines;
import org.mongofollow.copy.GcDeletes;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.security.FollowUser;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoProbe;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code PUT /{index}/_mongo_follow}: validates the follow (index name, namespace, budgets, client or
 * connection, the MongoDB replica set itself) before changing anything, creates the follower index if it
 * does not exist (with {@code settings} from the body), stores the follow in the index's metadata and
 * starts one shard follow task per shard. With security on it needs {@code manage} on the index (its action name is
 * under {@code indices:admin/}), and the tasks write as the caller ({@link FollowUser}).
 */
public final class PutFollowAction {

    public static final String NAME = "indices:admin/mongo_follow/put";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private static final ParseField SETTINGS = new ParseField("settings");

    private PutFollowAction() {}

    public static final class Request extends FollowerIndexRequest {
        private FollowParameters follow;
        private final Settings settings;
        private ActiveShardCount waitForActiveShards = ActiveShardCount.DEFAULT;

        public Request(String index, FollowParameters follow, Settings settings) {
            super(index);
            this.follow = Objects.requireNonNull(follow);
            this.settings = settings;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.follow = new FollowParameters(in);
            this.settings = in.readBoolean() ? Settings.readSettingsFromStream(in) : null;
            this.waitForActiveShards = ActiveShardCount.readFrom(in);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            follow.writeTo(out);
            out.writeBoolean(settings != null);
            if (settings != null) {
                settings.writeTo(out);
            }
            waitForActiveShards.writeTo(out);
        }

        /**
         * {@code ?wait_for_active_shards}, as index creation and CCR's follow take it: how many copies of each of the follower
         * index's shards must be active before the answer ({@code shards_acknowledged} says whether they were within
         * {@code ?timeout}); by default the primaries.
         */
        public Request waitForActiveShards(ActiveShardCount count) {
            this.waitForActiveShards = Objects.requireNonNull(count);
            return this;
        }

        private static final class Body {
            final FollowParameters.Builder follow = new FollowParameters.Builder();
            Settings settings;
        }

        private static final ObjectParser<Body, Void> PARSER = new ObjectParser<>("mongo_follow", Body::new);

        static {
            FollowParameters.declareFollowFields(PARSER, b -> b.follow);
            PARSER.declareObject((b, s) -> b.settings = s, (p, c) -> Settings.fromXContent(p), SETTINGS);
        }

        public static Request fromXContent(String index, XContentParser parser) {
            Body body = PARSER.apply(parser, null);
            return new Request(index, body.follow.build(), body.settings);
        }

        public FollowParameters follow() {
            return follow;
        }


    }

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final boolean indexCreated;
        private final OplogPosition startPosition;
        private final boolean acknowledged;
        private final boolean shardsAcknowledged;

        public Response(boolean indexCreated, OplogPosition startPosition, boolean acknowledged, boolean shardsAcknowledged) {
            this.indexCreated = indexCreated;
            this.startPosition = startPosition;
            this.acknowledged = acknowledged;
            this.shardsAcknowledged = shardsAcknowledged;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeBoolean(indexCreated);
            out.writeLong(startPosition.timestamp());
            out.writeBoolean(acknowledged);
            out.writeBoolean(shardsAcknowledged);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            return builder.startObject()
                .field("acknowledged", acknowledged)
                .field("shards_acknowledged", shardsAcknowledged)
                .field("index_created", indexCreated)
                .field("start_position", startPosition.toString())
                .endObject();
        }
    }

    public static class TransportAction extends HandledTransportAction<Request, Response> {

        private final ClusterService clusterService;
        private final Client client;
        private final PersistentTasksService persistentTasks;
        private final MongoClientService mongoClients;
        private final ThreadPool threadPool;
        private final ConnectionAllowlist allowlist;

        @Inject
        public TransportAction(
            TransportService transportService,
            ActionFilters actionFilters,
            ClusterService clusterService,
            Client client,
            PersistentTasksService persistentTasks,
            MongoClientService mongoClients,
            ThreadPool threadPool,
            ConnectionAllowlist allowlist
        ) {
            super(NAME, transportService, actionFilters, Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.clusterService = clusterService;
            this.client = client;
            this.persistentTasks = persistentTasks;
            this.mongoClients = mongoClients;
            this.threadPool = threadPool;
            this.allowlist = allowlist;
        }

        @Override
        protected void doExecute(Task task, Request request, ActionListener<Response> listener) {
            try {
                validateBeforeConnecting(request);
            } catch (Exception e) {
                listener.onFailure(e);
                return;
            }
            FollowUser user = FollowUser.current(threadPool.getThreadContext());
            // the probe blocks for up to the client's server selection timeout: not on a transport thread
            threadPool.executor(org.mongofollow.task.FollowThreadPool.NAME).execute(() -> {
                OplogPosition start;
                try {
                    MongoProbe.Probe probe = MongoProbe.probe(
                        mongoClients,
                        request.follow.endpoint(),
                        request.follow.database(),
                        request.follow.collection(),
                        request.follow.source(),
                        request.follow.fullDocument()
                    );
                    start = probe.start();
                    request.follow = request.follow.withSource(probe.source()); // source: auto, decided once
                } catch (Exception e) {
                    listener.onFailure(e);
                    return;
                }
                createIndexIfAbsent(request, listener.delegateFailureAndWrap((l, ready) -> startFollow(request, user, ready, start, l)));
            });
        }

        private void validateBeforeConnecting(Request request) {
            MetadataCreateIndexService.validateIndexOrAliasName(request.index, InvalidIndexNameException::new);
            if (request.follow.endpoint().clientName() != null) {
                mongoClients.namedClient(request.follow.endpoint().clientName());
            }
            allowlist.check(request.follow.endpoint());
            var named = ClusterMetadata.abstraction(clusterService.state(), request.index);
            if (named != null && named.getType() != org.elasticsearch.cluster.metadata.IndexAbstraction.Type.CONCRETE_INDEX) {
                boolean dataStream = named.getType() == org.elasticsearch.cluster.metadata.IndexAbstraction.Type.DATA_STREAM;
                throw new IllegalArgumentException(
                    "[" + request.index + "] is " + (dataStream ? "a data stream" : "an alias") + ": a follower index must be an index"
                        + (dataStream ? " (a data stream only appends, and a follow replaces and deletes documents)" : " (follow into the index it names)")
                );
            }
            IndexMetadata existing = ClusterMetadata.index(clusterService.state(), request.index);
            if (existing != null) {
                FollowMetadata follow = FollowMetadata.of(existing);
                if (follow != null) {
                    throw new org.elasticsearch.ResourceAlreadyExistsException(
                        "index [{}] already follows [{}]; unfollow it first",
                        request.index,
                        follow.parameters().namespace()
                    );
                }
                if (request.settings != null) {
                    throw new IllegalArgumentException("[settings] apply only to a new follower index, and index [" + request.index + "] exists");
                }
            }
            (existing != null
                ? FollowPipelines.resolve(existing, request.follow.pipeline())
                : FollowPipelines.resolve(request.settings == null ? Settings.EMPTY : request.settings, request.follow.pipeline())
            ).validate(clusterService.state(), request.follow.pipeline());
        }

        /**
         * The mapping of a follower index the follow creates: floating-point values map as {@code double}, as MongoDB's
         * doubles are 64-bit (Elasticsearch's dynamic mapping would pick {@code float}, losing range and precision).
         */
        static final Map<String, Object> NEW_INDEX_MAPPING = Map.of(
            "dynamic_templates",
            List.of(Map.of("mongo_follow_doubles", Map.of("match_mapping_type", "double", "mapping", Map.of("type", "double"))))
        );

        /** The follower index as the request found or made it: created now, and whether its creation was acknowledged. */
        private record IndexReady(boolean created, boolean acknowledged, boolean shardsAcknowledged) {}

        private void createIndexIfAbsent(Request request, ActionListener<IndexReady> listener) {
            if (ClusterMetadata.index(clusterService.state(), request.index) != null) {
                listener.onResponse(new IndexReady(false, true, false)); // its shards are waited for once the follow started
                return;
            }
            CreateIndexRequest create = new CreateIndexRequest(request.index, request.settings == null ? Settings.EMPTY : request.settings);
            create.mapping(NEW_INDEX_MAPPING);
            create.masterNodeTimeout(request.masterNodeTimeout());
            create.ackTimeout(request.ackTimeout());
            create.waitForActiveShards(request.waitForActiveShards);
            client.admin().indices().create(create, listener.delegateFailureAndWrap(
                (l, r) -> l.onResponse(new IndexReady(true, r.isAcknowledged(), r.isShardsAcknowledged()))
            ));
        }

        /**
         * How the new follow versions its documents. A follow of an index this request created, or of an existing one that
         * never took a write, versions from {@link DocumentVersions#forNewFollow}: until 2072. An index that took writes may
         * hold documents (or tombstones) from an earlier follow that versioned them as the oplog timestamps themselves, which only
         * {@link DocumentVersions#IDENTITY} orders right against the new follow's writes: it keeps that (until 2038).
         */
        private void startFollow(Request request, FollowUser user, IndexReady ready, OplogPosition start, ActionListener<Response> listener) {
            if (ready.created()) {
                startFollow(request, user, ready, start, DocumentVersions.forNewFollow(start), listener);
                return;
            }
            // a shard's highest sequence number (in every shard's stats) tells whether it ever took a write, refreshed or not,
            // deleted or not
            client.admin().indices().prepareStats(request.index).clear().execute(listener.delegateFailureAndWrap((l, stats) -> {
                // (every primary must answer: one that did not, unassigned, may hold documents)
                java.util.Set<Integer> primariesNeverWritten = new java.util.HashSet<>();
                boolean anyWritten = false;
                for (ShardStats shard : stats.getShards()) {
                    boolean written = shard.getSeqNoStats() == null || shard.getSeqNoStats().getMaxSeqNo() >= 0;
                    anyWritten |= written;
                    if (written == false && shard.getShardRouting().primary()) {
                        primariesNeverWritten.add(shard.getShardRouting().id());
                    }
                }
                IndexMetadata existing = ClusterMetadata.index(clusterService.state(), request.index);
                boolean neverWritten = anyWritten == false && existing != null && primariesNeverWritten.size() == existing.getNumberOfShards();
                startFollow(request, user, ready, start, neverWritten ? DocumentVersions.forNewFollow(start) : DocumentVersions.IDENTITY, l);
            }));
        }

        private void startFollow(
            Request request,
            FollowUser user,
            IndexReady ready,
            OplogPosition start,
            DocumentVersions versions,
            ActionListener<Response> listener
        ) {
            IndexMetadata index = ClusterMetadata.index(clusterService.state(), request.index);
            if (index == null) {
                listener.onFailure(new org.elasticsearch.index.IndexNotFoundException(request.index)); // deleted meanwhile
                return;
            }
            Map<Integer, OplogPosition> checkpoints = new HashMap<>();
            for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                checkpoints.put(shard, start);
            }
            if (request.follow.initialCopy() == false) {
                FollowMetadata follow = new FollowMetadata(request.follow, FollowMetadata.Status.ACTIVE, checkpoints, null, versions);
                store(request, user, ready, start, follow, listener);
                return;
            }
            // the copy starts at `start` (t0): tombstones must outlive it before the shard tasks write any (see GcDeletes)
            CopyState copy = CopyState.start(start, false, GcDeletes.current(index), threadPool.absoluteTimeInMillis());
            FollowMetadata follow = new FollowMetadata(request.follow, FollowMetadata.Status.ACTIVE, checkpoints, copy, versions);
            GcDeletes.raise(client, request.index, listener.delegateFailureAndWrap((l, v) -> store(request, user, ready, start, follow, l)));
        }

        private void store(Request request, FollowUser user, IndexReady ready, OplogPosition start, FollowMetadata follow, ActionListener<Response> listener) {
            client.execute(
                UpdateFollowMetadataAction.INSTANCE,
                UpdateFollowMetadataAction.Request.start(request.index, follow).acknowledged(request.masterNodeTimeout(), request.ackTimeout()),
                listener.delegateFailureAndWrap(
                    (l, ack) -> ShardFollowTasks.start(
                        persistentTasks,
                        ClusterMetadata.index(clusterService.state(), request.index),
                        request.follow,
                        user,
                        request.masterNodeTimeout(),
                        l.delegateFailureAndWrap((l2, v) -> {
                            boolean acknowledged = ready.acknowledged() && ack.isAcknowledged();
                            if (ready.created()) {
                                l2.onResponse(new Response(true, start, acknowledged, ready.shardsAcknowledged()));
                            } else {
                                ClusterMetadata.waitForActiveShards(clusterService, request.index, request.waitForActiveShards, request.ackTimeout(),
                                    l2.map(shards -> new Response(false, start, acknowledged, shards)));
                            }
                        })
                    )
                )
            );
        }
    }
}

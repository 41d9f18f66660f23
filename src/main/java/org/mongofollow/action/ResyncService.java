package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.threadpool.ThreadPool;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.copy.GcDeletes;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.task.PersistentTaskRequests;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.security.FollowUser;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoProbe;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.task.AutomaticResync;
import org.mongofollow.task.FollowThreadPool;

/**
 * Starts a resync of a follow: copies the collection again from a new start position t0 while following the log from
 * there, then removes every document that neither the new copy nor the log wrote (see
 * {@link org.mongofollow.copy.CopyNodeTask}). {@code _resync} asks for it as its caller; a shard task whose position
 * rolled off the oplog asks for it directly ({@link AutomaticResync}, with {@code on_history_lost: resync}), as the
 * follow's user, without a transport action.
 */
public final class ResyncService implements AutomaticResync {

    private final ClusterService clusterService;
    private final Client client;
    private final PersistentTasksService persistentTasks;
    private final MongoClientService mongoClients;
    private final ThreadPool threadPool;
    private final ConnectionAllowlist allowlist;

    public ResyncService(
        ClusterService clusterService,
        Client client,
        PersistentTasksService persistentTasks,
        MongoClientService mongoClients,
        ThreadPool threadPool,
        ConnectionAllowlist allowlist
    ) {
        this.clusterService = clusterService;
        this.client = client;
        this.persistentTasks = persistentTasks;
        this.mongoClients = mongoClients;
        this.threadPool = threadPool;
        this.allowlist = allowlist;
    }

    @Override
    public void historyLost(String index, OplogPosition lost, FollowUser user, ActionListener<OplogPosition> listener) {
        resync(index, lost, user, listener);
    }

    /**
     * Resyncs {@code indexName}; the follow then writes as {@code user}. With {@code lostPosition} (an automatic resync),
     * a copy that started after it already resyncs, and nothing new starts. Answers the new copy's t0.
     */
    public void resync(String indexName, OplogPosition lostPosition, FollowUser user, ActionListener<OplogPosition> listener) {
        resync(indexName, lostPosition, user, PersistentTaskRequests.MASTER_NODE_TIMEOUT, null, listener.map(Started::t0));
    }

    /** A resync's start position, and whether every node applied the new copy within the ack timeout. */
    public record Started(OplogPosition t0, boolean acknowledged) {}

    /**
     * The same with the request's {@code ?master_timeout} for each cluster-state change and {@code ?timeout} for the nodes
     * to apply the new copy (null: not waited for).
     */
    public void resync(
        String indexName,
        OplogPosition lostPosition,
        FollowUser user,
        TimeValue masterNodeTimeout,
        TimeValue ackTimeout,
        ActionListener<Started> listener
    ) {
        IndexMetadata index;
        FollowMetadata follow;
        try {
            index = FollowerIndices.follower(clusterService.state(), indexName);
            follow = FollowMetadata.of(index);
            allowlist.check(follow.parameters().endpoint());
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        if (lostPosition != null && follow.copy() != null && follow.copy().t0().after(lostPosition)) {
            listener.onResponse(new Started(follow.copy().t0(), true)); // another shard's loss already started a resync
            return;
        }
        threadPool.executor(FollowThreadPool.NAME).execute(() -> {
            OplogPosition t0;
            try {
                t0 = MongoProbe.startPosition(
                    mongoClients,
                    follow.parameters().endpoint(),
                    follow.parameters().database(),
                    follow.parameters().collection(),
                    follow.parameters().source()
                );
            } catch (Exception e) {
                listener.onFailure(e);
                return;
            }
            // the previous copy may still hold gc_deletes up: the value to restore is the one from before it
            String gcBefore = follow.copy() != null && follow.copy().isRunning() ? follow.copy().gcDeletesBefore() : GcDeletes.current(index);
            CopyState copy = CopyState.start(t0, true, gcBefore, threadPool.absoluteTimeInMillis());
            UpdateFollowMetadataAction.Request newCopy = UpdateFollowMetadataAction.Request.newCopy(indexName, copy);
            if (ackTimeout != null) {
                newCopy.acknowledged(masterNodeTimeout, ackTimeout);
            }
            ShardFollowTasks.remove(
                persistentTasks,
                index,
                masterNodeTimeout,
                listener.delegateFailureAndWrap(
                    (l, removed) -> GcDeletes.raise(
                        client,
                        indexName,
                        l.delegateFailureAndWrap(
                            (l2, raised) -> client.execute(
                                UpdateFollowMetadataAction.INSTANCE,
                                newCopy,
                                l2.delegateFailureAndWrap((l3, ack) -> {
                                    IndexMetadata updated = ClusterMetadata.index(clusterService.state(), indexName);
                                    ShardFollowTasks.start(
                                        persistentTasks,
                                        updated,
                                        FollowMetadata.of(updated).parameters(),
                                        user,
                                        masterNodeTimeout,
                                        l3.map(v -> new Started(t0, ack.isAcknowledged()))
                                    );
                                })
                            )
                        )
                    )
                )
            );
        });
    }
}

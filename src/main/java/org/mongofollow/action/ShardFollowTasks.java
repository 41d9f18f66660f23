package org.mongofollow.action;

import org.elasticsearch.ResourceAlreadyExistsException;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.RefCountingListener;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.ExceptionsHelper;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.security.FollowUser;
import org.mongofollow.task.ShardFollowTask;

/**
 * Starts and removes the persistent tasks of a follower index: one shard follow task per shard, and the copy
 * task while the follow's copy runs. The tasks write as {@code user}: whoever started, resumed or resynced the follow.
 */
final class ShardFollowTasks {

    private ShardFollowTasks() {}

    static void start(
        PersistentTasksService tasks,
        IndexMetadata index,
        FollowParameters follow,
        FollowUser user,
        TimeValue masterNodeTimeout,
        ActionListener<Void> listener
    ) {
        try (RefCountingListener refs = new RefCountingListener(listener)) {
            org.mongofollow.metadata.FollowMetadata metadata = org.mongofollow.metadata.FollowMetadata.of(index);
            if (metadata != null && metadata.copy() != null && metadata.copy().isRunning()) {
                org.mongofollow.copy.CopyTasksExecutor.start(tasks, index, follow, user, masterNodeTimeout, refs.acquire());
            }
            for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                ShardFollowTask params = new ShardFollowTask(index.getIndex().getName(), index.getIndexUUID(), shard, follow, user);
                ActionListener<Void> ref = refs.acquire();
                tasks.sendStartRequest(
                    params.taskId(),
                    ShardFollowTask.NAME,
                    params,
                    masterNodeTimeout,
                    ActionListener.<PersistentTasksCustomMetadata.PersistentTask<ShardFollowTask>>wrap(t -> ref.onResponse(null), e -> {
                        if (ExceptionsHelper.unwrapCause(e) instanceof ResourceAlreadyExistsException) {
                            ref.onResponse(null); // already running: starting is idempotent
                        } else {
                            ref.onFailure(e);
                        }
                    })
                );
            }
        }
    }

    static void remove(PersistentTasksService tasks, IndexMetadata index, TimeValue masterNodeTimeout, ActionListener<Void> listener) {
        try (RefCountingListener refs = new RefCountingListener(listener)) {
            org.mongofollow.copy.CopyTasksExecutor.remove(tasks, index, masterNodeTimeout, refs.acquire());
            for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                ActionListener<Void> ref = refs.acquire();
                tasks.sendRemoveRequest(
                    ShardFollowTask.taskId(index.getIndexUUID(), shard),
                    masterNodeTimeout,
                    ActionListener.<PersistentTasksCustomMetadata.PersistentTask<?>>wrap(t -> ref.onResponse(null), e -> {
                        if (ExceptionsHelper.unwrapCause(e) instanceof ResourceNotFoundException) {
                            ref.onResponse(null); // not running: removing is idempotent
                        } else {
                            ref.onFailure(e);
                        }
                    })
                );
            }
        }
    }
}

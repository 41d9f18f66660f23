package org.mongofollow.action;

import org.elasticsearch.ResourceAlreadyExistsException;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.RefCountingListener;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.ExceptionsHelper;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.task.ShardFollowTask;

/** Starts and removes the persistent shard follow tasks of a follower index, one per shard. */
final class ShardFollowTasks {

    private ShardFollowTasks() {}

    static void start(PersistentTasksService tasks, IndexMetadata index, FollowParameters follow, ActionListener<Void> listener) {
        try (RefCountingListener refs = new RefCountingListener(listener)) {
            for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                ShardFollowTask params = new ShardFollowTask(index.getIndex().getName(), index.getIndexUUID(), shard, follow);
                ActionListener<Void> ref = refs.acquire();
                tasks.sendStartRequest(
                    params.taskId(),
                    ShardFollowTask.NAME,
                    params,
                    null,
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

    static void remove(PersistentTasksService tasks, IndexMetadata index, ActionListener<Void> listener) {
        try (RefCountingListener refs = new RefCountingListener(listener)) {
            for (int shard = 0; shard < index.getNumberOfShards(); shard++) {
                ActionListener<Void> ref = refs.acquire();
                tasks.sendRemoveRequest(
                    ShardFollowTask.taskId(index.getIndexUUID(), shard),
                    null,
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

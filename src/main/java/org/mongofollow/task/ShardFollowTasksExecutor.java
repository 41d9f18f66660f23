package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.persistent.AllocatedPersistentTask;
import org.elasticsearch.persistent.PersistentTaskState;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.tasks.TaskId;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.OplogReader;

import java.util.Map;

/**
 * Runs {@link ShardFollowTask}s: assigns each to the least loaded data node and, there, starts its
 * {@link ShardFollowNodeTask} from the checkpoint stored in the follower index's metadata.
 */
public class ShardFollowTasksExecutor extends DataNodeTasksExecutor<ShardFollowTask> {

    private static final Logger logger = LogManager.getLogger(ShardFollowTasksExecutor.class);

    public ShardFollowTasksExecutor(ClusterService clusterService, ShardFollowNodeTask.Services services) {
        super(ShardFollowTask.NAME, clusterService, services);
    }

    @Override
    protected AllocatedPersistentTask createTask(
        long id,
        String type,
        String action,
        TaskId parentTaskId,
        PersistentTasksCustomMetadata.PersistentTask<ShardFollowTask> taskInProgress,
        Map<String, String> headers
    ) {
        return new ShardFollowNodeTask(id, type, action, getDescription(taskInProgress), parentTaskId, headers, taskInProgress.getParams(), services);
    }

    @Override
    protected String getDescription(PersistentTasksCustomMetadata.PersistentTask<ShardFollowTask> taskInProgress) {
        ShardFollowTask params = taskInProgress.getParams();
        return "mongo_follow [" + params.index() + "][" + params.shard() + "] <- " + params.follow().namespace();
    }

    @Override
    protected void nodeOperation(AllocatedPersistentTask task, ShardFollowTask params, PersistentTaskState state) {
        IndexMetadata indexMetadata = ClusterMetadata.index(clusterService.state(), params.index());
        if (indexMetadata == null || indexMetadata.getIndexUUID().equals(params.indexUuid()) == false) {
            logger.info("[{}][{}] the follower index is gone, ending its shard follow task", params.index(), params.shard());
            task.markAsCompleted();
            return;
        }
        FollowMetadata follow = FollowMetadata.of(indexMetadata);
        if (follow == null || follow.status() != FollowMetadata.Status.ACTIVE) {
            logger.info("[{}][{}] the index no longer follows actively, ending its shard follow task", params.index(), params.shard());
            task.markAsCompleted();
            return;
        }
        OplogPosition checkpoint = follow.checkpoint(params.shard());
        if (checkpoint == null) {
            task.markAsFailed(new IllegalStateException("the follow of [" + params.index() + "] has no checkpoint for shard " + params.shard()));
            return;
        }
        ShardFollowNodeTask shardTask = (ShardFollowNodeTask) task;
        shardTask.prepare(indexMetadata);
        try {
            // the operator may have taken the follow's hosts off mongo_follow.connection.allowlist since it started
            services.allowlist().check(params.follow().endpoint());
        } catch (IllegalArgumentException e) {
            shardTask.failBeforeStart(checkpoint, e);
            return;
        }
        OplogPosition head = null;
        try {
            head = new OplogReader(services.mongoClients().client(params.follow().endpoint()), params.follow().database(), params.follow().collection())
                .majorityCommitPoint();
        } catch (Exception e) {
            logger.debug(() -> "[" + params.index() + "][" + params.shard() + "] source head unknown at start, the first read will tell", e);
        }
        shardTask.start(checkpoint, follow.resumePoint(params.shard()), head);
    }
}

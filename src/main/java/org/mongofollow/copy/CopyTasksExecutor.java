package org.mongofollow.copy;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.ResourceAlreadyExistsException;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.persistent.AllocatedPersistentTask;
import org.elasticsearch.persistent.PersistentTaskState;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.tasks.TaskId;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.task.DataNodeTasksExecutor;
import org.mongofollow.task.ShardFollowNodeTask;

import java.util.Map;

/** Runs {@link CopyTask}s: one per follow whose copy is running, on the least loaded data node. */
public class CopyTasksExecutor extends DataNodeTasksExecutor<CopyTask> {

    public CopyTasksExecutor(ClusterService clusterService, ShardFollowNodeTask.Services services) {
        super(CopyTask.NAME, clusterService, services);
    }

    @Override
    protected AllocatedPersistentTask createTask(
        long id,
        String type,
        String action,
        TaskId parentTaskId,
        PersistentTasksCustomMetadata.PersistentTask<CopyTask> taskInProgress,
        Map<String, String> headers
    ) {
        return new CopyNodeTask(id, type, action, getDescription(taskInProgress), parentTaskId, headers, taskInProgress.getParams(), services, clusterService);
    }

    @Override
    protected String getDescription(PersistentTasksCustomMetadata.PersistentTask<CopyTask> taskInProgress) {
        return "mongo_follow copy [" + taskInProgress.getParams().index() + "] <- " + taskInProgress.getParams().follow().namespace();
    }

    @Override
    protected void nodeOperation(AllocatedPersistentTask task, CopyTask params, PersistentTaskState state) {
        IndexMetadata index = ClusterMetadata.index(clusterService.state(), params.index());
        if (index == null || index.getIndexUUID().equals(params.indexUuid()) == false) {
            task.markAsCompleted();
            return;
        }
        ((CopyNodeTask) task).start();
    }

    /** Starts the copy task of a follower index (idempotent). */
    public static void start(
        PersistentTasksService tasks,
        IndexMetadata index,
        FollowParameters follow,
        org.mongofollow.security.FollowUser user,
        TimeValue masterNodeTimeout,
        ActionListener<Void> listener
    ) {
        CopyTask params = new CopyTask(index.getIndex().getName(), index.getIndexUUID(), follow, user);
        tasks.sendStartRequest(params.taskId(), CopyTask.NAME, params, masterNodeTimeout, ActionListener.wrap(t -> listener.onResponse(null), e -> {
            if (ExceptionsHelper.unwrapCause(e) instanceof ResourceAlreadyExistsException) {
                listener.onResponse(null);
            } else {
                listener.onFailure(e);
            }
        }));
    }

    /** Removes the copy task of a follower index (idempotent). */
    public static void remove(PersistentTasksService tasks, IndexMetadata index, TimeValue masterNodeTimeout, ActionListener<Void> listener) {
        tasks.sendRemoveRequest(CopyTask.taskId(index.getIndexUUID()), masterNodeTimeout, ActionListener.wrap(t -> listener.onResponse(null), e -> {
            if (ExceptionsHelper.unwrapCause(e) instanceof ResourceNotFoundException) {
                listener.onResponse(null);
            } else {
                listener.onFailure(e);
            }
        }));
    }
}

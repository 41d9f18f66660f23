package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.cluster.ClusterChangedEvent;
import org.elasticsearch.cluster.ClusterStateListener;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.persistent.PersistentTasksService;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.FollowTaskParams;

import java.util.HashSet;
import java.util.Set;

/**
 * On the elected master: removes shard follow tasks whose follower index was deleted (or no longer
 * follows actively), so a deleted follower never leaves a task reading the oplog behind.
 */
public class FollowTaskCleaner implements ClusterStateListener {

    private static final Logger logger = LogManager.getLogger(FollowTaskCleaner.class);

    private final PersistentTasksService persistentTasks;
    private final Set<String> removing = new HashSet<>();

    public FollowTaskCleaner(PersistentTasksService persistentTasks) {
        this.persistentTasks = persistentTasks;
    }

    @Override
    public void clusterChanged(ClusterChangedEvent event) {
        if (event.localNodeMaster() == false || event.metadataChanged() == false) {
            return;
        }
        PersistentTasksCustomMetadata tasks = PersistentTasksCustomMetadata.getPersistentTasksCustomMetadata(event.state());
        if (tasks == null) {
            return;
        }
        for (PersistentTasksCustomMetadata.PersistentTask<?> task : tasks.tasks()) {
            if ((task.getParams() instanceof FollowTaskParams) == false) {
                continue;
            }
            FollowTaskParams params = (FollowTaskParams) task.getParams();
            String indexName = params.index();
            String indexUuid = params.indexUuid();
            IndexMetadata index = ClusterMetadata.index(event.state(), indexName);
            boolean orphan = index == null
                || index.getIndexUUID().equals(indexUuid) == false
                || FollowMetadata.of(index) == null;
            if (orphan && addRemoving(task.getId())) {
                logger.info("removing follow task [{}]: its follower index [{}] is gone or no longer follows", task.getId(), indexName);
                persistentTasks.sendRemoveRequest(task.getId(), PersistentTaskRequests.MASTER_NODE_TIMEOUT, ActionListener.running(() -> doneRemoving(task.getId())));
            }
        }
    }

    private synchronized boolean addRemoving(String id) {
        return removing.add(id);
    }

    private synchronized void doneRemoving(String id) {
        removing.remove(id);
    }
}

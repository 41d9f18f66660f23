package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.threadpool.ThreadPool;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.source.OplogPosition;

import java.util.HashMap;
import java.util.Map;

/**
 * Stores shard checkpoints in the follower index's metadata, batched and rate-limited: a node sends at
 * most one update per index per {@code checkpoint_interval}, carrying the newest checkpoint of each of
 * its shards of that index. The master merges them forward only.
 */
public class CheckpointPublisher {

    private static final Logger logger = LogManager.getLogger(CheckpointPublisher.class);

    private final Client client;
    private final ThreadPool threadPool;
    /** index -> shard -> newest checkpoint not yet sent */
    private final Map<String, Map<Integer, OplogPosition>> pending = new HashMap<>();
    private final Map<String, Boolean> scheduled = new HashMap<>();

    public CheckpointPublisher(Client client, ThreadPool threadPool) {
        this.client = client;
        this.threadPool = threadPool;
    }

    /** Records a shard's new checkpoint; it reaches the cluster state within {@code interval}. */
    public synchronized void publish(String index, int shard, OplogPosition checkpoint, TimeValue interval) {
        pending.computeIfAbsent(index, i -> new HashMap<>()).merge(shard, checkpoint, OplogPosition::max);
        if (scheduled.putIfAbsent(index, Boolean.TRUE) == null) {
            threadPool.scheduleUnlessShuttingDown(interval, threadPool.generic(), () -> flush(index));
        }
    }

    /** Sends the index's pending checkpoints now (a task that stops sends its last one this way). */
    public void flush(String index) {
        Map<Integer, OplogPosition> checkpoints;
        synchronized (this) {
            scheduled.remove(index);
            checkpoints = pending.remove(index);
        }
        if (checkpoints == null || checkpoints.isEmpty()) {
            return;
        }
        client.execute(
            UpdateFollowMetadataAction.INSTANCE,
            UpdateFollowMetadataAction.Request.checkpoints(index, checkpoints),
            ActionListener.wrap(r -> {}, e -> {
                logger.debug(() -> "could not store the checkpoints of [" + index + "], will send them again", e);
                synchronized (this) {
                    Map<Integer, OplogPosition> again = pending.computeIfAbsent(index, i -> new HashMap<>());
                    checkpoints.forEach((shard, position) -> again.merge(shard, position, OplogPosition::max));
                    if (scheduled.putIfAbsent(index, Boolean.TRUE) == null) {
                        threadPool.scheduleUnlessShuttingDown(TimeValue.timeValueSeconds(1), threadPool.generic(), () -> flush(index));
                    }
                }
            })
        );
    }
}

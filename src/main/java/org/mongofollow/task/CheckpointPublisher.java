package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.threadpool.Scheduler;
import org.elasticsearch.threadpool.ThreadPool;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Stores the shard checkpoints of every follow on this node in the follower indices' metadata, coalesced into at most
 * one cluster-state update per node per interval, for all follows together.
 * <ul>
 *   <li>A checkpoint that moved past applied operations (a busy follow) is due {@code checkpoint_interval} (the
 *   follow's budget) after it moved.</li>
 *   <li>A checkpoint that only moved with MongoDB's majority commit point (a quiet collection: no operation of the
 *   follow was applied since the last one this node sent) is due {@link #IDLE_INTERVAL} after the last one sent. Idle
 *   follows cost no cluster-state update between those: the stored checkpoint of a quiet follow is at most that much
 *   behind, well inside any oplog window, and a task that restarts from it only replays entries it skips.</li>
 * </ul>
 * When one shard is due, every pending checkpoint that would be due within half the idle interval goes in the same
 * update, so idle follows that started apart soon publish together. A task that stops sends its shard's last
 * checkpoint at once ({@link #stop}). A failed update is sent again a second later; the master merges forward only,
 * so late or repeated checkpoints are harmless.
 */
public class CheckpointPublisher {

    private static final Logger logger = LogManager.getLogger(CheckpointPublisher.class);

    /** How often the checkpoint of a follow whose collection is quiet is stored (its bounded staleness). */
    public static final Setting<TimeValue> IDLE_INTERVAL = Setting.timeSetting(
        "mongo_follow.checkpoint.idle_interval",
        TimeValue.timeValueMinutes(1),
        TimeValue.timeValueSeconds(1),
        Setting.Property.NodeScope,
        Setting.Property.Dynamic
    );

    static final TimeValue RETRY_DELAY = TimeValue.timeValueSeconds(1);

    /**
     * Sends one coalesced batch (index -> shard -> checkpoint, and the change stream resume points of those shards that have
     * one) as one cluster-state update.
     */
    public interface Sender {
        void send(
            Map<String, Map<Integer, OplogPosition>> checkpoints,
            Map<String, Map<Integer, ResumePoint>> resumePoints,
            ActionListener<Void> listener
        );
    }

    private record ShardKey(String index, int shard) {}

    /** What this node knows of one follower shard whose task runs (or ran) here. */
    private static final class ShardCheckpoint {
        /** The newest checkpoint not sent yet, null when none. */
        OplogPosition pending;
        /** The newest change stream resume point at or before it, null when none. */
        ResumePoint pendingResume;
        long dueMillis = Long.MAX_VALUE;
        /** When this node last sent the shard's checkpoint (or first saw the shard: its start position is stored). */
        long sentMillis;
        /** The task stopped: the entry goes once its last checkpoint is sent. */
        boolean stopping;

        ShardCheckpoint(long nowMillis) {
            this.sentMillis = nowMillis;
        }
    }

    private final Sender sender;
    private final ThreadPool threadPool;
    private volatile TimeValue idleInterval;
    private final Map<ShardKey, ShardCheckpoint> shards = new HashMap<>();
    private Scheduler.ScheduledCancellable timer;
    private long timerAtMillis = Long.MAX_VALUE;

    CheckpointPublisher(Sender sender, ThreadPool threadPool, TimeValue idleInterval) {
        this.sender = sender;
        this.threadPool = threadPool;
        this.idleInterval = idleInterval;
    }

    /** The node's publisher: batches go to the master as one {@link UpdateFollowMetadataAction} (the system user's). */
    public static CheckpointPublisher create(Client client, ThreadPool threadPool, ClusterSettings clusterSettings) {
        CheckpointPublisher publisher = new CheckpointPublisher(
            (checkpoints, resumePoints, listener) -> client.execute(
                UpdateFollowMetadataAction.INSTANCE,
                UpdateFollowMetadataAction.Request.checkpoints(checkpoints, resumePoints),
                listener.map(r -> null)
            ),
            threadPool,
            clusterSettings.get(IDLE_INTERVAL)
        );
        clusterSettings.addSettingsUpdateConsumer(IDLE_INTERVAL, publisher::setIdleInterval);
        return publisher;
    }

    synchronized void setIdleInterval(TimeValue idleInterval) {
        this.idleInterval = idleInterval;
        long now = threadPool.relativeTimeInMillis();
        for (ShardCheckpoint shard : shards.values()) {
            if (shard.pending != null) {
                shard.dueMillis = Math.min(shard.dueMillis, shard.sentMillis + idleInterval.millis());
                scheduleAt(shard.dueMillis, now);
            }
        }
    }

    /**
     * Records a shard's new checkpoint, and its change stream's resume point at or before it ({@code resume}, null when
     * the shard's source has none). {@code applied}: operations of the follow were applied since the last checkpoint
     * reported, so it is stored within {@code interval}; otherwise within the idle interval of the last one sent.
     */
    public synchronized void publish(
        String index,
        int shard,
        OplogPosition checkpoint,
        @Nullable ResumePoint resume,
        boolean applied,
        TimeValue interval
    ) {
        long now = threadPool.relativeTimeInMillis();
        ShardCheckpoint entry = shards.computeIfAbsent(new ShardKey(index, shard), k -> new ShardCheckpoint(now));
        entry.pending = entry.pending == null ? checkpoint : OplogPosition.max(entry.pending, checkpoint);
        entry.pendingResume = newer(entry.pendingResume, resume);
        long due = applied ? now + interval.millis() : entry.sentMillis + idleInterval.millis();
        entry.dueMillis = Math.min(entry.dueMillis, due);
        scheduleAt(entry.dueMillis, now);
    }

    /** The shard's task stopped: its last checkpoint is sent now, and the node forgets the shard once it is stored. */
    public synchronized void stop(String index, int shard) {
        ShardCheckpoint entry = shards.get(new ShardKey(index, shard));
        if (entry == null) {
            return;
        }
        entry.stopping = true;
        if (entry.pending == null) {
            shards.remove(new ShardKey(index, shard));
            return;
        }
        long now = threadPool.relativeTimeInMillis();
        entry.dueMillis = now;
        scheduleAt(now, now);
    }

    @Nullable
    private static ResumePoint newer(@Nullable ResumePoint a, @Nullable ResumePoint b) {
        return a == null ? b : b == null || a.position().compareTo(b.position()) >= 0 ? a : b;
    }

    private void scheduleAt(long dueMillis, long now) {
        if (dueMillis >= timerAtMillis) {
            return;
        }
        Scheduler.ScheduledCancellable scheduled;
        try {
            scheduled = threadPool.schedule(this::sendDue, TimeValue.timeValueMillis(Math.max(0, dueMillis - now)), threadPool.generic());
        } catch (java.util.concurrent.RejectedExecutionException e) {
            logger.debug("the node is closing: checkpoints not scheduled", e);
            return; // the node is closing: the tasks resume from the stored checkpoints wherever they run next
        }
        if (timer != null) {
            timer.cancel();
        }
        timerAtMillis = dueMillis;
        timer = scheduled;
    }

    private void sendDue() {
        Map<String, Map<Integer, OplogPosition>> batch = new HashMap<>();
        Map<String, Map<Integer, ResumePoint>> resumePoints = new HashMap<>();
        synchronized (this) {
            timer = null;
            timerAtMillis = Long.MAX_VALUE;
            long now = threadPool.relativeTimeInMillis();
            long next = Long.MAX_VALUE;
            boolean anyDue = shards.values().stream().anyMatch(s -> s.pending != null && s.dueMillis <= now);
            long horizon = now + idleInterval.millis() / 2;
            for (Map.Entry<ShardKey, ShardCheckpoint> e : shards.entrySet()) {
                ShardCheckpoint shard = e.getValue();
                if (shard.pending == null) {
                    continue;
                }
                if (anyDue && shard.dueMillis <= horizon) { // (a stopping shard is due at once)
                    batch.computeIfAbsent(e.getKey().index(), i -> new HashMap<>()).put(e.getKey().shard(), shard.pending);
                    if (shard.pendingResume != null) {
                        resumePoints.computeIfAbsent(e.getKey().index(), i -> new HashMap<>()).put(e.getKey().shard(), shard.pendingResume);
                    }
                    shard.pending = null;
                    shard.pendingResume = null;
                    shard.dueMillis = Long.MAX_VALUE;
                    shard.sentMillis = now;
                } else {
                    next = Math.min(next, shard.dueMillis);
                }
            }
            if (next != Long.MAX_VALUE) {
                scheduleAt(next, now);
            }
            if (batch.isEmpty()) {
                return;
            }
        }
        sender.send(batch, resumePoints, ActionListener.wrap(r -> forgetStopped(batch), e -> {
            logger.debug(() -> "could not store the checkpoints of " + batch.keySet() + ", will send them again", e);
            sendAgain(batch, resumePoints);
        }));
    }

    private synchronized void forgetStopped(Map<String, Map<Integer, OplogPosition>> sent) {
        for (Iterator<Map.Entry<ShardKey, ShardCheckpoint>> it = shards.entrySet().iterator(); it.hasNext();) {
            Map.Entry<ShardKey, ShardCheckpoint> e = it.next();
            if (e.getValue().stopping && e.getValue().pending == null
                && sent.getOrDefault(e.getKey().index(), Map.of()).containsKey(e.getKey().shard())) {
                it.remove();
            }
        }
    }

    private synchronized void sendAgain(Map<String, Map<Integer, OplogPosition>> failed, Map<String, Map<Integer, ResumePoint>> failedResumePoints) {
        long now = threadPool.relativeTimeInMillis();
        failed.forEach((index, checkpoints) -> checkpoints.forEach((shard, position) -> {
            ShardCheckpoint entry = shards.computeIfAbsent(new ShardKey(index, shard), k -> {
                ShardCheckpoint gone = new ShardCheckpoint(now);
                gone.stopping = true; // its task stopped meanwhile: forget it once this is stored
                return gone;
            });
            entry.pending = entry.pending == null ? position : OplogPosition.max(entry.pending, position);
            entry.pendingResume = newer(entry.pendingResume, failedResumePoints.getOrDefault(index, Map.of()).get(shard));
            entry.dueMillis = Math.min(entry.dueMillis, now + RETRY_DELAY.millis());
            scheduleAt(entry.dueMillis, now);
        }));
    }
}

package org.mongofollow.task;

import org.elasticsearch.common.util.concurrent.DeterministicTaskQueue;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.test.ESTestCase;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * The node's checkpoint publisher on a simulated clock: how many cluster-state updates busy and idle follows cost, and
 * how stale a stored checkpoint can get.
 */
public class CheckpointPublisherTests extends ESTestCase {

    private static final TimeValue INTERVAL = TimeValue.timeValueSeconds(1);
    private static final TimeValue IDLE = TimeValue.timeValueMinutes(1);

    private DeterministicTaskQueue queue;
    /** what was sent, in order, with the simulated time it was sent at */
    private List<Map<String, Map<Integer, OplogPosition>>> sent;
    private List<Map<String, Map<Integer, ResumePoint>>> sentResumePoints;
    private List<Long> sentAt;
    private boolean failSends;
    private CheckpointPublisher publisher;

    @Override
    public void setUp() throws Exception {
        super.setUp();
        queue = new DeterministicTaskQueue();
        sent = new ArrayList<>();
        sentResumePoints = new ArrayList<>();
        sentAt = new ArrayList<>();
        publisher = new CheckpointPublisher((checkpoints, resumePoints, listener) -> {
            if (failSends) {
                listener.onFailure(new IllegalStateException("no master"));
            } else {
                sent.add(checkpoints);
                sentResumePoints.add(resumePoints);
                sentAt.add(queue.getCurrentTimeMillis());
                listener.onResponse(null);
            }
        }, queue.getThreadPool(), IDLE);
    }

    private static OplogPosition pos(int seconds) {
        return OplogPosition.of(seconds, 1);
    }

    /** Runs the simulation up to {@code millis}, with every follow calling back as the coordinator would. */
    private void runUntil(long millis, Runnable everySecond) {
        while (queue.getCurrentTimeMillis() < millis) {
            everySecond.run();
            queue.scheduleAt(queue.getCurrentTimeMillis() + 1000, () -> {});
            queue.runTasksUpToTimeInOrder(queue.getCurrentTimeMillis() + 1000);
        }
    }

    public void testTenIdleFollowsCostAboutOneUpdateAMinute() {
        long start = queue.getCurrentTimeMillis();
        int[] second = { 0 };
        // 10 follows of 2 shards each, started a few seconds apart; every second the commit point moves past each
        runUntil(start + 10 * 60_000, () -> {
            second[0]++;
            for (int follow = 0; follow < 10; follow++) {
                if (second[0] > follow * 3) {
                    for (int shard = 0; shard < 2; shard++) {
                        publisher.publish("idle-" + follow, shard, pos(second[0]), null, false, INTERVAL);
                    }
                }
            }
        });
        // 10 minutes: at most 2 updates a minute (the first piggybacks whatever is due within 30s)
        assertThat(sent.size(), lessThanOrEqualTo(20));
        assertTrue("the idle checkpoints are stored at all", sent.size() >= 9);
        // each update carries every index: they coalesced
        Map<String, Map<Integer, OplogPosition>> last = sent.get(sent.size() - 1);
        assertThat(last.size(), equalTo(10));
        // a stored checkpoint is never staler than the idle interval (plus the second of the simulation's step)
        for (int i = 1; i < sentAt.size(); i++) {
            assertThat(sentAt.get(i) - sentAt.get(i - 1), lessThanOrEqualTo(IDLE.millis() + 1000));
        }
    }

    public void testBusyFollowsShareOneUpdatePerInterval() {
        long start = queue.getCurrentTimeMillis();
        int[] tick = { 0 };
        runUntil(start + 60_000, () -> {
            tick[0]++;
            for (int follow = 0; follow < 10; follow++) {
                publisher.publish("busy-" + follow, 0, pos(tick[0]), null, true, INTERVAL);
            }
        });
        assertThat(sent.size(), lessThanOrEqualTo(61));
        assertTrue(sent.size() >= 55);
        for (Map<String, Map<Integer, OplogPosition>> update : sent) {
            assertThat(update.size(), equalTo(10));
        }
        // the newest checkpoint of each follow is what was stored
        assertThat(sent.get(sent.size() - 1).get("busy-3").get(0), equalTo(pos(tick[0])));
    }

    public void testAStoppingShardSendsItsLastCheckpointAtOnce() {
        publisher.publish("idx", 0, pos(5), null, false, INTERVAL);
        publisher.stop("idx", 0);
        queue.runAllRunnableTasks();
        assertThat(sent, equalTo(List.of(Map.of("idx", Map.of(0, pos(5))))));
        assertThat(queue.getCurrentTimeMillis(), equalTo(0L));
        // forgotten once stored: nothing is left to send
        queue.runAllTasks();
        assertThat(sent.size(), equalTo(1));
    }

    public void testAFailedUpdateIsSentAgain() {
        failSends = true;
        publisher.publish("idx", 0, pos(5), null, true, INTERVAL);
        queue.runTasksUpToTimeInOrder(INTERVAL.millis());
        assertTrue(sent.isEmpty());
        failSends = false;
        publisher.publish("idx", 0, pos(3), null, false, INTERVAL); // an older one changes nothing
        queue.runTasksUpToTimeInOrder(INTERVAL.millis() + CheckpointPublisher.RETRY_DELAY.millis());
        assertThat(sent, equalTo(List.of(Map.of("idx", Map.of(0, pos(5))))));
    }

    public void testResumePointsGoWithTheirCheckpointsTheNewestFirstAlsoWhenSentAgain() {
        ResumePoint older = new ResumePoint(pos(2), "{\"_data\": \"82000000020000000104\"}");
        ResumePoint newer = new ResumePoint(pos(4), "{\"_data\": \"82000000040000000104\"}");
        failSends = true;
        publisher.publish("idx", 0, pos(3), older, true, INTERVAL);
        publisher.publish("idx", 1, pos(3), null, true, INTERVAL); // an oplog follow's shard has none
        queue.runTasksUpToTimeInOrder(INTERVAL.millis());
        failSends = false;
        publisher.publish("idx", 0, pos(5), newer, true, INTERVAL);
        publisher.publish("idx", 0, pos(5), older, true, INTERVAL); // an older point changes nothing
        queue.runTasksUpToTimeInOrder(INTERVAL.millis() * 3);
        assertThat(sent, equalTo(List.of(Map.of("idx", Map.of(0, pos(5), 1, pos(3))))));
        assertThat(sentResumePoints, equalTo(List.of(Map.of("idx", Map.of(0, newer)))));
    }

    public void testALowerIdleIntervalAppliesToPendingCheckpoints() {
        publisher.publish("idx", 0, pos(5), null, false, INTERVAL);
        queue.runTasksUpToTimeInOrder(10_000);
        assertTrue(sent.isEmpty());
        publisher.setIdleInterval(TimeValue.timeValueSeconds(5));
        queue.runAllRunnableTasks();
        assertThat(sent, equalTo(List.of(Map.of("idx", Map.of(0, pos(5))))));
    }

    public void testNothingPendingSendsNothing() {
        publisher.publish("idx", 0, pos(5), null, true, INTERVAL);
        queue.runAllTasks();
        assertThat(sent.size(), equalTo(1));
        queue.scheduleAt(IDLE.millis() * 3, () -> {});
        queue.runAllTasks();
        assertThat(sent.size(), equalTo(1));
    }
}

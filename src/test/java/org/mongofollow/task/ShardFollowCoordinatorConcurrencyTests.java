package org.mongofollow.task;

import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.junit.After;
import org.junit.Test;
import org.mongofollow.metadata.FollowBudgets;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The coordinator with real threads: responses and failures arrive on pool threads, sometimes synchronously on the calling
 * thread, with random latencies. The state machine must come out exact (its monitor is the only lock).
 */
public class ShardFollowCoordinatorConcurrencyTests {

    private final ScheduledExecutorService pool = Executors.newScheduledThreadPool(8);
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();

    @After
    public void shutdown() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }

    @Test
    public void testConvergesWithCallbacksOnManyThreads() throws Exception {
        for (long seed = 1; seed <= 5; seed++) {
            runOnce(seed);
        }
    }

    private void runOnce(long seed) throws Exception {
        Random random = new Random(seed);
        ShardFollowCoordinatorRandomTests.Source source = new ShardFollowCoordinatorRandomTests.Source(random);
        for (int i = 0; i < 3000; i++) {
            source.append();
        }
        source.advanceMajority(true);
        ShardFollowCoordinatorRandomTests.Sink sink = new ShardFollowCoordinatorRandomTests.Sink(source, source.shardOps.size());
        FollowBudgets budgets = FollowBudgets.builder()
            .maxReadRequestOperationCount(1 + random.nextInt(50))
            .maxOutstandingReadRequests(1 + random.nextInt(8))
            .maxWriteRequestOperationCount(1 + random.nextInt(50))
            .maxOutstandingWriteRequests(1 + random.nextInt(8))
            .maxWriteBufferCount(1 + random.nextInt(500))
            .maxWriteBufferSize(ByteSizeValue.ofKb(64))
            .maxRetryDelay(TimeValue.timeValueMillis(5))
            .readPollTimeout(TimeValue.timeValueMillis(20))
            .build();

        ShardFollowCoordinator<TestOp> coordinator = new ShardFollowCoordinator<>("follower", 0, "threads", budgets) {
            @Override
            protected void innerSendReadRequest(ReadRequest request, Consumer<ReadResponse<TestOp>> ok, Consumer<Exception> fail) {
                run(() -> {
                    if (ThreadLocalRandom.current().nextInt(20) == 0) {
                        fail.accept(new RandomSimulations.TransientException("read"));
                        return;
                    }
                    OplogPosition upper = request.isTail() ? source.majority() : request.toInclusive();
                    ReadResponse<TestOp> response = source.read(request, upper, source.firstAfter(request.fromExclusive()));
                    List<TestOp> ops = new ArrayList<>(response.operations());
                    Collections.shuffle(ops);
                    ok.accept(new ReadResponse<>(ops, response.scannedTo(), response.majorityCommitPosition(),
                        response.rawEntriesRead(), response.operationsSkipped(), response.bytesRead()));
                }, request.isTail() ? 5 : 0);
            }

            @Override
            protected void innerSendWriteRequest(List<TestOp> ops, Consumer<WriteResponse> ok, Consumer<Exception> fail) {
                run(() -> {
                    boolean failed = ThreadLocalRandom.current().nextInt(20) == 0;
                    synchronized (sink) {
                        int n = failed ? ThreadLocalRandom.current().nextInt(ops.size() + 1) : ops.size();
                        for (int i = 0; i < n; i++) {
                            sink.apply(ops.get(i));
                        }
                    }
                    if (failed) {
                        fail.accept(new RandomSimulations.TransientException("write"));
                    } else {
                        ok.accept(WriteResponse.OK);
                    }
                }, 0);
            }

            @Override
            protected void innerReserveMemory(long bytes, boolean force) {}

            @Override
            protected void innerReleaseMemory(long bytes) {}

            @Override
            protected void innerPersistCheckpoint(OplogPosition checkpoint, boolean applied) {
                synchronized (sink) {
                    sink.advanceAppliedPrefix();
                    if (sink.appliedPrefix < source.shardOps.size()) {
                        assertTrue(checkpoint.before(source.shardOps.get(sink.appliedPrefix).position()));
                    }
                }
            }

            @Override
            protected void schedule(TimeValue delay, Runnable task) {
                pool.schedule(guarded(task), delay.millis(), TimeUnit.MILLISECONDS);
            }

            @Override
            protected boolean shouldRetry(Exception e) {
                return e instanceof RandomSimulations.TransientException;
            }

            @Override
            protected long relativeTimeNanos() {
                return System.nanoTime();
            }
        };
        coordinator.start(OplogPosition.MIN, random.nextBoolean() ? null : source.majority());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (coordinator.getCheckpoint().equals(source.majority()) == false && System.nanoTime() < deadline && errors.isEmpty()) {
            Thread.sleep(2);
        }
        coordinator.stop();
        assertTrue("errors on pool threads: " + errors, errors.isEmpty());
        assertNull(coordinator.getFatalException());
        assertEquals("seed " + seed + ": " + coordinator.getStatus(), source.majority(), coordinator.getCheckpoint());
        synchronized (sink) {
            assertEquals("seed " + seed, source.finalState(), sink.documents());
        }
    }

    /** Runs {@code task} on this thread (sometimes) or on a pool thread after {@code delayMillis} or a random short delay. */
    private void run(Runnable task, int delayMillis) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        if (delayMillis == 0 && r.nextInt(4) == 0) {
            guarded(task).run();
        } else if (delayMillis == 0 && r.nextBoolean()) {
            pool.execute(guarded(task));
        } else {
            pool.schedule(guarded(task), delayMillis * 1000L + r.nextInt(300), TimeUnit.MICROSECONDS);
        }
    }

    private Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (Throwable t) {
                errors.add(t);
            }
        };
    }
}

package org.mongofollow.task;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.test.ESTestCase;
import org.elasticsearch.threadpool.FixedExecutorBuilder;
import org.elasticsearch.threadpool.TestThreadPool;
import org.elasticsearch.threadpool.ThreadPool;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/** A follow's delayed step is never dropped because the pool's queue was full when it came due (a silent stall). */
public class RetrySchedulingTests extends ESTestCase {

    private ThreadPool pool;
    private Executor tiny;
    private CountDownLatch busy;

    @Override
    public void setUp() throws Exception {
        super.setUp();
        pool = new TestThreadPool(getTestName(), new FixedExecutorBuilder(Settings.EMPTY, "tiny", 1, 1, "tiny", EsExecutors.TaskTrackingConfig.DO_NOT_TRACK));
        tiny = pool.executor("tiny");
        busy = new CountDownLatch(1);
        tiny.execute(() -> {
            try {
                busy.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }); // the pool's one thread
        tiny.execute(() -> {}); // its one queue slot
    }

    @Override
    public void tearDown() throws Exception {
        busy.countDown();
        terminate(pool);
        super.tearDown();
    }

    public void testAStepTheFullPoolRefusesRunsOnceThePoolHasRoom() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        RetryScheduling.schedule(pool, TimeValue.timeValueMillis(10), tiny, ran::countDown);
        assertFalse("the pool is full: the step cannot have run", ran.await(300, TimeUnit.MILLISECONDS));
        busy.countDown();
        assertTrue("the refused step was dropped", ran.await(10, TimeUnit.SECONDS));
    }

    public void testATaskStartTheFullPoolRefusesRunsOnceThePoolHasRoomAndNeverFails() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
        // as the persistent tasks framework starts a task: an AbstractRunnable that marks the task failed on a failure
        RetryScheduling.retryingRejections(pool, tiny).execute(new org.elasticsearch.common.util.concurrent.AbstractRunnable() {
            @Override
            protected void doRun() {
                ran.countDown();
            }

            @Override
            public void onFailure(Exception e) {
                failure.set(e);
            }
        });
        assertFalse("the pool is full: the start cannot have run", ran.await(300, TimeUnit.MILLISECONDS));
        assertNull("a refused start must not fail the task", failure.get());
        busy.countDown();
        assertTrue("the refused start was dropped", ran.await(10, TimeUnit.SECONDS));
        assertNull(failure.get());
    }

    public void testATaskStartRefusedByAPoolThatShutDownGetsTheRefusal() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Executor executor = RetryScheduling.retryingRejections(pool, tiny);
        busy.countDown();
        terminate(pool);
        executor.execute(new org.elasticsearch.common.util.concurrent.AbstractRunnable() {
            @Override
            protected void doRun() {
                fail("the pool is shut down");
            }

            @Override
            public void onFailure(Exception e) {
                failure.set(e);
            }
        });
        assertTrue(failure.get() instanceof org.elasticsearch.common.util.concurrent.EsRejectedExecutionException);
    }
}

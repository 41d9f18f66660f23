package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.common.util.concurrent.AbstractRunnable;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.threadpool.ThreadPool;

import java.util.concurrent.Executor;

/**
 * Delayed steps of a follow (a retry after a failure, the next privilege check) on the plugin's pool. A plain scheduled
 * {@code Runnable} is dropped when the pool's queue is full at the moment it is due, which would leave a read slot or a
 * write batch outstanding forever while the follow still says {@code active}; here a refused step is offered again
 * until it runs or the pool shuts down (a step of a stopped task still runs: it does the task's accounting).
 */
public final class RetryScheduling {

    private static final Logger logger = LogManager.getLogger(RetryScheduling.class);

    /** How long a step the pool refused waits before it is offered again. */
    static final TimeValue AFTER_REJECTION = TimeValue.timeValueMillis(100);

    /** The first retry of a coordinator's request waits up to this long; every further retry doubles it. */
    public static final long INITIAL_RETRY_DELAY_MILLIS = 50;

    private RetryScheduling() {}

    /**
     * The wait before a coordinator sends a failed request again for the {@code retry}-th time: a bound that doubles from
     * {@link #INITIAL_RETRY_DELAY_MILLIS} up to {@code maxMillis}, jittered within its upper half ({@code jitter} gives a
     * uniformly random value in {@code [0, bound)}).
     */
    public static TimeValue retryDelay(int retry, long maxMillis, java.util.function.LongUnaryOperator jitter) {
        int shift = Math.min(Math.max(retry - 1, 0), 30);
        long bound = Math.min(maxMillis, INITIAL_RETRY_DELAY_MILLIS << shift);
        long half = bound / 2;
        return TimeValue.timeValueMillis(half + jitter.applyAsLong(bound - half + 1));
    }

    public static void schedule(ThreadPool threadPool, TimeValue delay, Executor executor, Runnable step) {
        threadPool.scheduleUnlessShuttingDown(delay, executor, new OfferedUntilRun(threadPool, executor, step));
    }

    /**
     * {@code executor}, except that a step it refuses (its queue full) is offered again until it runs, as a scheduled
     * step is; refused because the pool shut down, the step gets the refusal. The persistent tasks' executors start their
     * tasks through it: the start of a task is a step the node runs once, and a refused start marks the task failed,
     * which removes it from the cluster for good, so that a shard would silently not be followed.
     */
    public static Executor retryingRejections(ThreadPool threadPool, Executor executor) {
        return step -> executor.execute(new OfferedUntilRun(threadPool, executor, step));
    }

    /** Runs {@code step}; refused by a full queue, offers it again after {@link #AFTER_REJECTION}. */
    private static final class OfferedUntilRun extends AbstractRunnable {
        private final ThreadPool threadPool;
        private final Executor executor;
        private final Runnable step;

        OfferedUntilRun(ThreadPool threadPool, Executor executor, Runnable step) {
            this.threadPool = threadPool;
            this.executor = executor;
            this.step = step;
        }

        @Override
        protected void doRun() {
            step.run();
        }

        @Override
        public void onRejection(Exception e) {
            if (e instanceof EsRejectedExecutionException rejected && rejected.isExecutorShutdown()) {
                // the node is closing: a task resumes from its checkpoint wherever it runs next; a step that handles a
                // refusal of its own (a task's start) gets it
                if (step instanceof AbstractRunnable runnable) {
                    runnable.onRejection(e);
                }
                return;
            }
            schedule(threadPool, AFTER_REJECTION, executor, step);
        }

        @Override
        public void onFailure(Exception e) {
            // (a step that is an AbstractRunnable, as a task's start is, handles its own failures in step.run())
            logger.warn("a step of a follow failed", e);
        }
    }
}

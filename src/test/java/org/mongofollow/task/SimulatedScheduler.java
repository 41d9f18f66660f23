package org.mongofollow.task;

import java.util.PriorityQueue;

/**
 * A deterministic scheduler for the coordinators' random simulations: a simulated clock and a queue of tasks ordered by due
 * time, then by submission.
 */
public final class SimulatedScheduler {
    record Task(long dueNanos, long seq, Runnable runnable) {}

    private final PriorityQueue<Task> tasks = new PriorityQueue<>(
        (a, b) -> a.dueNanos != b.dueNanos ? Long.compare(a.dueNanos, b.dueNanos) : Long.compare(a.seq, b.seq)
    );
    private long nanos;
    private long seq;

    public void schedule(long delayMillis, Runnable runnable) {
        tasks.add(new Task(nanos + delayMillis * 1_000_000, seq++, runnable));
    }

    /** Runs the next task, moving the clock to its due time; false when none is left. */
    public boolean runNext() {
        Task task = tasks.poll();
        if (task == null) {
            return false;
        }
        nanos = Math.max(nanos, task.dueNanos);
        task.runnable.run();
        return true;
    }

    public long nanos() {
        return nanos;
    }

    public boolean isEmpty() {
        return tasks.isEmpty();
    }
}

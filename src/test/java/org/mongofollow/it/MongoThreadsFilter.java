package org.mongofollow.it;

import com.carrotsearch.randomizedtesting.ThreadFilter;

/**
 * Threads that outlive a test on purpose: the MongoDB driver's global pruner and the embedded MongoDB's
 * event loops and timers, which belong to the suite-wide server.
 */
public class MongoThreadsFilter implements ThreadFilter {
    @Override
    public boolean reject(Thread t) {
        String name = t.getName();
        return name.startsWith("BufferPoolPruner")
            || name.startsWith("embedded-mongo")
            || name.startsWith("nioEventLoopGroup")
            || name.startsWith("mongo-")
            || name.startsWith("cluster-")
            || name.startsWith("MaintenanceTimer")
            || name.startsWith("globalEventExecutor")
            || name.startsWith("threadDeathWatcher");
    }
}

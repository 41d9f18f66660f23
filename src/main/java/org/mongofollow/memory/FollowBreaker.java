package org.mongofollow.memory;

import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.indices.breaker.BreakerSettings;
import org.elasticsearch.monitor.jvm.JvmInfo;

/**
 * The node's memory budget for follows: a circuit breaker of the plugin's own, {@value #NAME}, under Elasticsearch's
 * parent breaker. It is charged with what follows hold on the node: oplog entries while a read brings them in (a read
 * that would pass the limit fails with a retryable {@code circuit_breaking_exception} and is retried), the shared read
 * window, each shard task's buffered and in-flight operations (a read whose operations do not fit is retried
 * later, so a flood of large entries slows the follows down instead of exhausting the heap), and on a primary the
 * documents a write request's updates rewrite (once it is full, the rest of the request is deferred to another).
 * <p>
 * Settings as for every breaker: {@code breaker.mongo_follow.limit} (default {@value #DEFAULT_LIMIT_PERCENT}% of the
 * heap) and {@code breaker.mongo_follow.overhead} (default 1), both dynamic; {@code GET _nodes/stats/breaker} shows it.
 */
public final class FollowBreaker {

    public static final String NAME = "mongo_follow";
    static final int DEFAULT_LIMIT_PERCENT = 20;

    private FollowBreaker() {}

    /**
     * Charges {@code bytes} that a coordinator is about to hold to {@code breaker}, naming what holds them in the
     * exception when the budget is spent; {@code force}: charge without failing (what every held byte waits for).
     */
    public static void reserve(CircuitBreaker breaker, long bytes, boolean force, String label) {
        if (force) {
            breaker.addWithoutBreaking(bytes);
        } else {
            breaker.addEstimateBytesAndMaybeBreak(bytes, label);
        }
    }

    /** The breaker's settings: the defaults, overridden by {@code breaker.mongo_follow.*} in the node's settings. */
    public static BreakerSettings settings(Settings settings) {
        long limit = JvmInfo.jvmInfo().getMem().getHeapMax().getBytes() * DEFAULT_LIMIT_PERCENT / 100;
        return BreakerSettings.updateFromSettings(
            new BreakerSettings(NAME, limit, 1.0, CircuitBreaker.Type.MEMORY, CircuitBreaker.Durability.TRANSIENT),
            settings
        );
    }
}

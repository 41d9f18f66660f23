package org.mongofollow.source;

import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.core.Nullable;

/**
 * What one read from MongoDB holds while it collects its entries, charged to the node's {@code mongo_follow} breaker
 * ({@link OplogReader#charging}): an entry that would pass the breaker's limit ends the read before it once the read holds
 * something it can return; otherwise it fails the read with the breaker's (retryable) {@code CircuitBreakingException},
 * unless the read must bring something ({@code firstAlways}: the read every buffered operation of a shard task waits
 * for), which is then charged over the limit. Released when the read returns: its caller charges what it keeps.
 */
final class ReadCharge {

    @Nullable
    private final CircuitBreaker breaker;
    private final boolean firstAlways;
    private final String label;
    private long charged;

    /** {@code breaker} null: nothing is charged. */
    ReadCharge(@Nullable CircuitBreaker breaker, boolean firstAlways, String label) {
        this.breaker = breaker;
        this.firstAlways = firstAlways;
        this.label = label;
    }

    /**
     * Charges {@code size} more bytes; false when they do not fit and the read already {@code holds} what it can return
     * (it ends before this entry).
     */
    boolean add(long size, boolean holds) {
        if (breaker == null) {
            return true;
        }
        if (holds == false && firstAlways) {
            breaker.addWithoutBreaking(size);
        } else {
            try {
                breaker.addEstimateBytesAndMaybeBreak(size, label);
            } catch (CircuitBreakingException e) {
                if (holds) {
                    return false;
                }
                throw e;
            }
        }
        charged += size;
        return true;
    }

    /** Gives back everything this read charged. */
    void release() {
        if (breaker != null && charged > 0) {
            breaker.addWithoutBreaking(-charged);
            charged = 0;
        }
    }
}

package org.mongofollow.apply;

import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.core.Releasable;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What one write request holds on the primary beyond the request itself, charged to the node's breaker: the documents its
 * updates rewrote, each held whole until the replicas have it. Released once, when the primary's action completes (after
 * replication).
 */
final class PrimaryCharge implements Releasable {

    static final String LABEL = "<mongo_follow rewritten documents>";

    private final CircuitBreaker breaker;
    private final AtomicLong bytes = new AtomicLong();

    PrimaryCharge(CircuitBreaker breaker) {
        this.breaker = breaker;
    }

    /** Charges a rewritten document. Never trips: the document is written already; {@link #hasRoom()} decides what follows. */
    void add(long documentBytes) {
        breaker.addWithoutBreaking(documentBytes);
        bytes.addAndGet(documentBytes);
    }

    /** Bytes charged and not released. */
    long bytes() {
        return bytes.get();
    }

    /**
     * Whether the breaker (and its parent) is within its limit. When it is not, the breaker counts a trip: the request
     * stops there, and the rest of it waits for a request of its own.
     */
    boolean hasRoom() {
        try {
            breaker.addEstimateBytesAndMaybeBreak(0, LABEL);
            return true;
        } catch (CircuitBreakingException e) {
            return false;
        }
    }

    @Override
    public void close() {
        long held = bytes.getAndSet(0);
        if (held != 0) {
            breaker.addWithoutBreaking(-held);
        }
    }
}

package org.mongofollow.source;

import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.unit.ByteSizeValue;

import java.util.HashMap;
import java.util.Map;

/**
 * The node's {@link OplogFeed}s: one per MongoDB endpoint its shard tasks follow, made when the first task of the
 * endpoint subscribes and dropped (with its window) when the last one leaves.
 */
public final class OplogFeeds {

    /** The most oplog entries each feed keeps for the node's shard tasks to share. */
    public static final Setting<ByteSizeValue> WINDOW_SIZE = Setting.byteSizeSetting(
        "mongo_follow.feed.window_size",
        ByteSizeValue.ofMb(64),
        ByteSizeValue.ofKb(1),
        ByteSizeValue.ofGb(4),
        Setting.Property.NodeScope
    );

    private final MongoClientService clients;
    private final long windowBytes;
    private final CircuitBreaker breaker;
    private final Map<MongoEndpoint, OplogFeed> feeds = new HashMap<>();

    /** {@code breaker}: charged with the entries each feed reads and keeps (see {@link OplogFeed}). */
    public OplogFeeds(MongoClientService clients, ByteSizeValue windowSize, CircuitBreaker breaker) {
        this.clients = clients;
        this.windowBytes = windowSize.getBytes();
        this.breaker = breaker;
    }

    /** Subscribes a shard task of a follow of {@code namespace} on {@code endpoint}; returns the feed it reads through. */
    public synchronized OplogFeed subscribe(MongoEndpoint endpoint, String namespace) {
        OplogFeed feed = feeds.computeIfAbsent(endpoint, e -> new OplogFeed(() -> clients.client(e), windowBytes, breaker));
        feed.subscribe(namespace);
        return feed;
    }

    public synchronized void unsubscribe(MongoEndpoint endpoint, String namespace) {
        OplogFeed feed = feeds.get(endpoint);
        if (feed != null && feed.unsubscribe(namespace)) {
            feeds.remove(endpoint);
        }
    }

    /** Each feed's figures, by endpoint description (never a credential: see {@link MongoEndpoint#describe()}). */
    public synchronized Map<String, OplogFeed.Stats> stats() {
        Map<String, OplogFeed.Stats> stats = new HashMap<>();
        feeds.forEach((endpoint, feed) -> stats.put(endpoint.describe(), feed.stats()));
        return stats;
    }
}

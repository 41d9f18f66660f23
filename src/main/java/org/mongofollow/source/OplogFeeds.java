package org.mongofollow.source;

import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.unit.ByteSizeValue;

import java.util.HashMap;
import java.util.Map;

/**
 * The node's {@link OplogFeed}s: one per MongoDB endpoint its shard tasks follow from the oplog, and one per endpoint and
 * collection they follow from a change stream ({@link FeedSource}), made when the first task subscribes and dropped (with
 * its window) when the last one leaves.
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
    private record Key(MongoEndpoint endpoint, FeedSource source) {}

    private final Map<Key, OplogFeed> feeds = new HashMap<>();

    /** {@code breaker}: charged with the entries each feed reads and keeps (see {@link OplogFeed}). */
    public OplogFeeds(MongoClientService clients, ByteSizeValue windowSize, CircuitBreaker breaker) {
        this.clients = clients;
        this.windowBytes = windowSize.getBytes();
        this.breaker = breaker;
    }

    /**
     * Subscribes a shard task of a follow of {@code namespace} on {@code endpoint} that reads {@code source}; returns the
     * feed it reads through.
     */
    public synchronized OplogFeed subscribe(MongoEndpoint endpoint, FeedSource source, String namespace) {
        OplogFeed feed = feeds.computeIfAbsent(
            new Key(endpoint, source),
            key -> new OplogFeed(
                () -> clients.client(key.endpoint()),
                new ShardedOplogReader.ShardClients() {
                    private final ShardRoster roster = new ShardRoster();

                    @Override
                    public com.mongodb.client.MongoClient client(ShardedOplogReader.Shard shard) {
                        return clients.shardClient(key.endpoint(), shard);
                    }

                    @Override
                    public ShardRoster roster() {
                        return roster;
                    }
                },
                key.source(),
                windowBytes,
                breaker
            )
        );
        feed.subscribe(namespace);
        return feed;
    }

    public synchronized void unsubscribe(MongoEndpoint endpoint, FeedSource source, String namespace) {
        Key key = new Key(endpoint, source);
        OplogFeed feed = feeds.get(key);
        if (feed != null && feed.unsubscribe(namespace)) {
            feeds.remove(key);
        }
    }

    /**
     * How a feed is named in the figures: the endpoint's description (never a credential: see
     * {@link MongoEndpoint#describe()}), followed by the collection for a change stream's feed.
     */
    public static String describe(MongoEndpoint endpoint, FeedSource source) {
        return source == OplogSource.INSTANCE ? endpoint.describe() : endpoint.describe() + " " + source.describe();
    }

    /** Each feed's figures, by endpoint description (never a credential: see {@link MongoEndpoint#describe()}). */
    public synchronized Map<String, OplogFeed.Stats> stats() {
        Map<String, OplogFeed.Stats> stats = new HashMap<>();
        feeds.forEach((key, feed) -> stats.put(describe(key.endpoint(), key.source()), feed.stats()));
        return stats;
    }
}

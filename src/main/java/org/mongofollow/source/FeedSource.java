package org.mongofollow.source;

import com.mongodb.client.MongoClient;

import org.bson.RawBsonDocument;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.common.breaker.CircuitBreaker;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What a node's {@link OplogFeed} reads, and how it reads and decodes it: the oplog of a replica set
 * ({@link OplogSource#INSTANCE}, one feed per endpoint for every namespace the node follows there) or one collection's
 * change stream ({@link ChangeStreamSource}, one feed per endpoint and namespace). The feed's window, sharing between
 * shard tasks, parking and memory accounting are the same for both.
 */
public interface FeedSource {

    /**
     * A reader of what can matter to follows of {@code namespaces}, charging {@code breaker} (see {@link OplogReader#charging});
     * {@code shards} reaches the shards when {@code client} is a sharded cluster's mongos.
     */
    HistoryReader reader(MongoClient client, ShardedOplogReader.ShardClients shards, Set<String> namespaces, CircuitBreaker breaker,
        boolean essential);

    /** The position of an entry, as a {@link org.mongofollow.operation.OplogPosition#key()}. */
    long position(RawBsonDocument entry);

    /** The namespace an entry belongs to, for {@link #matches} ("" when it has none). */
    String namespace(RawBsonDocument entry);

    /** Whether an entry of {@code entryNamespace} can matter to a follow of {@code namespace}. */
    boolean matches(String entryNamespace, String namespace);

    /**
     * What each of {@code entries} (one read's, whole: see {@link HistoryReader}) means for a follow of {@code namespace}:
     * null for entries of other namespaces and for those decoded with a later one (a transaction's, with its commit).
     * {@code entryShards}: the MongoDB shard of each entry, when the read merged a sharded cluster's oplogs (else null).
     */
    List<DecodedEntry> decode(
        List<RawBsonDocument> entries,
        String[] entryNamespaces,
        @Nullable String[] entryShards,
        String namespace,
        Set<String> readNamespaces,
        Supplier<MongoClient> client,
        ShardedOplogReader.ShardClients shards,
        CircuitBreaker breaker
    );

    /**
     * Whether a shard task may read several ranges of this source at once. The oplog can be read anywhere by position;
     * a change stream is read in order from where it starts (each read opens one), so reads of it go one at a time.
     */
    default boolean parallelReads() {
        return true;
    }

    /** How the feed's figures name it, after its endpoint. */
    String describe();
}

package org.mongofollow.source;

import com.mongodb.client.MongoClient;

import org.bson.RawBsonDocument;
import org.mongofollow.operation.OplogPosition;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.Nullable;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The oplog of a replica set as a {@link FeedSource}: entries are oplog entries, positions their {@code ts}, and one
 * feed reads for every namespace the node follows on the endpoint (the server-side filter of {@link OplogReader}).
 */
public final class OplogSource implements FeedSource {

    public static final OplogSource INSTANCE = new OplogSource();

    private OplogSource() {}

    @Override
    public HistoryReader reader(MongoClient client, ShardedOplogReader.ShardClients shards, Set<String> namespaces, CircuitBreaker breaker,
        boolean essential) {
        if (WireVersions.isMongos(client)) {
            return ShardedOplogReader.of(client, shards, namespaces, breaker, essential); // every shard's oplog, merged
        }
        return new OplogReader(client, namespaces).charging(breaker, essential);
    }

    @Override
    public long position(RawBsonDocument entry) {
        return OplogReader.position(entry).key();
    }

    @Override
    public String namespace(RawBsonDocument entry) {
        var ns = entry.get("ns");
        return ns != null && ns.isString() ? ns.asString().getValue() : "";
    }

    @Override
    public boolean matches(String entryNamespace, String namespace) {
        return OplogReader.matches(entryNamespace, namespace);
    }

    /**
     * What each entry of a read means for a follow of {@code namespace}, once per segment and namespace: null for
     * entries of other namespaces and for those that open or continue a transaction. A transaction's commit is decoded
     * with its chain, which is looked up in the oplog by position; when the oplog no longer holds it this throws
     * {@link TransactionChains.MissingEntryException} (nothing is cached then).
     */
    @Override
    public List<DecodedEntry> decode(
        List<RawBsonDocument> entries,
        String[] entryNamespaces,
        @Nullable String[] entryShards,
        String namespace,
        Set<String> readNamespaces,
        Supplier<MongoClient> client,
        ShardedOplogReader.ShardClients shards,
        CircuitBreaker breaker
    ) {
        int dot = namespace.indexOf('.');
        String database = namespace.substring(0, dot);
        String collection = namespace.substring(dot + 1);
        // made on the first chain: a sharded cluster's chains are looked up in the oplog of the shard of the entry decoded
        java.util.function.BiFunction<OplogPosition, String, RawBsonDocument>[] reader = new java.util.function.BiFunction[1];
        String[] shard = { null };
        // a transaction's earlier entries (up to 16 MB each) are held while its commit is decoded: they are charged to the
        // breaker, so a chain that does not fit fails the read (retryably) instead of exhausting the heap
        long[] chainBytes = { 0 };
        TransactionChains.EntryLookup lookup = position -> {
            if (reader[0] == null) {
                MongoClient mongo = client.get();
                if (WireVersions.isMongos(mongo)) {
                    reader[0] = ShardedOplogReader.of(mongo, shards, readNamespaces, null, false)::entryAt;
                } else {
                    OplogReader replicaSet = new OplogReader(mongo, readNamespaces);
                    reader[0] = (at, shardId) -> replicaSet.entryAt(at);
                }
            }
            if (entryShards != null && shard[0] == null) {
                throw new IllegalStateException("a sharded cluster's oplog entry without its shard"); // (never: merged reads name them all)
            }
            RawBsonDocument found = reader[0].apply(position, shard[0]);
            if (found != null) {
                long size = found.getByteBuffer().remaining();
                if (breaker.getLimit() >= 0 && chainBytes[0] + size > breaker.getLimit()) {
                    throw new TransactionChains.TooLargeException(
                        "the transaction with the oplog entry at "
                            + position
                            + " has more than "
                            + ByteSizeValue.ofBytes(chainBytes[0] + size)
                            + " of earlier oplog entries, more than the node's memory budget for follows ["
                            + breaker.getName()
                            + "] of "
                            + ByteSizeValue.ofBytes(breaker.getLimit())
                            + " can ever hold: raise breaker."
                            + breaker.getName()
                            + ".limit, then _pause and _resume the follow"
                    );
                }
                breaker.addEstimateBytesAndMaybeBreak(size, "transaction chain");
                chainBytes[0] += size;
            }
            return found;
        };
        DecodedEntry[] decoded = new DecodedEntry[entries.size()];
        for (int i = 0; i < decoded.length; i++) {
            if (OplogReader.matches(entryNamespaces[i], namespace) == false) {
                continue;
            }
            RawBsonDocument entry = entries.get(i);
            shard[0] = entryShards == null ? null : entryShards[i];
            try {
                decoded[i] = TransactionChains.decode(entry, lookup, database, collection); // null: decoded with its commit
            } finally {
                breaker.addWithoutBreaking(-chainBytes[0]);
                chainBytes[0] = 0;
            }
        }
        return java.util.Arrays.asList(decoded);
    }

    @Override
    public String describe() {
        return "oplog";
    }
}

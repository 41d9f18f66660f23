package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.client.MongoClient;

import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.CircuitBreaker;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One collection's change stream as a {@link FeedSource}: entries are change events, positions their {@code clusterTime},
 * and a feed reads for that one namespace (a node runs one such feed per endpoint and followed collection, whatever number
 * of shard tasks read through it).
 *
 * @param namespace    {@code database.collection}
 * @param fullDocument what update events carry besides their description ({@code full_document})
 */
public record ChangeStreamSource(String namespace, FullDocumentMode fullDocument) implements FeedSource {

    @Override
    public HistoryReader reader(MongoClient client, ShardedOplogReader.ShardClients shards, Set<String> namespaces, CircuitBreaker breaker, boolean essential) {
        if (namespaces.equals(Set.of(namespace)) == false) {
            throw new IllegalArgumentException("the change stream of [" + namespace + "] serves no other namespace: " + namespaces);
        }
        return new ChangeStreamReader(client, namespace, fullDocument).charging(breaker, essential);
    }

    @Override
    public long position(RawBsonDocument entry) {
        return ChangeStreamReader.clusterTime(entry).key();
    }

    @Override
    public String namespace(RawBsonDocument entry) {
        return namespace;
    }

    @Override
    public boolean matches(String entryNamespace, String followed) {
        return entryNamespace.equals(followed);
    }

    @Override
    public List<DecodedEntry> decode(
        List<RawBsonDocument> entries,
        String[] entryNamespaces,
        String[] entryShards,
        String followed,
        Set<String> readNamespaces,
        Supplier<MongoClient> client,
        ShardedOplogReader.ShardClients shards,
        CircuitBreaker breaker
    ) {
        List<DecodedEntry> decoded = new ArrayList<>(entries.size());
        long previous = 0;
        int indexInTime = 0;
        for (int i = 0; i < entries.size(); i++) {
            OplogPosition position = ChangeStreamReader.clusterTime(entries.get(i));
            // a read holds whole cluster times (ChangeStreamReader), so numbering restarts with each one
            indexInTime = i > 0 && position.key() == previous ? indexInTime + 1 : 0;
            previous = position.key();
            decoded.add(followed.equals(namespace) ? ChangeEventDecoder.decode(entries.get(i), position, indexInTime, namespace) : null);
        }
        return decoded;
    }

    @Override
    public boolean parallelReads() {
        return false;
    }

    @Override
    public String describe() {
        return "change stream of " + namespace;
    }
}

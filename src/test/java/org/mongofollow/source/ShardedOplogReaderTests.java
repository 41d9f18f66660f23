package org.mongofollow.source;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.NoopCircuitBreaker;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.embedded.ShardedCluster;
import org.mongofollow.operation.OplogPosition;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/**
 * The shards' oplogs read as one history through the embedded sharded cluster: entries of both shards in {@code ts} order,
 * never past what every shard has read to, migrations left out, an added shard read from the next read on, and a shard's
 * lost history named.
 */
public class ShardedOplogReaderTests {

    private ShardedCluster cluster;
    private MongoClient mongos;
    private final Map<String, MongoClient> shardClients = new ConcurrentHashMap<>();
    private final ShardedOplogReader.ShardClients clients = hosts -> shardClients.computeIfAbsent(hosts,
        h -> MongoClients.create(MongoClientService.shardConnection(h)));

    @Before
    public void start() {
        cluster = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(50).oplogMaxEntries(500));
        mongos = MongoClients.create(cluster.connectionString());
        admin(new Document("shardCollection", "db.c").append("key", new Document("_id", 1)));
        admin(new Document("split", "db.c").append("middle", new Document("_id", 100)));
        admin(new Document("moveChunk", "db.c").append("find", new Document("_id", 100)).append("to", "shard1"));
    }

    @After
    public void stop() {
        shardClients.values().forEach(MongoClient::close);
        mongos.close();
        cluster.close();
    }

    private void admin(Document command) {
        mongos.getDatabase("admin").runCommand(command);
    }

    private MongoCollection<Document> collection() {
        return mongos.getDatabase("db").getCollection("c");
    }

    private ShardedOplogReader reader() {
        return ShardedOplogReader.of(mongos, clients, Set.of("db.c"), new NoopCircuitBreaker("test"), true);
    }

    private static List<Integer> ids(List<RawBsonDocument> entries) {
        List<Integer> ids = new ArrayList<>();
        for (RawBsonDocument entry : entries) {
            if (entry.getString("op").getValue().equals("i")) {
                ids.add(entry.getDocument("o").getInt32("_id").getValue());
            }
        }
        return ids;
    }

    @Test
    public void mergesTheShardsInTimeOrderUpToWhatEveryShardHasRead() {
        OplogPosition start = OplogPosition.of(new BsonTimestamp(0, 0));
        List<Integer> written = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int id = i % 2 == 0 ? i : 100 + i; // alternating shards
            collection().insertOne(new Document("_id", id));
            written.add(id);
        }
        admin(new Document("moveChunk", "db.c").append("find", new Document("_id", 0)).append("to", "shard1")); // fromMigrate only
        List<RawBsonDocument> read = new ArrayList<>();
        OplogPosition from = start;
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (read.stream().filter(e -> e.getString("op").getValue().equals("i")).count() < 40 && System.nanoTime() < deadline) {
            OplogReader.Batch batch = reader().tail(from, 7, 1 << 20, 500, () -> false);
            for (RawBsonDocument entry : batch.entries()) {
                assertTrue("a position at or before the read's start: " + entry, OplogReader.position(entry).after(from));
            }
            read.addAll(batch.entries());
            from = batch.scannedTo();
        }
        assertEquals(written, ids(read));
        for (int i = 1; i < read.size(); i++) {
            assertTrue(OplogReader.position(read.get(i)).after(OplogReader.position(read.get(i - 1))));
        }
        assertTrue(read.stream().noneMatch(e -> e.containsKey("fromMigrate")));
    }

    @Test
    public void aFullReadRangeHasReadUpToItsLastEntry() {
        for (int i = 0; i < 30; i++) {
            collection().insertOne(new Document("_id", i % 2 == 0 ? i : 100 + i));
        }
        OplogPosition head = OplogPosition.of(cluster.shard(0).lastAppliedOpTime());
        OplogPosition other = OplogPosition.of(cluster.shard(1).lastAppliedOpTime());
        OplogPosition to = OplogPosition.max(head, other);
        OplogReader.Batch batch = reader().readRange(OplogPosition.MIN, to, 10, 1 << 20);
        assertEquals(10, batch.entries().size()); // a full batch (one entry per position here: one clock)
        assertEquals(OplogReader.position(batch.entries().get(batch.entries().size() - 1)), batch.scannedTo());
    }

    @Test
    public void anAddedShardIsReadFromTheNextRead() {
        OplogPosition from = OplogPosition.of(cluster.shard(1).lastAppliedOpTime());
        EmbeddedMongo third = cluster.startShard();
        admin(new Document("addShard", ShardedCluster.shardHost(third)));
        admin(new Document("split", "db.c").append("middle", new Document("_id", 200)));
        admin(new Document("moveChunk", "db.c").append("find", new Document("_id", 200)).append("to", "shard2"));
        collection().insertOne(new Document("_id", 250));
        ShardedOplogReader reader = reader();
        assertEquals(List.of("shard0", "shard1", "shard2"), reader.shardList().stream().map(ShardedOplogReader.Shard::id).toList());
        List<Integer> ids = new ArrayList<>();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ids.isEmpty() && System.nanoTime() < deadline) {
            OplogReader.Batch batch = reader.tail(from, 100, 1 << 20, 500, () -> false);
            ids.addAll(ids(batch.entries()));
            from = batch.scannedTo();
        }
        assertEquals(List.of(250), ids);
    }

    @Test
    public void aShardsLostHistoryNamesTheShard() {
        collection().insertOne(new Document("_id", 1));
        OplogPosition from = OplogPosition.of(cluster.shard(0).lastAppliedOpTime());
        for (int i = 0; i < 600; i++) {
            collection().insertOne(new Document("_id", 1000 + i)); // shard1's oplog (500 entries) rolls over
        }
        OplogFeed.HistoryLostException e = assertThrows(OplogFeed.HistoryLostException.class,
            () -> reader().tail(from, 100, 1 << 20, 100, () -> false));
        assertEquals("shard1", e.shard());
        assertTrue(e.getMessage(), e.getMessage().startsWith("the oplog of MongoDB shard [shard1] no longer holds " + from));
    }

    @Test
    public void mergeKeepsAPositionWhole() {
        RawBsonDocument a1 = entry(5, 1);
        RawBsonDocument b1 = entry(5, 1); // another shard's entry with the same ts, as MongoDB's clock may give
        RawBsonDocument a2 = entry(6, 1);
        RawBsonDocument b2 = entry(9, 1);
        OplogPosition from = OplogPosition.of(new BsonTimestamp(1, 0));
        OplogReader.Batch merged = ShardedOplogReader.merge(from, List.of(
            new OplogReader.Batch(List.of(a1, a2), OplogPosition.of(new BsonTimestamp(8, 0)), OplogPosition.of(new BsonTimestamp(8, 0)), 0),
            new OplogReader.Batch(List.of(b1, b2), OplogPosition.of(new BsonTimestamp(9, 1)), OplogPosition.of(new BsonTimestamp(9, 1)), 0)
        ), 1);
        // cut after one operation, but never inside a position: both entries at (5, 1)
        assertEquals(List.of(a1, b1), merged.entries());
        assertEquals(OplogPosition.of(new BsonTimestamp(5, 1)), merged.scannedTo());
        OplogReader.Batch all = ShardedOplogReader.merge(from, List.of(
            new OplogReader.Batch(List.of(a1, a2), OplogPosition.of(new BsonTimestamp(8, 0)), OplogPosition.of(new BsonTimestamp(8, 0)), 0),
            new OplogReader.Batch(List.of(b1, b2), OplogPosition.of(new BsonTimestamp(9, 1)), OplogPosition.of(new BsonTimestamp(9, 1)), 0)
        ), 100);
        // (9, 1) is past what the first shard has read to (8, 0): held back
        assertEquals(List.of(a1, b1, a2), all.entries());
        assertEquals(OplogPosition.of(new BsonTimestamp(8, 0)), all.scannedTo());
        assertEquals(OplogPosition.of(new BsonTimestamp(8, 0)), all.majorityCommitPoint());
    }

    private static RawBsonDocument entry(int seconds, int increment) {
        return RawBsonDocument.parse(new BsonDocument("ts", new BsonTimestamp(seconds, increment)).append("op", new org.bson.BsonString("n"))
            .toJson());
    }
}

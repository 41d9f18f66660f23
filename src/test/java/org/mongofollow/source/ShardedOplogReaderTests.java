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
 * never past what every shard has read to, an added shard read from the next read on, a removed one read to its end, and
 * a shard's lost history named.
 */
public class ShardedOplogReaderTests {

    private ShardedCluster cluster;
    private MongoClient mongos;
    private final Map<String, MongoClient> shardClients = new ConcurrentHashMap<>();
    private final ShardedOplogReader.ShardClients clients = shard -> shardClients.computeIfAbsent(shard.hosts(),
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
            // inserts, as a follow applies them: a migration's own entries (fromMigrate) are skipped when decoded
            if (entry.getString("op").getValue().equals("i") && entry.containsKey("fromMigrate") == false) {
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
        while (ids(read).size() < 40 && System.nanoTime() < deadline) {
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
        ), List.of("shard0", "shard1"), 1);
        // cut after one operation, but never inside a position: both entries at (5, 1)
        assertEquals(List.of(a1, b1), merged.entries());
        assertEquals(List.of("shard0", "shard1"), merged.entryShards()); // each entry's own shard: the same ts on both
        assertEquals(OplogPosition.of(new BsonTimestamp(5, 1)), merged.scannedTo());
        OplogReader.Batch all = ShardedOplogReader.merge(from, List.of(
            new OplogReader.Batch(List.of(a1, a2), OplogPosition.of(new BsonTimestamp(8, 0)), OplogPosition.of(new BsonTimestamp(8, 0)), 0),
            new OplogReader.Batch(List.of(b1, b2), OplogPosition.of(new BsonTimestamp(9, 1)), OplogPosition.of(new BsonTimestamp(9, 1)), 0)
        ), List.of("shard0", "shard1"), 100);
        // (9, 1) is past what the first shard has read to (8, 0): held back
        assertEquals(List.of(a1, b1, a2), all.entries());
        assertEquals(List.of("shard0", "shard1", "shard0"), all.entryShards());
        assertEquals(OplogPosition.of(new BsonTimestamp(8, 0)), all.scannedTo());
        assertEquals(OplogPosition.of(new BsonTimestamp(8, 0)), all.majorityCommitPoint());
    }

    private static RawBsonDocument entry(int seconds, int increment) {
        return RawBsonDocument.parse(new BsonDocument("ts", new BsonTimestamp(seconds, increment)).append("op", new org.bson.BsonString("n"))
            .toJson());
    }

    /** The node's clients with the roster its feed keeps across reads. */
    private final ShardRoster roster = new ShardRoster();
    private final ShardedOplogReader.ShardClients withRoster = clientsWith(roster);

    private ShardedOplogReader.ShardClients clientsWith(ShardRoster feedRoster) {
        return new ShardedOplogReader.ShardClients() {
            @Override
            public MongoClient client(ShardedOplogReader.Shard shard) {
                return clients.client(shard);
            }

            @Override
            public ShardRoster roster() {
                return feedRoster;
            }
        };
    }

    private OplogReader.Batch readWithRoster(OplogPosition from) {
        return readWithRoster(from, 1000);
    }

    private OplogReader.Batch readWithRoster(OplogPosition from, int maxOperations) {
        return ShardedOplogReader.of(mongos, withRoster, Set.of("db.c"), new NoopCircuitBreaker("test"), true)
            .tail(from, maxOperations, 1 << 20, 300, () -> false);
    }

    /** Reads with the roster until the insert of {@code id} has been read; returns where the reads ended. */
    private OplogPosition readPast(OplogPosition from, int id) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        boolean seen = false;
        while (seen == false && System.nanoTime() < deadline) {
            OplogReader.Batch batch = readWithRoster(from);
            assertEquals(Set.of("shard0", "shard1"), batch.shardsReadTo().keySet());
            seen = ids(batch.entries()).contains(id);
            from = batch.scannedTo();
        }
        assertTrue(seen);
        return from;
    }

    @Test
    public void aRemovedShardIsReadToTheEndOfWhatItHeld() {
        collection().insertOne(new Document("_id", 1));
        OplogPosition from = readPast(OplogPosition.MIN, 1);
        // changes on shard0, then on shard1, that the follow has not read when shard1 leaves the cluster
        for (int i = 0; i < 20; i++) {
            collection().insertOne(new Document("_id", 2 + i));
        }
        for (int i = 0; i < 10; i++) {
            collection().insertOne(new Document("_id", 100 + i));
        }
        admin(new Document("removeShard", "shard1")); // its chunk moves to shard0 (fromMigrate), then it leaves
        OplogPosition beforeRemoval = from;
        List<Integer> ids = new ArrayList<>();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((ids.size() < 10 || retiredTo("shard1") == null || from.compareTo(retiredTo("shard1")) < 0) && System.nanoTime() < deadline) {
            // a lagging follow: small reads, the first ones well before the removal and the changes shard1 made
            OplogReader.Batch batch = readWithRoster(from, 2);
            ids.addAll(ids(batch.entries()).stream().filter(id -> id >= 100).toList());
            from = batch.scannedTo();
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            expected.add(100 + i);
        }
        assertEquals(expected, ids); // read from shard1's oplog, once; shard0's migrated copies are not changes
        assertEquals(Set.of("shard0"), readWithRoster(from).shardsReadTo().keySet()); // past its end: left out
        // a read from before its end (another follow's, or a read again) still has what it held
        List<Integer> again = new ArrayList<>();
        for (OplogPosition at = beforeRemoval; at.compareTo(retiredTo("shard1")) < 0; ) {
            OplogReader.Batch batch = readWithRoster(at, 100);
            assertTrue(batch.shardsReadTo().containsKey("shard1"));
            again.addAll(ids(batch.entries()).stream().filter(id -> id >= 100).toList());
            at = batch.scannedTo();
        }
        assertEquals(expected, again);
    }

    private OplogPosition retiredTo(String shard) {
        return roster.retired().get(shard);
    }

    @Test
    public void aShardRemovedBeforeThisNodeReadIsHistoryLostForReadsFromBeforeItsRemoval() throws InterruptedException {
        collection().insertOne(new Document("_id", 1));
        OplogPosition from = readPast(OplogPosition.MIN, 1);
        collection().insertOne(new Document("_id", 100)); // on shard1
        Thread.sleep(1100); // (a removal in the same second as a read's start counts as before it)
        admin(new Document("removeShard", "shard1"));
        // a node that starts now (a restart, a moved task): its feed's roster has never seen shard1
        ShardedOplogReader.ShardClients newNode = clientsWith(new ShardRoster());
        OplogFeed.HistoryLostException e = assertThrows(OplogFeed.HistoryLostException.class,
            () -> ShardedOplogReader.of(mongos, newNode, Set.of("db.c"), new NoopCircuitBreaker("test"), true).tail(from, 100, 1 << 20, 300, () -> false));
        assertEquals("shard1", e.shard());
        assertTrue(e.getMessage(), e.getMessage().startsWith("MongoDB shard [shard1] was removed from the cluster at "));
        // from a position after its removal (a resync's start) there is nothing of it to read
        collection().insertOne(new Document("_id", 2));
        OplogPosition now = OplogPosition.of(cluster.shard(0).majorityCommitPoint());
        OplogReader.Batch batch = ShardedOplogReader.of(mongos, newNode, Set.of("db.c"), new NoopCircuitBreaker("test"), true)
            .tail(now, 100, 1 << 20, 300, () -> false);
        assertEquals(Set.of("shard0"), batch.shardsReadTo().keySet());
    }

    @Test
    public void aShardGoneWithChunksOfTheCollectionStopsTheFollowWithAReason() {
        collection().insertOne(new Document("_id", 1));
        OplogPosition from = readPast(OplogPosition.MIN, 1);
        // taken out of config.shards by hand, its chunk still its own (not drained)
        mongos.getDatabase("config").getCollection("shards").deleteOne(new Document("_id", "shard1"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> readWithRoster(from));
        assertTrue(e.getMessage(), e.getMessage().startsWith("MongoDB shard [shard1] is gone from config.shards while config.chunks still gives it chunks of [db.c]"));
    }
}

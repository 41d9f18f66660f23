package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoException;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;

/**
 * The embedded sharded cluster as a user sees it through the official driver: the mongos routes by shard key, merges
 * queries and change streams, moves chunks with the {@code fromMigrate} entries mongod writes, and adds shards; each
 * shard's own oplog is read directly.
 */
public class ShardedClusterTests {

    private ShardedCluster cluster;
    private MongoClient mongos;

    @Before
    public void start() {
        cluster = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(50));
        mongos = client(cluster.connectionString());
    }

    @After
    public void stop() {
        mongos.close();
        cluster.close();
    }

    private static MongoClient client(String uri) {
        return MongoClients.create(MongoClientSettings.builder().applyConnectionString(new ConnectionString(uri))
            .applyToClusterSettings(b -> b.serverSelectionTimeout(5, TimeUnit.SECONDS)).build());
    }

    private Document admin(Document command) {
        return mongos.getDatabase("admin").runCommand(command);
    }

    private MongoCollection<Document> orders() {
        return mongos.getDatabase("shop").getCollection("orders");
    }

    /** The documents a shard holds of shop.orders, read from the shard itself. */
    private Set<Integer> onShard(int shard) {
        Set<Integer> keys = new HashSet<>();
        try (MongoClient direct = client(cluster.shard(shard).directConnectionString())) {
            for (Document d : direct.getDatabase("shop").getCollection("orders").find()) {
                keys.add(d.getInteger("k"));
            }
        }
        return keys;
    }

    private List<BsonDocument> oplogOf(int shard, String ns) {
        try (MongoClient direct = client(cluster.shard(shard).directConnectionString())) {
            return direct.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find(Filters.eq("ns", ns)).sort(Sorts.ascending("$natural")).into(new ArrayList<>());
        }
    }

    private void shardOnK() {
        admin(new Document("enableSharding", "shop"));
        admin(new Document("shardCollection", "shop.orders").append("key", new Document("k", 1)));
    }

    @Test
    public void answersAsMongosAndListsItsShards() {
        Document hello = admin(new Document("hello", 1));
        assertEquals("isdbgrid", hello.getString("msg"));
        assertNull(hello.get("setName"));
        List<Document> shards = mongos.getDatabase("config").getCollection("shards").find().into(new ArrayList<>());
        assertEquals(List.of("shard0", "shard1"), shards.stream().map(d -> d.getString("_id")).toList());
        assertEquals(ShardedCluster.shardHost(cluster.shard(1)), shards.get(1).getString("host"));
    }

    @Test
    public void routesByShardKeyAndMergesQueries() {
        shardOnK();
        admin(new Document("split", "shop.orders").append("middle", new Document("k", 50)));
        admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 50)).append("to", "shard1"));
        for (int k = 99; k >= 0; k--) {
            orders().insertOne(new Document("_id", "o" + k).append("k", k).append("total", k * 10));
        }
        Set<Integer> low = new HashSet<>();
        Set<Integer> high = new HashSet<>();
        for (int k = 0; k < 100; k++) {
            (k < 50 ? low : high).add(k);
        }
        assertEquals(low, onShard(0));
        assertEquals(high, onShard(1));

        assertEquals(100, orders().countDocuments());
        assertEquals(100, orders().estimatedDocumentCount());
        List<Integer> sorted = new ArrayList<>();
        for (Document d : orders().find().sort(Sorts.ascending("k")).batchSize(7)) {
            sorted.add(d.getInteger("k"));
        }
        List<Integer> expected = new ArrayList<>();
        for (int k = 0; k < 100; k++) {
            expected.add(k);
        }
        assertEquals(expected, sorted);
        assertEquals(List.of(48, 49, 50, 51), orders().find(Filters.gte("k", 48)).sort(Sorts.ascending("k")).limit(4)
            .map(d -> d.getInteger("k")).into(new ArrayList<>()));
        assertEquals(List.of(98, 97), orders().find().sort(Sorts.descending("_id")).skip(1).limit(2)
            .map(d -> d.getInteger("k")).into(new ArrayList<>()));

        // single-document writes by _id only reach the shard that holds the document
        orders().updateOne(Filters.eq("_id", "o75"), Updates.set("total", -1));
        orders().deleteOne(Filters.eq("_id", "o10"));
        assertEquals(-1, (int) orders().find(Filters.eq("_id", "o75")).first().getInteger("total"));
        assertNull(orders().find(Filters.eq("_id", "o10")).first());
        assertEquals(50, orders().updateMany(Filters.gte("k", 50), Updates.inc("total", 1)).getModifiedCount());
        assertEquals(10, orders().aggregate(List.of(new Document("$sample", new Document("size", 10)))).into(new ArrayList<>()).size());
    }

    @Test
    public void documentKeysCarryTheShardKey() {
        shardOnK();
        orders().insertOne(new Document("_id", 1).append("k", 7).append("v", "a"));
        orders().updateOne(Filters.eq("k", 7), Updates.set("v", "b"));
        orders().deleteOne(Filters.eq("_id", 1));
        List<BsonDocument> entries = oplogOf(0, "shop.orders");
        assertEquals(List.of("i", "u", "d"), entries.stream().map(e -> e.getString("op").getValue()).toList());
        BsonDocument key = BsonDocument.parse("{k: 7, _id: 1}");
        assertEquals(key, entries.get(0).getDocument("o2")); // 6.0 and later
        assertEquals(key, entries.get(1).getDocument("o2"));
        assertEquals(key, entries.get(2).getDocument("o"));
    }

    @Test
    public void aMigrationWritesFromMigrateEntriesOnDonorAndRecipient() {
        shardOnK();
        for (int k = 0; k < 10; k++) {
            orders().insertOne(new Document("_id", k).append("k", k));
        }
        admin(new Document("split", "shop.orders").append("middle", new Document("k", 5)));
        admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 5)).append("to", "shard1"));
        List<BsonDocument> donor = oplogOf(0, "shop.orders");
        List<BsonDocument> recipient = oplogOf(1, "shop.orders");
        assertEquals(10, donor.stream().filter(e -> e.getString("op").getValue().equals("i") && e.containsKey("fromMigrate") == false).count());
        List<BsonDocument> migratedOut = donor.stream().filter(e -> e.containsKey("fromMigrate")).toList();
        assertEquals(5, migratedOut.size());
        migratedOut.forEach(e -> assertEquals("d", e.getString("op").getValue()));
        List<BsonDocument> migratedIn = recipient.stream().filter(e -> e.getString("op").getValue().equals("i")).toList();
        assertEquals(5, migratedIn.size());
        migratedIn.forEach(e -> assertTrue(e.getBoolean("fromMigrate").getValue()));
        // a write after the migration, on the recipient, is later in cluster time than the donor's last entry
        orders().updateOne(Filters.eq("k", 6), Updates.set("after", true));
        List<BsonDocument> after = oplogOf(1, "shop.orders");
        BsonTimestamp update = after.get(after.size() - 1).getTimestamp("ts");
        assertTrue(update.compareTo(donor.get(donor.size() - 1).getTimestamp("ts")) > 0);
        assertEquals(Set.of(0, 1, 2, 3, 4), onShard(0));
        assertEquals(Set.of(5, 6, 7, 8, 9), onShard(1));
        assertEquals(10, orders().countDocuments());
    }

    @Test
    public void hashedKeysSpreadAnEmptyCollection() {
        admin(new Document("shardCollection", "shop.orders").append("key", new Document("_id", "hashed")));
        List<Document> chunks = mongos.getDatabase("config").getCollection("chunks").find().into(new ArrayList<>());
        assertEquals(Set.of("shard0", "shard1"), chunks.stream().map(c -> c.getString("shard")).collect(java.util.stream.Collectors.toSet()));
        for (int i = 0; i < 200; i++) {
            orders().insertOne(new Document("_id", i).append("k", i));
        }
        int first = onShard(0).size();
        int second = onShard(1).size();
        assertEquals(200, first + second);
        assertTrue("both shards hold documents: " + first + " and " + second, first > 20 && second > 20);
        assertEquals(1, orders().countDocuments(Filters.eq("_id", 42)));
    }

    @Test
    public void aChangeStreamThroughMongosMergesTheShardsInClusterTimeOrder() {
        shardOnK();
        admin(new Document("split", "shop.orders").append("middle", new Document("k", 50)));
        admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 50)).append("to", "shard1"));
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = orders().watch().cursor()) {
            for (int i = 0; i < 40; i++) {
                int k = i % 2 == 0 ? i : 50 + i; // alternating shards
                orders().insertOne(new Document("_id", i).append("k", k));
            }
            admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 0)).append("to", "shard1"));
            orders().updateOne(Filters.eq("_id", 0), Updates.set("moved", true));
            List<ChangeStreamDocument<Document>> events = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (events.size() < 41 && System.nanoTime() < deadline) {
                ChangeStreamDocument<Document> event = stream.tryNext();
                if (event != null) {
                    events.add(event);
                }
            }
            assertEquals(41, events.size());
            for (int i = 0; i < 40; i++) {
                assertEquals("insert", events.get(i).getOperationTypeString());
                assertEquals(i, events.get(i).getDocumentKey().getInt32("_id").getValue());
                assertTrue(events.get(i).getDocumentKey().containsKey("k"));
            }
            for (int i = 1; i < events.size(); i++) {
                assertTrue(events.get(i).getClusterTime().compareTo(events.get(i - 1).getClusterTime()) > 0);
            }
            // the migration's entries are not events; the update on the new shard is
            assertEquals("update", events.get(40).getOperationTypeString());
            assertNull(stream.tryNext());

            // resuming after the 20th event gives the rest again, from both shards
            List<Integer> resumed = new ArrayList<>();
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> again = orders().watch()
                .resumeAfter(events.get(19).getResumeToken()).cursor()) {
                while (resumed.size() < 21 && System.nanoTime() < deadline) {
                    ChangeStreamDocument<Document> event = again.tryNext();
                    if (event != null) {
                        resumed.add(event.getDocumentKey().getInt32("_id").getValue());
                    }
                }
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 20; i < 40; i++) {
                expected.add(i);
            }
            expected.add(0);
            assertEquals(expected, resumed);
        }
    }

    @Test
    public void anAddedShardTakesChunksAndJoinsOpenChangeStreams() {
        shardOnK();
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = orders().watch().cursor()) {
            EmbeddedMongo third = cluster.startShard();
            assertEquals("shard2", admin(new Document("addShard", ShardedCluster.shardHost(third))).getString("shardAdded"));
            admin(new Document("split", "shop.orders").append("middle", new Document("k", 100)));
            admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 100)).append("to", "shard2"));
            orders().insertOne(new Document("_id", "a").append("k", 1));
            orders().insertOne(new Document("_id", "b").append("k", 101));
            assertEquals(Set.of(101), onShard(2));
            List<String> ids = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (ids.size() < 2 && System.nanoTime() < deadline) {
                ChangeStreamDocument<Document> event = stream.tryNext();
                if (event != null) {
                    ids.add(event.getDocumentKey().getString("_id").getValue());
                }
            }
            assertEquals(List.of("a", "b"), ids);
        }
        assertEquals(3, mongos.getDatabase("config").getCollection("shards").countDocuments());
    }

    @Test
    public void aShardOutageIsAnErrorUntilItIsBack() {
        shardOnK();
        orders().insertOne(new Document("_id", 1).append("k", 1));
        cluster.shard(0).stop();
        try {
            orders().find().first();
            fail("a query while its shard is down must fail");
        } catch (MongoException e) {
            assertEquals(6, e.getCode());
        }
        cluster.shard(0).restart();
        assertNotNull(orders().find().first());
        assertFalse(orders().find(Filters.eq("k", 2)).iterator().hasNext());
    }

    @Test
    public void removeShardDrainsItsChunksThenLeavesTheCluster() {
        shardOnK();
        admin(new Document("split", "shop.orders").append("middle", new Document("k", 50)));
        admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 50)).append("to", "shard1"));
        for (int k = 0; k < 100; k++) {
            orders().insertOne(new Document("_id", k).append("k", k));
        }
        Document removed = admin(new Document("removeShard", "shard1"));
        assertEquals("completed", removed.getString("state"));
        assertEquals(List.of("shard0"), mongos.getDatabase("config").getCollection("shards").find().map(d -> d.getString("_id"))
            .into(new ArrayList<>()));
        assertEquals(100, onShard(0).size());
        assertEquals(Set.of(), onShard(1));
        assertEquals(50, oplogOf(1, "shop.orders").stream().filter(e -> e.getString("op").getValue().equals("d")
            && e.getBoolean("fromMigrate", new org.bson.BsonBoolean(false)).getValue()).count());
        assertEquals(100, orders().countDocuments());
        try {
            admin(new Document("removeShard", "shard0"));
            fail("the last shard cannot be removed");
        } catch (MongoException e) {
            assertEquals(20, e.getCode());
        }
    }

    @Test
    public void aChangeStreamResumedFromBeforeARemovalStillHasTheRemovedShardsEvents() {
        shardOnK();
        admin(new Document("split", "shop.orders").append("middle", new Document("k", 50)));
        admin(new Document("moveChunk", "shop.orders").append("find", new Document("k", 50)).append("to", "shard1"));
        org.bson.BsonDocument token;
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = orders().watch().cursor()) {
            orders().insertOne(new Document("_id", 1).append("k", 1));
            ChangeStreamDocument<Document> first = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (first == null && System.nanoTime() < deadline) {
                first = stream.tryNext();
            }
            assertNotNull(first);
            token = first.getResumeToken();
        }
        for (int k = 60; k < 63; k++) {
            orders().insertOne(new Document("_id", k).append("k", k)); // on shard1
        }
        admin(new Document("removeShard", "shard1"));
        List<Integer> ids = new ArrayList<>();
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> resumed = orders().watch().resumeAfter(token).cursor()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ids.size() < 3 && System.nanoTime() < deadline) {
                ChangeStreamDocument<Document> event = resumed.tryNext();
                if (event != null) {
                    ids.add(event.getDocumentKey().getInt32("_id").getValue());
                }
            }
        }
        assertEquals(List.of(60, 61, 62), ids);
    }
}

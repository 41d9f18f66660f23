package org.mongofollow.copy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.types.ObjectId;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.embedded.ShardedCluster;
import org.mongofollow.metadata.CopyState;

import java.util.ArrayList;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

public class ChunkBoundsTests {

    @Test
    public void idsInMongoDBsOrder() {
        List<BsonValue> values = new ArrayList<>(List.of(
            new BsonString("b"), new BsonInt64(3), new BsonObjectId(new ObjectId("650000000000000000000002")), new BsonDouble(2.5),
            new BsonString("a"), new BsonDateTime(5), new BsonInt32(10), new BsonObjectId(new ObjectId("650000000000000000000001")),
            new BsonString("é"), new BsonString("z")
        ));
        values.sort(ChunkBounds.ORDER);
        assertEquals(List.of(
            new BsonDouble(2.5), new BsonInt64(3), new BsonInt32(10), // numbers by value, whatever their type
            new BsonString("a"), new BsonString("b"), new BsonString("z"), new BsonString("é"), // strings by their UTF-8 bytes
            new BsonObjectId(new ObjectId("650000000000000000000001")), new BsonObjectId(new ObjectId("650000000000000000000002")),
            new BsonDateTime(5)
        ), values);
    }

    @Test
    public void chunkBoundsJoinTheSampledSplitPoints() {
        List<BsonValue> sampled = List.of(new BsonInt32(50), new BsonInt32(150), new BsonInt32(250));
        List<BsonValue> bounds = List.of(new BsonInt32(100), new BsonInt64(150), new BsonInt32(200));
        assertEquals(List.of(new BsonInt32(50), new BsonInt32(100), new BsonInt32(150), new BsonInt32(200), new BsonInt32(250)),
            ChunkBounds.merge(sampled, bounds, 10));
        // at most `max` chunk bounds, every n-th
        assertEquals(List.of(new BsonInt32(50), new BsonInt32(100), new BsonInt32(150), new BsonInt32(250)),
            ChunkBounds.merge(sampled, bounds, 2));
        // a value the order cannot place: the sampled ones alone
        List<BsonValue> odd = List.of(new BsonInt32(50), new BsonDocument("a", new BsonInt32(1)));
        assertEquals(odd, ChunkBounds.merge(odd, bounds, 10));
        assertEquals(sampled, ChunkBounds.merge(sampled, List.of(), 10));
    }

    /** Through mongos, a collection sharded on _id is cut where its chunks begin; other keys and replica sets are not. */
    @Test
    public void aCopyThroughMongosIsCutAtTheChunks() {
        try (ShardedCluster cluster = ShardedCluster.start(ShardedCluster.options().shards(2));
             MongoClient mongos = MongoClients.create(cluster.connectionString())) {
            MongoClient admin = mongos;
            admin.getDatabase("admin").runCommand(new Document("shardCollection", "db.byid").append("key", new Document("_id", 1)));
            for (int middle : new int[] { 4000, 9000 }) {
                admin.getDatabase("admin").runCommand(new Document("split", "db.byid").append("middle", new Document("_id", middle)));
            }
            admin.getDatabase("admin").runCommand(new Document("moveChunk", "db.byid").append("find", new Document("_id", 4000)).append("to", "shard1"));
            admin.getDatabase("admin").runCommand(new Document("shardCollection", "db.hashed").append("key", new Document("_id", "hashed")));
            MongoCollection<BsonDocument> byId = mongos.getDatabase("db").getCollection("byid", BsonDocument.class);
            List<BsonDocument> documents = new ArrayList<>();
            for (int i = 0; i < 12_000; i++) {
                documents.add(new BsonDocument("_id", new BsonInt32(i)));
            }
            byId.insertMany(documents);

            List<BsonValue> bounds = ChunkBounds.of(mongos, "db.byid");
            assertEquals(List.of(new BsonInt32(4000), new BsonInt32(9000)), bounds);
            assertEquals(List.of(), ChunkBounds.of(mongos, "db.hashed"));
            assertEquals(List.of(), ChunkBounds.of(mongos, "db.unsharded"));

            IdRanges.Plan plan = IdRanges.plan(byId, 4, bounds);
            List<BsonValue> lowers = plan.ranges().stream().map(CopyState.Range::lower).toList();
            assertTrue(plan.ranges().toString(), lowers.contains(new BsonInt32(4000)) && lowers.contains(new BsonInt32(9000)));
            for (CopyState.Range range : plan.ranges()) { // no range crosses a chunk's start: each is read from one shard
                for (int bound : new int[] { 4000, 9000 }) {
                    boolean below = range.upper() != null && range.upper().asInt32().getValue() <= bound;
                    boolean above = range.lower() != null && range.lower().asInt32().getValue() >= bound;
                    assertTrue(range + " crosses " + bound, below || above);
                }
            }
        }
        try (EmbeddedMongo replicaSet = EmbeddedMongo.start(); MongoClient client = MongoClients.create(replicaSet.connectionString())) {
            assertEquals(List.of(), ChunkBounds.of(client, "db.byid"));
        }
    }

    /** A chunk bound of another type class than every id (a split left by ids since deleted): the ranges still cover every id. */
    @Test
    public void aChunkBoundOfAnotherTypeKeepsEveryIdInARange() {
        try (ShardedCluster cluster = ShardedCluster.start(ShardedCluster.options().shards(2));
             MongoClient mongos = MongoClients.create(cluster.connectionString())) {
            mongos.getDatabase("admin").runCommand(new Document("shardCollection", "db.oids").append("key", new Document("_id", 1)));
            mongos.getDatabase("admin").runCommand(new Document("split", "db.oids").append("middle", new Document("_id", 0)));
            MongoCollection<BsonDocument> oids = mongos.getDatabase("db").getCollection("oids", BsonDocument.class);
            List<BsonDocument> documents = new ArrayList<>();
            for (int i = 0; i < 12_000; i++) {
                documents.add(new BsonDocument("_id", new BsonObjectId(new ObjectId())));
            }
            oids.insertMany(documents);
            IdRanges.Plan plan = IdRanges.plan(oids, 4, ChunkBounds.of(mongos, "db.oids"));
            assertTrue(plan.ranges().toString(), plan.ranges().stream().anyMatch(r -> new BsonInt32(0).equals(r.lower())));
            assertTrue("typed bounds", plan.mixedTypes());
            long covered = 0;
            for (CopyState.Range range : plan.ranges()) {
                covered += oids.countDocuments(IdRanges.nextBatch(range, plan.mixedTypes()));
            }
            assertEquals(12_000, covered);
        }
    }
}

package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/** Raw mode: the server writes no oplog; what clients insert into local.oplog.rs is the oplog, in ts order. */
public class RawModeTests {

    @Test
    public void injectedEntriesAreTheOplog() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().rawOplog(true).noopIntervalMillis(50));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("test").getCollection("coll");
            coll.insertOne(new Document("_id", 1).append("a", 1));
            coll.updateOne(new Document("_id", 1), new Document("$set", new Document("a", 2)));
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
            assertEquals("collection writes change data only", 0, oplog.countDocuments());
            assertEquals(2, coll.find().first().getInteger("a").intValue());

            // the entries of a conformance case, injected out of order, come back in ts order
            BsonDocument c = ConformanceShapeTests.loadCase("17_update_v2_operators_rewritten_5.0plus");
            List<BsonDocument> entries = new ArrayList<>();
            c.getArray("oplog").forEach(v -> entries.add(v.asDocument()));
            List<BsonDocument> shuffled = new ArrayList<>();
            entries.forEach(e -> shuffled.add(0, e.clone())); // the driver adds an _id to what it inserts
            oplog.insertMany(shuffled);
            List<BsonDocument> read = oplog.find().into(new ArrayList<>());
            assertEquals(entries.size(), read.size());
            for (int i = 0; i < entries.size(); i++) {
                ConformanceShapeTests.assertSameJson("entry " + i, entries.get(i), read.get(i));
            }
            // the majority commit point is the newest injected entry
            BsonTimestamp newest = entries.get(entries.size() - 1).getTimestamp("ts");
            Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
            assertEquals(newest, status.get("optimes", Document.class).get("lastCommittedOpTime", Document.class).get("ts"));
            assertEquals(newest, mongo.majorityCommitPoint());
            assertEquals(entries.get(2), oplog.find(new Document("ts", new Document("$gt", entries.get(1).getTimestamp("ts"))
                .append("$lte", entries.get(2).getTimestamp("ts")))).first());

            // no periodic no-ops of its own either
            sleep(200);
            assertEquals(entries.size(), oplog.countDocuments());
            // a client can reset the oplog between cases
            oplog.deleteMany(new Document());
            assertEquals(0, oplog.find().into(new ArrayList<>()).size());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.TimeUnit;

import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoException;
import com.mongodb.ReadConcern;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/** Faults on demand: a lagging majority commit point, and an outage that keeps data and port. */
public class FaultInjectionTests {

    private static BsonTimestamp committed(MongoClient client) {
        Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
        return status.get("optimes", Document.class).get("lastCommittedOpTime", Document.class).get("ts", BsonTimestamp.class);
    }

    private static BsonTimestamp applied(MongoClient client) {
        Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
        return status.get("optimes", Document.class).get("appliedOpTime", Document.class).get("ts", BsonTimestamp.class);
    }

    @Test
    public void holdingTheMajorityCommitPoint() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
            coll.insertOne(new Document("_id", 1));
            BsonTimestamp before = committed(client);
            assertEquals(applied(client), before);

            mongo.holdMajorityCommitPoint();
            coll.insertOne(new Document("_id", 2));
            coll.insertOne(new Document("_id", 3));
            assertEquals(before, committed(client));
            assertTrue(applied(client).compareTo(before) > 0);
            // reads with readConcern "majority" stop at the commit point; local reads see everything
            MongoCollection<Document> oplog = client.getDatabase("local").getCollection("oplog.rs");
            assertEquals(before, oplog.withReadConcern(ReadConcern.MAJORITY).find()
                .sort(new Document("$natural", -1)).first().get("ts"));
            assertEquals(applied(client), oplog.find().sort(new Document("$natural", -1)).first().get("ts"));
            mongo.releaseMajorityCommitPoint();
            assertEquals(applied(client), committed(client));
            assertEquals(applied(client), oplog.withReadConcern(ReadConcern.MAJORITY).find()
                .sort(new Document("$natural", -1)).first().get("ts"));

            // the same over the wire, as scripts/dev-mongo does it
            Document held = client.getDatabase("admin").runCommand(new Document("mongoFollowTest", "holdMajority"));
            assertEquals(Boolean.TRUE, held.getBoolean("majorityHeld"));
            BsonTimestamp frozen = committed(client);
            coll.insertOne(new Document("_id", 4));
            assertEquals(frozen, committed(client));
            client.getDatabase("admin").runCommand(new Document("mongoFollowTest", "releaseMajority"));
            assertEquals(applied(client), committed(client));
        }
    }

    @Test
    public void outageKeepsDataAndPort() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0))) {
            int port = mongo.port();
            MongoClientSettings settings = MongoClientSettings.builder()
                .applyConnectionString(new ConnectionString(mongo.connectionString()))
                .applyToClusterSettings(b -> b.serverSelectionTimeout(10, TimeUnit.SECONDS))
                .applyToSocketSettings(b -> b.connectTimeout(1, TimeUnit.SECONDS))
                .applyToServerSettings(b -> b.heartbeatFrequency(500, TimeUnit.MILLISECONDS))
                .build();
            try (MongoClient client = MongoClients.create(settings)) {
                MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
                coll.insertOne(new Document("_id", 1));
                BsonTimestamp beforeOutage = mongo.lastAppliedOpTime();

                mongo.stop();
                assertFalse(mongo.isRunning());
                try (MongoClient probe = MongoClients.create(MongoClientSettings.builder()
                    .applyConnectionString(new ConnectionString(mongo.connectionString()))
                    .applyToClusterSettings(b -> b.serverSelectionTimeout(300, TimeUnit.MILLISECONDS)).build())) {
                    probe.getDatabase("db").getCollection("c").countDocuments();
                    fail("the server answered during the outage");
                } catch (MongoException expected) {
                    // timed out selecting a server
                }

                mongo.restart();
                assertEquals(port, mongo.port());
                // the old client reconnects by itself; the data and the oplog survived
                assertEquals(1, coll.countDocuments());
                coll.insertOne(new Document("_id", 2));
                assertEquals(2, coll.countDocuments());
                assertTrue(mongo.lastAppliedOpTime().compareTo(beforeOutage) > 0);
                assertEquals(1, client.getDatabase("local").getCollection("oplog.rs")
                    .countDocuments(new Document("o.msg", "new primary")));
                Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
                assertEquals(2L, ((Number) status.get("term")).longValue());
            }
        }
    }

    /** A retryable write that reaches the server twice (the driver retries after a network error) applies once. */
    @Test
    public void retriedWriteIsAppliedOnce() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString());
             com.mongodb.client.ClientSession session = client.startSession()) {
            Document insert = new Document("insert", "c")
                .append("documents", java.util.List.of(new Document("_id", 1)))
                .append("txnNumber", 7L);
            Document first = client.getDatabase("db").runCommand(session, insert);
            Document second = client.getDatabase("db").runCommand(session, insert);
            assertEquals(first.get("n"), second.get("n"));
            assertFalse(second.containsKey("writeErrors"));
            assertEquals(1, client.getDatabase("db").getCollection("c").countDocuments());
            assertEquals(1, client.getDatabase("local").getCollection("oplog.rs").countDocuments(new Document("op", "i")));
            // a new txnNumber is a new write
            Document third = client.getDatabase("db").runCommand(session, insert.append("txnNumber", 8L));
            assertTrue(third.containsKey("writeErrors")); // duplicate key this time
        }
    }
}

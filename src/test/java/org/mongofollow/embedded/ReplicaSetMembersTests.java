package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCommandException;
import com.mongodb.ReadPreference;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.connection.ServerDescription;

/**
 * A three-member replica set in one process, seen through the official driver: discovery, secondaries that refuse
 * primary reads and writes, a lagging secondary, the majority commit point, stepdowns, a killed primary with the
 * rollback of what the majority never had, and a member that comes back.
 */
public class ReplicaSetMembersTests {

    private EmbeddedMongo mongo;
    private MongoClient client;

    @Before
    public void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().members(3).noopIntervalMillis(0));
        client = client(mongo.connectionString());
    }

    @After
    public void stop() {
        client.close();
        mongo.close();
    }

    private static MongoClient client(String uri) {
        return MongoClients.create(MongoClientSettings.builder()
            .applyConnectionString(new ConnectionString(uri))
            .applyToClusterSettings(b -> b.serverSelectionTimeout(10, TimeUnit.SECONDS))
            .applyToServerSettings(b -> b.heartbeatFrequency(500, TimeUnit.MILLISECONDS))
            .build());
    }

    private MongoClient direct(int member) {
        return client("mongodb://127.0.0.1:" + mongo.memberPort(member) + "/?directConnection=true");
    }

    private String host(int member) {
        return "127.0.0.1:" + mongo.memberPort(member);
    }

    @Test
    public void driverDiscoversOnePrimaryAndTwoSecondaries() throws InterruptedException {
        client.getDatabase("rs").getCollection("c").insertOne(new Document("_id", 1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int primaries;
        int secondaries;
        do {
            primaries = 0;
            secondaries = 0;
            for (ServerDescription server : client.getClusterDescription().getServerDescriptions()) {
                primaries += server.isPrimary() ? 1 : 0;
                secondaries += server.isSecondary() ? 1 : 0;
            }
            Thread.sleep(50); // the driver's monitors check each member on their own
        } while (secondaries < 2 && System.nanoTime() < deadline);
        assertEquals(1, primaries);
        assertEquals(2, secondaries);
        try (MongoClient secondary = direct(1)) {
            Document hello = secondary.getDatabase("admin").runCommand(new Document("hello", 1));
            assertEquals(Boolean.FALSE, hello.getBoolean("isWritablePrimary"));
            assertEquals(Boolean.TRUE, hello.getBoolean("secondary"));
            assertEquals(host(1), hello.getString("me"));
            assertEquals(host(0), hello.getString("primary"));
            assertEquals(List.of(host(0), host(1), host(2)), hello.getList("hosts", String.class));
            assertFalse(hello.containsKey("electionId"));
        }
    }

    @Test
    public void secondaryRefusesWritesAndServesReadsThatAllowSecondaries() {
        client.getDatabase("rs").getCollection("c").insertOne(new Document("_id", 1));
        try (MongoClient secondary = direct(2)) {
            // a direct connection reads with secondaryOk, as drivers do on a single server
            MongoCollection<Document> coll = secondary.getDatabase("rs").getCollection("c");
            assertEquals(1, coll.countDocuments());
            MongoCommandException write = assertThrows(MongoCommandException.class, () -> coll.insertOne(new Document("_id", 2)));
            assertEquals(10107, write.getErrorCode());
        }
        assertEquals(1, client.getDatabase("rs").getCollection("c").withReadPreference(ReadPreference.secondary()).countDocuments());
    }

    @Test
    public void lagSecondaryHoldsItsOplogAndTheMajorityNeedsTwoMembers() {
        MongoCollection<Document> coll = client.getDatabase("rs").getCollection("c");
        coll.insertOne(new Document("_id", 1));
        BsonTimestamp before = mongo.lastAppliedOpTime();
        mongo.pauseReplication(1);
        coll.insertOne(new Document("_id", 2));
        // one secondary still replicates: the majority (primary and member 2) has the insert
        assertEquals(mongo.lastAppliedOpTime(), mongo.majorityCommitPoint());
        try (MongoClient lagging = direct(1)) {
            MongoCollection<Document> oplog = lagging.getDatabase("local").getCollection("oplog.rs")
                .withReadPreference(ReadPreference.secondaryPreferred());
            Document newest = oplog.find().sort(new Document("$natural", -1)).first();
            assertEquals(before, newest.get("ts"));
            Document hello = lagging.getDatabase("admin").runCommand(new Document("hello", 1));
            assertEquals(before, hello.get("lastWrite", Document.class).get("opTime", Document.class).get("ts"));
        }
        mongo.pauseReplication(2);
        coll.insertOne(new Document("_id", 3));
        // neither secondary has the second insert: it is not majority-committed
        assertNotEquals(mongo.lastAppliedOpTime(), mongo.majorityCommitPoint());
        assertTrue(mongo.majorityCommitPoint().compareTo(mongo.lastAppliedOpTime()) < 0);
        Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
        assertEquals(mongo.majorityCommitPoint(), status.get("optimes", Document.class).get("lastCommittedOpTime", Document.class).get("ts"));
        mongo.resumeReplication(1);
        assertEquals(mongo.lastAppliedOpTime(), mongo.majorityCommitPoint());
    }

    @Test
    public void stepDownElectsACaughtUpSecondaryInANewTerm() {
        MongoCollection<Document> coll = client.getDatabase("rs").getCollection("c");
        coll.insertOne(new Document("_id", 1));
        long term = mongo.term();
        // a tailing cursor on the primary survives the stepdown, as on MongoDB 4.2+
        try (MongoClient onOld = direct(0)) {
            MongoCursor<Document> tail = onOld.getDatabase("local").getCollection("oplog.rs")
                .find(Filters.gt("ts", mongo.lastAppliedOpTime()))
                .cursorType(com.mongodb.CursorType.TailableAwait)
                .maxAwaitTime(100, TimeUnit.MILLISECONDS)
                .iterator();
            assertNull(tail.tryNext());
            client.getDatabase("admin").runCommand(new Document("replSetStepDown", 60));
            int primary = mongo.primary();
            assertNotEquals(0, primary);
            assertEquals(term + 1, mongo.term());
            coll.insertOne(new Document("_id", 2)); // the driver finds the new primary
            Document newPrimary = tail.tryNext();
            assertEquals("new primary", newPrimary.get("o", Document.class).getString("msg"));
            assertEquals(term + 1, newPrimary.getLong("t").longValue());
            Document hello = onOld.getDatabase("admin").runCommand(new Document("hello", 1));
            assertEquals(Boolean.FALSE, hello.getBoolean("isWritablePrimary"));
            assertEquals(host(primary), hello.getString("primary"));
            tail.close();
        }
        assertEquals(0, mongo.rollbacks());
        assertEquals(2, coll.countDocuments());
    }

    @Test
    public void stepDownWithoutACaughtUpSecondaryIsRefusedUnlessForced() {
        MongoCollection<Document> coll = client.getDatabase("rs").getCollection("c");
        coll.insertOne(new Document("_id", 1));
        mongo.pauseReplication(1);
        mongo.pauseReplication(2);
        coll.insertOne(new Document("_id", 2));
        MongoCommandException refused = assertThrows(
            MongoCommandException.class,
            () -> client.getDatabase("admin").runCommand(new Document("replSetStepDown", 60))
        );
        assertEquals(262, refused.getErrorCode());
        assertEquals(0, mongo.primary());
    }

    @Test
    public void killedPrimaryRollsBackWhatTheMajorityNeverHad() {
        MongoCollection<Document> coll = client.getDatabase("rs").getCollection("c");
        coll.insertMany(List.of(new Document("_id", 1).append("v", 1), new Document("_id", 2).append("v", 1), new Document("_id", 3)));
        BsonTimestamp committed = mongo.lastAppliedOpTime();
        long term = mongo.term();
        mongo.pauseReplication(1);
        mongo.pauseReplication(2);
        coll.insertOne(new Document("_id", 4));
        coll.updateOne(Filters.eq("_id", 1), Updates.set("v", 2));
        coll.deleteOne(Filters.eq("_id", 3));
        coll.insertOne(new Document("_id", 5));
        assertEquals(committed, mongo.majorityCommitPoint());
        List<Object> unconfirmed = new ArrayList<>();
        for (Document entry : client.getDatabase("local").getCollection("oplog.rs").find(Filters.gt("ts", committed))) {
            unconfirmed.add(entry.get("ts"));
        }
        assertEquals(4, unconfirmed.size());

        mongo.killMember(0);
        int primary = mongo.primary();
        assertTrue(primary == 1 || primary == 2);
        assertEquals(1, mongo.rollbacks());
        assertEquals(term + 1, mongo.term());

        // the driver finds the new primary; the data and the oplog are as the majority had them
        List<Document> docs = coll.find().sort(new Document("_id", 1)).into(new ArrayList<>());
        assertEquals(List.of(new Document("_id", 1).append("v", 1), new Document("_id", 2).append("v", 1), new Document("_id", 3)), docs);
        for (Object ts : unconfirmed) {
            assertNull(client.getDatabase("local").getCollection("oplog.rs").find(Filters.eq("ts", ts)).first());
        }
        Document newest = client.getDatabase("local").getCollection("oplog.rs").find().sort(new Document("$natural", -1)).first();
        assertEquals("new primary", newest.get("o", Document.class).getString("msg"));
        assertEquals(term + 1, newest.getLong("t").longValue());
        assertTrue(((BsonTimestamp) newest.get("ts")).compareTo(committed) > 0);

        // writing goes on with the two members left, majority-committed once the other one replicates again; the old
        // primary comes back as a secondary
        mongo.resumeReplication(1);
        mongo.resumeReplication(2);
        coll.insertOne(new Document("_id", 6));
        assertEquals(mongo.lastAppliedOpTime(), mongo.majorityCommitPoint());
        mongo.restartMember(0);
        try (MongoClient old = direct(0)) {
            Document hello = old.getDatabase("admin").runCommand(new Document("hello", 1));
            assertEquals(Boolean.TRUE, hello.getBoolean("secondary"));
            assertEquals(mongo.lastAppliedOpTime(), hello.get("lastWrite", Document.class).get("opTime", Document.class).get("ts"));
        }
    }

    @Test
    public void noPrimaryWithoutAMajorityOfMembers() {
        client.getDatabase("rs").getCollection("c").insertOne(new Document("_id", 1));
        mongo.killMember(1);
        mongo.killMember(0);
        assertEquals(-1, mongo.primary());
        mongo.restartMember(1);
        assertTrue(mongo.primary() == 1 || mongo.primary() == 2);
        assertEquals(1, client.getDatabase("rs").getCollection("c").countDocuments());
    }
}

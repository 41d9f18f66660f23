package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.ArrayList;
import java.util.List;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.mongodb.MongoNamespace;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/** Transactions (commit, abort, starting with a read) and cross-database renames, checked by replaying. */
public class TransactionAndRenameTests {

    private EmbeddedMongo mongo;
    private MongoClient client;

    @Before
    public void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
        client = MongoClients.create(mongo.connectionString());
    }

    @After
    public void stop() {
        client.close();
        mongo.close();
    }

    private List<BsonDocument> entriesAfter(BsonTimestamp ts) {
        return client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
            .find(new Document("ts", new Document("$gt", ts))).into(new ArrayList<>());
    }

    private void assertReplayMatches(String db) {
        OplogReplayer replayer = new OplogReplayer();
        for (BsonDocument e : entriesAfter(new BsonTimestamp(0))) {
            replayer.apply(e);
        }
        java.util.Map<String, List<String>> server = new java.util.TreeMap<>();
        for (String name : client.getDatabase(db).listCollectionNames()) {
            List<String> docs = new ArrayList<>();
            for (BsonDocument d : client.getDatabase(db).getCollection(name, BsonDocument.class).find()) {
                docs.add(d.toJson(OplogReplayer.EXACT));
            }
            docs.sort(null);
            server.put(db + "." + name, docs);
        }
        assertEquals(server, replayer.snapshot(db));
    }

    @Test
    public void abortedTransactionUndoesItsWritesAndLogsNothing() {
        MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
        coll.insertOne(new Document("_id", 1).append("a", 1).append("b", "x"));
        coll.insertOne(new Document("_id", 2).append("a", 2));
        BsonTimestamp before = mongo.lastAppliedOpTime();
        try (ClientSession session = client.startSession()) {
            session.startTransaction();
            coll.insertOne(session, new Document("_id", 3));
            coll.updateOne(session, new Document("_id", 1), new Document("$unset", new Document("a", "")).append("$set", new Document("z", 1)));
            coll.deleteOne(session, new Document("_id", 2));
            session.abortTransaction();
        }
        assertEquals(List.of(), entriesAfter(before));
        List<Document> docs = coll.find().sort(new Document("_id", 1)).into(new ArrayList<>());
        assertEquals(List.of(new Document("_id", 1).append("a", 1).append("b", "x"), new Document("_id", 2).append("a", 2)), docs);
        assertEquals("[_id, a, b]", docs.get(0).keySet().toString()); // field order restored too
        assertReplayMatches("db");
    }

    @Test
    public void transactionStartingWithAReadCommitsAsOneApplyOps() {
        MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
        coll.insertOne(new Document("_id", 1));
        BsonTimestamp before = mongo.lastAppliedOpTime();
        try (ClientSession session = client.startSession()) {
            session.startTransaction();
            assertEquals(1, coll.countDocuments(session));
            coll.insertOne(session, new Document("_id", 2));
            client.getDatabase("db").getCollection("fresh").insertOne(session, new Document("_id", "f"));
            session.commitTransaction();
        }
        List<BsonDocument> entries = entriesAfter(before);
        // the implicit create of "fresh" is logged before the transaction's applyOps
        assertEquals(2, entries.size());
        assertEquals("fresh", entries.get(0).getDocument("o").getString("create").getValue());
        assertEquals(2, entries.get(1).getDocument("o").getArray("applyOps").size());
        assertReplayMatches("db");
    }

    @Test
    public void crossDatabaseRenameIsLoggedAsCopyAndDrop() {
        MongoCollection<Document> coll = client.getDatabase("src").getCollection("c");
        coll.insertMany(List.of(new Document("_id", 1), new Document("_id", 2).append("v", "x")));
        BsonTimestamp before = mongo.lastAppliedOpTime();
        coll.renameCollection(new MongoNamespace("dst", "moved"));
        List<BsonDocument> entries = entriesAfter(before);
        List<String> shape = new ArrayList<>();
        for (BsonDocument e : entries) {
            shape.add(e.getString("op").getValue() + " " + e.getString("ns").getValue()
                + (e.getString("op").getValue().equals("c") ? " " + e.getDocument("o").getFirstKey() : ""));
        }
        assertEquals(List.of("c dst.$cmd create", "i dst.moved", "i dst.moved", "c src.$cmd drop"), shape);
        assertReplayMatches("dst");
        assertReplayMatches("src");
        assertNull(client.getDatabase("src").getCollection("c").find().first());
    }
}

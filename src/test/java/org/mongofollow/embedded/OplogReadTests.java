package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.MongoCommandException;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;

/** Range reads of local.oplog.rs by ts with extra filters, ordering, limits, and the capped oplog. */
public class OplogReadTests {

    private static List<BsonDocument> all(MongoClient client) {
        List<BsonDocument> out = new ArrayList<>();
        client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class).find().into(out);
        return out;
    }

    private static BsonTimestamp ts(BsonDocument entry) {
        return entry.getTimestamp("ts");
    }

    @Test
    public void rangeReadsWithFollowerFilter() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            for (int i = 0; i < 30; i++) {
                client.getDatabase("db").getCollection(i % 2 == 0 ? "coll" : "other").insertOne(new Document("_id", i));
            }
            client.getDatabase("db").getCollection("coll").drop();
            mongo.writeNoop("periodic noop");
            List<BsonDocument> entries = all(client);
            for (int i = 1; i < entries.size(); i++) {
                assertTrue("ts order", ts(entries.get(i - 1)).compareTo(ts(entries.get(i))) < 0);
            }
            BsonTimestamp a = ts(entries.get(5));
            BsonTimestamp b = ts(entries.get(25));
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);

            List<BsonDocument> range = oplog.find(new Document("ts", new Document("$gt", a).append("$lte", b))).batchSize(3).into(new ArrayList<>());
            assertEquals(entries.subList(6, 26), range);
            assertEquals(entries.subList(5, 25),
                oplog.find(new Document("ts", new Document("$gte", a).append("$lt", b))).into(new ArrayList<>()));

            // the follower's server-side filter: its collection, command namespaces and no-ops, up to the commit point
            Document followerFilter = new Document("ts", new Document("$gt", a).append("$lte", ts(entries.get(entries.size() - 1))))
                .append("$or", List.of(new Document("ns", "db.coll"), new Document("ns", "db.$cmd"),
                    new Document("ns", "admin.$cmd"), new Document("op", "n")));
            List<BsonDocument> expected = new ArrayList<>();
            for (BsonDocument e : entries.subList(6, entries.size())) {
                String ns = e.getString("ns").getValue();
                if (ns.equals("db.coll") || ns.equals("db.$cmd") || ns.equals("admin.$cmd") || e.getString("op").getValue().equals("n")) {
                    expected.add(e);
                }
            }
            List<BsonDocument> followed = oplog.find(followerFilter).batchSize(4).into(new ArrayList<>());
            assertEquals(expected, followed);
            assertEquals("c", followed.get(followed.size() - 2).getString("op").getValue()); // the drop
            assertEquals("n", followed.get(followed.size() - 1).getString("op").getValue());

            // newest entry, limit, sort by ts ascending
            assertEquals(entries.get(entries.size() - 1), oplog.find().sort(new Document("$natural", -1)).limit(1).first());
            assertEquals(entries.subList(0, 7), oplog.find().sort(new Document("ts", 1)).limit(7).batchSize(2).into(new ArrayList<>()));
            assertEquals(List.of(entries.get(25), entries.get(24)),
                oplog.find(new Document("ts", new Document("$lte", b))).sort(new Document("ts", -1)).limit(2).into(new ArrayList<>()));
            assertEquals(List.of(entries.get(10)), oplog.find(new Document("ts", ts(entries.get(10)))).into(new ArrayList<>()));
            // a projection
            BsonDocument projected = oplog.find(new Document("ts", ts(entries.get(10)))).projection(new Document("ts", 1).append("op", 1)).first();
            assertEquals(List.of("op", "ts"), new ArrayList<>(projected.keySet()));
        }
    }

    @Test
    public void cappedOplogLosesPositionsWithCode136() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).oplogMaxEntries(50));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
            for (int i = 0; i < 40; i++) {
                coll.insertOne(new Document("_id", i));
            }
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
            try (MongoCursor<BsonDocument> reader = oplog.find().batchSize(5).iterator()) {
                BsonDocument first = reader.next(); // the create entry, then 4 inserts in the first batch
                assertEquals("c", first.getString("op").getValue());
                for (int i = 0; i < 100; i++) {
                    coll.insertOne(new Document("_id", 1000 + i));
                }
                assertEquals(50, mongo.oplogEntryCount());
                assertEquals(50, all(client).size());
                try {
                    while (reader.hasNext()) {
                        reader.next();
                    }
                    fail("a reader whose position fell off the capped oplog kept reading");
                } catch (MongoCommandException e) {
                    assertEquals(136, e.getErrorCode());
                }
            }
            // the oldest entries fell off: the oplog now starts inside the second batch of inserts
            BsonDocument oldest = oplog.find().first();
            assertTrue(oldest.getDocument("o").getInt32("_id").getValue() >= 1000);
            // a reader that keeps up is not affected
            BsonTimestamp newest = mongo.lastAppliedOpTime();
            try (MongoCursor<BsonDocument> reader = oplog.find(new Document("ts", new Document("$gt", newest))).batchSize(5)
                .cursorType(com.mongodb.CursorType.Tailable).iterator()) {
                coll.insertOne(new Document("_id", "late"));
                assertEquals("late", reader.next().getDocument("o").getString("_id").getValue());
            }
        }
    }

    @Test
    public void oplogCappedByBytes() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).oplogMaxEntries(0).oplogMaxBytes(20_000));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
            String kb = "x".repeat(1000);
            for (int i = 0; i < 100; i++) {
                coll.insertOne(new Document("_id", i).append("pad", kb));
            }
            long count = mongo.oplogEntryCount();
            assertTrue("entries kept: " + count, count >= 15 && count <= 20);
            assertEquals(count, all(client).size());
            assertEquals(99, all(client).get((int) count - 1).getDocument("o").getInt32("_id").getValue());
        }
    }

    /** A ts range read looks only at the entries in the range (a seek), however long the oplog is. */
    @Test
    public void rangeReadsSeekInsteadOfScanning() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("db").getCollection("c");
            List<Document> docs = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                docs.add(new Document("_id", i));
            }
            coll.insertMany(docs);
            List<BsonDocument> entries = all(client);
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);

            long before = mongo.oplogEntriesExamined();
            List<BsonDocument> range = oplog.find(new Document("ts", new Document("$gt", ts(entries.get(2500))).append("$lte", ts(entries.get(2510))))
                .append("$or", List.of(new Document("ns", "db.c"), new Document("op", "n")))).into(new ArrayList<>());
            assertEquals(10, range.size());
            assertEquals(10, mongo.oplogEntriesExamined() - before);

            before = mongo.oplogEntriesExamined();
            assertEquals(null, oplog.find(new Document("ts", new Document("$gt", ts(entries.get(entries.size() - 1))))).first());
            assertEquals(0, mongo.oplogEntriesExamined() - before); // an empty poll at the end looks at nothing

            before = mongo.oplogEntriesExamined();
            oplog.find().sort(new Document("$natural", -1)).limit(1).first();
            assertEquals(1, mongo.oplogEntriesExamined() - before);
        }
    }

    /** Empty and inverted ranges, and a majority commit point held before the first entry, read as nothing. */
    @Test
    public void emptyRangesReadNothing() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            mongo.holdMajorityCommitPoint(); // held at Timestamp(0, 0): nothing is majority-committed
            for (int i = 0; i < 10; i++) {
                client.getDatabase("db").getCollection("c").insertOne(new Document("_id", i));
            }
            List<BsonDocument> entries = all(client);
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
            BsonTimestamp a = ts(entries.get(3));
            BsonTimestamp b = ts(entries.get(7));
            assertEquals(List.of(), oplog.find(new Document("ts", new Document("$gt", b).append("$lte", a))).into(new ArrayList<>()));
            assertEquals(List.of(), oplog.find(new Document("ts", new Document("$gt", a).append("$lt", a))).into(new ArrayList<>()));
            assertEquals(List.of(), oplog.find(new Document("ts", new Document("$gt", b).append("$lte", a)))
                .sort(new Document("$natural", -1)).into(new ArrayList<>()));
            assertEquals(List.of(), oplog.withReadConcern(com.mongodb.ReadConcern.MAJORITY)
                .find(new Document("ts", new Document("$gt", a))).into(new ArrayList<>()));
            assertEquals(List.of(), oplog.withReadConcern(com.mongodb.ReadConcern.MAJORITY)
                .find().sort(new Document("$natural", -1)).into(new ArrayList<>()));
            try (MongoCursor<BsonDocument> tail = oplog.withReadConcern(com.mongodb.ReadConcern.MAJORITY)
                .find(new Document("ts", new Document("$gt", a))).cursorType(com.mongodb.CursorType.TailableAwait)
                .maxAwaitTime(100, java.util.concurrent.TimeUnit.MILLISECONDS).iterator()) {
                assertEquals(null, tail.tryNext());
                mongo.releaseMajorityCommitPoint();
                assertEquals(ts(entries.get(4)), tail.next().getTimestamp("ts"));
            }
        }
    }
}

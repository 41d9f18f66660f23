package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.Document;
import org.bson.RawBsonDocument;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.task.FollowFailures;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The oplog reader on a three-member replica set that elects: whatever member the driver sends a read to, the reader
 * returns each majority-committed entry of the namespace once a read reports it scanned, and never an entry that is
 * rolled back.
 */
public class OplogReaderFailoverTests {

    private static final String NS = "fo.c";

    private EmbeddedMongo mongo;
    private MongoClient client;
    private MongoCollection<Document> coll;

    @Before
    public void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().members(3).noopIntervalMillis(0));
        client = MongoClients.create(MongoClientSettings.builder()
            .applyConnectionString(new ConnectionString(mongo.connectionString()))
            .applyToClusterSettings(b -> b.serverSelectionTimeout(10, TimeUnit.SECONDS))
            .applyToServerSettings(b -> b.heartbeatFrequency(500, TimeUnit.MILLISECONDS))
            .build());
        coll = client.getDatabase("fo").getCollection("c");
    }

    @After
    public void stop() {
        client.close();
        mongo.close();
    }

    /** Reads as the follow does (tail at the head, ranges behind it, retrying what FollowFailures retries) up to {@code until}. */
    private TreeSet<Integer> readAll(OplogReader reader, OplogPosition from, OplogPosition until, List<Exception> retried) throws InterruptedException {
        TreeSet<Integer> ids = new TreeSet<>();
        OplogPosition position = from;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (position.compareTo(until) < 0 && System.nanoTime() < deadline) {
            OplogReader.Batch batch;
            try {
                batch = reader.tail(position, 1000, 16 << 20, 500, () -> false);
            } catch (RuntimeException e) {
                assertTrue("not retryable: " + e, FollowFailures.shouldRetry(e));
                retried.add(e);
                Thread.sleep(100);
                continue;
            }
            assertTrue(batch.scannedTo().compareTo(batch.majorityCommitPoint()) <= 0);
            for (RawBsonDocument entry : batch.entries()) {
                if (entry.getString("ns").getValue().equals(NS) && entry.getString("op").getValue().equals("i")) {
                    ids.add(entry.getDocument("o").getInt32("_id").getValue());
                }
            }
            position = OplogPosition.max(position, batch.scannedTo());
        }
        assertFalse("did not reach " + until + " (at " + position + ")", position.compareTo(until) < 0);
        return ids;
    }

    @Test
    public void tailOnASteppedDownPrimaryThatLagsSkipsNothing() throws Exception {
        coll.insertOne(new Document("_id", 0));
        OplogPosition from = OplogPosition.of(mongo.lastAppliedOpTime());
        OplogReader reader = new OplogReader(client, "fo", "c");
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try {
            // a tail waits on the primary's oplog; the primary steps down and stops replicating; the new primary commits
            // inserts with the third member, which the old one's oplog (where the cursor lives on) does not have
            Future<Object> tail = executor.submit(() -> {
                try {
                    return reader.tail(from, 1000, 16 << 20, 3000, () -> false);
                } catch (RuntimeException e) {
                    return e;
                }
            });
            Thread.sleep(300);
            int old = mongo.primary();
            mongo.stepDown(false);
            mongo.pauseReplication(old);
            for (int i = 1; i <= 20; i++) {
                coll.insertOne(new Document("_id", i));
            }
            Object first = tail.get(30, TimeUnit.SECONDS);
            if (first instanceof OplogReader.Batch batch) {
                // whatever it returned must hold every insert up to where it says it scanned
                int returned = 0;
                for (RawBsonDocument entry : batch.entries()) {
                    returned += entry.getString("op").getValue().equals("i") ? 1 : 0;
                }
                assertTrue("a tail on the lagging former primary claimed " + batch.scannedTo() + " with " + returned + " inserts",
                    batch.scannedTo().compareTo(OplogPosition.of(mongo.lastAppliedOpTime())) < 0 || returned == 20);
            } else {
                assertTrue(String.valueOf(first), first instanceof OplogReader.PrimaryChangedException);
            }
            List<Exception> retried = new ArrayList<>();
            TreeSet<Integer> ids = readAll(reader, from, OplogPosition.of(mongo.majorityCommitPoint()), retried);
            assertEquals(20, ids.size());
            assertEquals(1, (int) ids.first());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    public void aDirectConnectionToASecondaryIsRefusedWithAnExplanation() {
        coll.insertOne(new Document("_id", 0));
        int secondary = (mongo.primary() + 1) % mongo.memberCount();
        try (MongoClient direct = MongoClients.create("mongodb://127.0.0.1:" + mongo.memberPort(secondary) + "/?directConnection=true")) {
            OplogReader reader = new OplogReader(direct, "fo", "c");
            OplogReader.NotThePrimaryException e = org.junit.Assert.assertThrows(OplogReader.NotThePrimaryException.class, reader::majorityCommitPoint);
            assertTrue(e.getMessage(), e.getMessage().contains("[127.0.0.1:" + mongo.memberPort(secondary) + "]"));
            assertTrue(e.getMessage(), e.getMessage().contains("replicaSet=NAME"));
            assertFalse(FollowFailures.shouldRetry(e));
        }
        // a direct connection to the primary reads as before
        try (MongoClient direct = MongoClients.create("mongodb://127.0.0.1:" + mongo.memberPort(mongo.primary()) + "/?directConnection=true")) {
            assertEquals(mongo.majorityCommitPoint(), new OplogReader(direct, "fo", "c").majorityCommitPoint().toBsonTimestamp());
        }
    }

    @Test
    public void entriesTheMajorityNeverHadAreNeverReturned() throws Exception {
        coll.insertOne(new Document("_id", 0));
        OplogPosition from = OplogPosition.of(mongo.lastAppliedOpTime());
        OplogReader reader = new OplogReader(client, "fo", "c");
        mongo.pauseReplication(1);
        mongo.pauseReplication(2);
        for (int i = 100; i < 110; i++) {
            coll.insertOne(new Document("_id", i)); // on the primary only
        }
        // a tail sees them on the primary but returns none: none is majority-committed
        OplogReader.Batch waiting = reader.tail(from, 1000, 16 << 20, 300, () -> false);
        assertEquals(0, waiting.entries().size());
        assertTrue(waiting.scannedTo().compareTo(OplogPosition.of(mongo.majorityCommitPoint())) <= 0);

        mongo.killMember(mongo.primary()); // an election: the inserts are rolled back
        assertEquals(1, mongo.rollbacks());
        mongo.resumeReplication(1);
        mongo.resumeReplication(2);
        for (int i = 1; i <= 10; i++) {
            coll.insertOne(new Document("_id", i));
        }
        List<Exception> retried = new ArrayList<>();
        TreeSet<Integer> ids = readAll(reader, from, OplogPosition.of(mongo.majorityCommitPoint()), retried);
        assertEquals(new TreeSet<>(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), ids);
        // a range read over the same span, from the new primary, agrees
        OplogReader.Batch range = reader.readRange(from, OplogPosition.of(mongo.majorityCommitPoint()), 1000, 16 << 20);
        int inserts = 0;
        for (RawBsonDocument entry : range.entries()) {
            if (entry.getString("ns").getValue().equals(NS)) {
                inserts++;
                assertTrue(entry.getDocument("o").getInt32("_id").getValue() <= 10);
            }
        }
        assertEquals(10, inserts);
    }
}

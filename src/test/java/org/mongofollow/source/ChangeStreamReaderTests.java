package org.mongofollow.source;

import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.operation.OplogPosition;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.Document;
import org.bson.RawBsonDocument;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * The change-stream reader against the embedded MongoDB, through the official driver: range reads return every event of
 * their range once, whole cluster times only (a transaction is never split between reads), and a start the server's
 * history no longer holds is history lost.
 */
public class ChangeStreamReaderTests {

    private static EmbeddedMongo mongo;
    private static MongoClient client;

    @BeforeClass
    public static void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(100));
        client = MongoClients.create(mongo.connectionString());
    }

    @AfterClass
    public static void stop() {
        client.close();
        mongo.close();
    }

    private static OplogPosition majority() {
        return OplogPosition.of(mongo.majorityCommitPoint());
    }

    @Test
    public void rangeReadsReturnEveryEventOnceAndTransactionsWhole() {
        MongoCollection<Document> items = client.getDatabase("cs").getCollection("items");
        OplogPosition start = majority();
        int inserts = 0;
        for (int i = 0; i < 300; i++) {
            items.insertOne(new Document("_id", i));
            inserts++;
            if (i % 50 == 7) {
                try (ClientSession session = client.startSession()) {
                    int base = 10_000 + i * 10;
                    session.withTransaction(() -> {
                        for (int j = 0; j < 7; j++) {
                            items.insertOne(session, new Document("_id", base + j));
                        }
                        return null;
                    });
                }
                inserts += 7;
            }
        }
        OplogPosition head = majority();
        ChangeStreamReader reader = new ChangeStreamReader(client, "cs.items", false);
        List<RawBsonDocument> events = new ArrayList<>();
        OplogPosition from = start;
        int reads = 0;
        long began = System.nanoTime();
        while (from.before(head)) {
            OplogReader.Batch batch = reader.readRange(from, head, 5, Long.MAX_VALUE);
            reads++;
            assertTrue("a read moves on", batch.scannedTo().after(from));
            OplogPosition last = null;
            for (RawBsonDocument event : batch.entries()) {
                OplogPosition time = ChangeStreamReader.clusterTime(event);
                assertTrue(time.after(from) && time.compareTo(batch.scannedTo()) <= 0);
                last = time;
            }
            if (last != null && batch.entries().size() > 5) {
                // past the limit only to finish a cluster time: all of the batch's surplus shares the last time
                for (RawBsonDocument event : batch.entries().subList(5, batch.entries().size())) {
                    assertEquals(last, ChangeStreamReader.clusterTime(event));
                }
            }
            events.addAll(batch.entries());
            from = batch.scannedTo();
        }
        long millis = (System.nanoTime() - began) / 1_000_000;
        events.removeIf(e -> ChangeStreamReader.operationType(e).equals("insert") == false); // the collection's create
        assertEquals(inserts, events.size());
        assertEquals(inserts, events.stream().map(e -> e.getDocument("documentKey").get("_id")).distinct().count());
        assertTrue("about 60 reads of 5 (and transactions whole), got " + reads, reads >= 50 && reads <= 70);
        assertTrue("range reads below the head wait for nothing: " + reads + " reads took " + millis + " ms", millis < reads * 200L);
    }

    @Test
    public void aTailReadReturnsNewEventsOnceTheirTimeIsWhole() {
        MongoCollection<Document> tail = client.getDatabase("cs").getCollection("tail");
        OplogPosition start = majority();
        tail.insertOne(new Document("_id", 1));
        ChangeStreamReader reader = new ChangeStreamReader(client, "cs.tail", false);
        tail.insertOne(new Document("_id", 2));
        OplogReader.Batch batch = reader.tail(start, 100, Long.MAX_VALUE, 5_000, () -> false);
        List<RawBsonDocument> inserts = batch.entries().stream().filter(e -> ChangeStreamReader.operationType(e).equals("insert")).toList();
        assertEquals(batch.entries().toString(), 2, inserts.size());
        assertTrue(batch.scannedTo().compareTo(ChangeStreamReader.clusterTime(inserts.get(1))) >= 0);
        OplogReader.Batch quiet = reader.tail(batch.scannedTo(), 100, Long.MAX_VALUE, 300, () -> false);
        assertEquals(0, quiet.entries().size());
    }

    @Test
    public void aStartTheOplogNoLongerHoldsIsHistoryLost() {
        try (EmbeddedMongo small = EmbeddedMongo.start(EmbeddedMongo.options().oplogMaxEntries(20).noopIntervalMillis(0));
             MongoClient smallClient = MongoClients.create(small.connectionString())) {
            OplogPosition start = OplogPosition.of(small.majorityCommitPoint());
            for (int i = 0; i < 50; i++) {
                smallClient.getDatabase("cs").getCollection("lost").insertOne(new Document("_id", i));
            }
            ChangeStreamReader reader = new ChangeStreamReader(smallClient, "cs.lost", false);
            OplogFeed.HistoryLostException lost = assertThrows(
                OplogFeed.HistoryLostException.class,
                () -> reader.readRange(start, OplogPosition.of(small.majorityCommitPoint()), 100, Long.MAX_VALUE)
            );
            assertEquals(start, lost.from());
        }
    }
}

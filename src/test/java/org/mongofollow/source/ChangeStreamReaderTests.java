package org.mongofollow.source;

import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.operation.OplogPosition;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.event.CommandListener;
import com.mongodb.event.CommandStartedEvent;

import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.NoopCircuitBreaker;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
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
        ChangeStreamReader reader = new ChangeStreamReader(client, "cs.items", FullDocumentMode.DEFAULT);
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
        ChangeStreamReader reader = new ChangeStreamReader(client, "cs.tail", FullDocumentMode.DEFAULT);
        tail.insertOne(new Document("_id", 2));
        OplogReader.Batch batch = reader.tail(start, 100, Long.MAX_VALUE, 5_000, () -> false);
        List<RawBsonDocument> inserts = batch.entries().stream().filter(e -> ChangeStreamReader.operationType(e).equals("insert")).toList();
        assertEquals(batch.entries().toString(), 2, inserts.size());
        assertTrue(batch.scannedTo().compareTo(ChangeStreamReader.clusterTime(inserts.get(1))) >= 0);
        OplogReader.Batch quiet = reader.tail(batch.scannedTo(), 100, Long.MAX_VALUE, 300, () -> false);
        assertEquals(0, quiet.entries().size());
    }

    /** The change-stream stages of the aggregates a client sent, seen through the driver's command monitoring. */
    private static final class ChangeStreamStarts implements CommandListener {
        final List<BsonDocument> stages = new CopyOnWriteArrayList<>();

        @Override
        public void commandStarted(CommandStartedEvent event) {
            if (event.getCommandName().equals("aggregate")) {
                BsonDocument first = event.getCommand().getArray("pipeline").get(0).asDocument();
                if (first.containsKey("$changeStream")) {
                    stages.add(first.getDocument("$changeStream").clone());
                }
            }
        }
    }

    private static MongoClient monitoredClient(String connectionString, ChangeStreamStarts starts) {
        return MongoClients.create(
            MongoClientSettings.builder().applyConnectionString(new ConnectionString(connectionString)).addCommandListener(starts).build()
        );
    }

    private static List<BsonValue> keys(List<RawBsonDocument> events) {
        return events.stream().filter(e -> e.containsKey("documentKey")).map(e -> e.getDocument("documentKey").get("_id")).toList();
    }

    @Test
    public void readsGiveTheTokenOfWhereTheyEndAndResumingAfterItReadsWhatFollows() {
        ChangeStreamStarts starts = new ChangeStreamStarts();
        try (MongoClient monitored = monitoredClient(mongo.connectionString(), starts)) {
            MongoCollection<Document> items = client.getDatabase("cs").getCollection("resumed");
            OplogPosition start = majority();
            for (int i = 0; i < 120; i++) {
                items.insertOne(new Document("_id", i));
                if (i % 40 == 3) {
                    try (ClientSession session = client.startSession()) {
                        int base = 1000 + i * 10;
                        session.withTransaction(() -> {
                            for (int j = 0; j < 4; j++) {
                                items.insertOne(session, new Document("_id", base + j));
                            }
                            return null;
                        });
                    }
                }
            }
            OplogPosition head = majority();
            // by operation time, with a fresh reader each read, as the feed reads
            List<RawBsonDocument> byTime = new ArrayList<>();
            for (OplogPosition from = start; from.before(head);) {
                OplogReader.Batch batch = new ChangeStreamReader(client, "cs.resumed", FullDocumentMode.DEFAULT).readRange(from, head, 7, Long.MAX_VALUE);
                byTime.addAll(batch.entries());
                from = batch.scannedTo();
            }
            // each read after the token the one before gave
            List<RawBsonDocument> byToken = new ArrayList<>();
            ResumePoint point = null;
            int reads = 0;
            for (OplogPosition from = start; from.before(head); reads++) {
                OplogReader.Batch batch = new ChangeStreamReader(monitored, "cs.resumed", FullDocumentMode.DEFAULT).resumingAfter(point)
                    .readRange(from, head, 7, Long.MAX_VALUE);
                assertNotNull("a read knows the token of where it ends", batch.resumeAfter());
                assertEquals(batch.scannedTo(), batch.resumeAfter().position());
                byToken.addAll(batch.entries());
                point = batch.resumeAfter();
                from = batch.scannedTo();
            }
            assertEquals(keys(byTime), keys(byToken));
            assertEquals(120 + 12, keys(byToken).size());
            assertEquals("the first read starts at an operation time", 1, starts.stages.stream().filter(s -> s.containsKey("startAtOperationTime")).count());
            assertEquals("every later read resumes after a token", reads - 1, starts.stages.stream().filter(s -> s.containsKey("resumeAfter")).count());
        }
    }

    @Test
    public void aReadResumedBeforeItsStartSkipsWhatItHasReadAndATokenTheServerRefusesFallsBackToTheOperationTime() {
        ChangeStreamStarts starts = new ChangeStreamStarts();
        try (MongoClient monitored = monitoredClient(mongo.connectionString(), starts)) {
            MongoCollection<Document> items = client.getDatabase("cs").getCollection("skipped");
            OplogPosition start = majority();
            for (int i = 0; i < 15; i++) {
                items.insertOne(new Document("_id", i));
            }
            OplogPosition beforeOther = majority();
            client.getDatabase("cs").getCollection("other").insertOne(new Document("_id", "elsewhere"));
            for (int i = 15; i < 30; i++) {
                items.insertOne(new Document("_id", i));
            }
            OplogPosition head = majority();
            OplogReader.Batch first = new ChangeStreamReader(client, "cs.skipped", FullDocumentMode.DEFAULT).readRange(start, head, 20, Long.MAX_VALUE);
            OplogReader.Batch all = new ChangeStreamReader(client, "cs.skipped", FullDocumentMode.DEFAULT).readRange(start, head, 1000, Long.MAX_VALUE);
            ResumePoint early = new ChangeStreamReader(client, "cs.skipped", FullDocumentMode.DEFAULT).readRange(start, head, 3, Long.MAX_VALUE).resumeAfter();
            assertTrue(early.position().before(first.scannedTo()));
            OplogReader.Batch rest = new ChangeStreamReader(monitored, "cs.skipped", FullDocumentMode.DEFAULT).resumingAfter(early)
                .readRange(first.scannedTo(), head, 1000, Long.MAX_VALUE);
            List<BsonValue> expected = new ArrayList<>(keys(all.entries()));
            expected.removeAll(keys(first.entries()));
            assertEquals(30 - keys(first.entries()).size(), expected.size());
            assertTrue(expected.size() >= 10);
            assertEquals("the events between the token and the start are skipped", expected, keys(rest.entries()));
            assertTrue(starts.stages.get(0).containsKey("resumeAfter"));

            // the token of another collection's event: the stream of this one cannot find it (ChangeStreamFatalError)
            OplogReader.Batch otherBatch = new ChangeStreamReader(client, "cs.other", FullDocumentMode.DEFAULT).readRange(beforeOther, head, 1000, Long.MAX_VALUE);
            RawBsonDocument otherInsert = otherBatch.entries().stream().filter(e -> ChangeStreamReader.operationType(e).equals("insert")).findFirst().orElseThrow();
            OplogPosition otherTime = ChangeStreamReader.clusterTime(otherInsert);
            ResumePoint refused = ResumePoint.of(otherTime, otherInsert.getDocument("_id"));
            starts.stages.clear();
            OplogReader.Batch fallback = new ChangeStreamReader(monitored, "cs.skipped", FullDocumentMode.DEFAULT).resumingAfter(refused)
                .readRange(otherTime, head, 1000, Long.MAX_VALUE);
            List<BsonValue> afterOther = new ArrayList<>();
            for (int i = 15; i < 30; i++) {
                afterOther.add(new org.bson.BsonInt32(i));
            }
            assertEquals(afterOther, keys(fallback.entries()));
            assertTrue("tried the token first: " + starts.stages, starts.stages.get(0).containsKey("resumeAfter"));
            assertTrue("then the operation time: " + starts.stages, starts.stages.get(starts.stages.size() - 1).containsKey("startAtOperationTime"));
        }
    }

    @Test
    public void aFeedResumesAfterTheTokensItLearntAndAfterOneStoredWithACheckpoint() {
        ChangeStreamStarts starts = new ChangeStreamStarts();
        try (MongoClient monitored = monitoredClient(mongo.connectionString(), starts)) {
            MongoCollection<Document> items = client.getDatabase("cs").getCollection("fed");
            OplogPosition start = majority();
            for (int i = 0; i < 40; i++) {
                items.insertOne(new Document("_id", i));
            }
            OplogPosition head = majority();
            ChangeStreamSource source = new ChangeStreamSource("cs.fed", FullDocumentMode.DEFAULT);
            // no window: every read goes to MongoDB
            OplogFeed feed = new OplogFeed(() -> monitored, source, 0, new NoopCircuitBreaker("mongo_follow"));
            feed.subscribe("cs.fed");
            List<RawBsonDocument> read = new ArrayList<>();
            OplogPosition from = start;
            while (from.before(head)) {
                OplogFeed.Read batch = OplogFeedTests.readThrough(feed, "cs.fed", from, head, 10, Long.MAX_VALUE, 0);
                read.addAll(batch.batch().entries());
                from = batch.batch().scannedTo();
            }
            assertEquals(40, keys(read).size());
            assertTrue(starts.stages.get(0).containsKey("startAtOperationTime"));
            assertTrue("later reads resume after the token of where the one before ended: " + starts.stages,
                starts.stages.subList(1, starts.stages.size()).stream().allMatch(s -> s.containsKey("resumeAfter")));
            ResumePoint stored = feed.resumePoint(head);
            assertNotNull(stored);
            assertTrue(stored.position().compareTo(head) <= 0);

            // another node's feed, where the shard task starts from its stored checkpoint and resume point
            items.insertOne(new Document("_id", 40));
            OplogPosition later = majority();
            starts.stages.clear();
            OplogFeed restarted = new OplogFeed(() -> monitored, source, 0, new NoopCircuitBreaker("mongo_follow"));
            restarted.subscribe("cs.fed");
            restarted.learn(stored);
            OplogFeed.Read resumed = OplogFeedTests.readThrough(restarted, "cs.fed", head, later, 100, Long.MAX_VALUE, 0);
            assertEquals(List.of(new org.bson.BsonInt32(40)), keys(resumed.batch().entries()));
            assertEquals(stored.tokenDocument(), starts.stages.get(0).getDocument("resumeAfter"));
        }
    }

    @Test
    public void whenAvailableUpdatesCarryThePostImageAndDecodeToIt() {
        client.getDatabase("cs").createCollection("imaged", new com.mongodb.client.model.CreateCollectionOptions()
            .changeStreamPreAndPostImagesOptions(new com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions(true)));
        MongoCollection<Document> imaged = client.getDatabase("cs").getCollection("imaged");
        imaged.insertOne(new Document("_id", 1).append("n", 0));
        OplogPosition start = majority();
        imaged.updateOne(new Document("_id", 1), new Document("$inc", new Document("n", 1)));
        imaged.updateOne(new Document("_id", 1), new Document("$inc", new Document("n", 1)));
        OplogPosition head = majority();
        List<RawBsonDocument> updates = new ChangeStreamReader(client, "cs.imaged", FullDocumentMode.WHEN_AVAILABLE)
            .readRange(start, head, 100, Long.MAX_VALUE).entries();
        assertEquals(2, updates.size());
        for (int i = 0; i < 2; i++) {
            // the document as that update left it (a look-up would show n: 2 for both)
            assertEquals(new org.bson.BsonInt32(i + 1), updates.get(i).getDocument("fullDocument").get("n"));
            DecodedEntry decoded = ChangeEventDecoder.decode(updates.get(i), ChangeStreamReader.clusterTime(updates.get(i)), 0, "cs.imaged");
            assertEquals(decoded.toString(), org.mongofollow.operation.DocumentOperation.Kind.INDEX, decoded.operations().get(0).kind());
        }
    }

    @Test
    public void theLastEventsBeforeAQuietAreReturnedWithoutWaitingForAnotherWrite() {
        try (EmbeddedMongo quiet = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient quietClient = MongoClients.create(quiet.connectionString())) {
            MongoCollection<Document> items = quietClient.getDatabase("cs").getCollection("quiet");
            items.insertOne(new Document("_id", 0)); // the collection exists
            OplogPosition start = OplogPosition.of(quiet.majorityCommitPoint());
            try (ClientSession session = quietClient.startSession()) {
                session.withTransaction(() -> {
                    for (int i = 1; i <= 3; i++) {
                        items.insertOne(session, new Document("_id", i));
                    }
                    return null;
                });
            }
            // nothing is written after the transaction (no periodic no-ops either): the stream has no later event or
            // high-water mark to show, and its empty batch says the transaction's time is whole
            OplogReader.Batch batch = new ChangeStreamReader(quietClient, "cs.quiet", FullDocumentMode.DEFAULT)
                .tail(start, 100, Long.MAX_VALUE, 30_000, () -> false);
            assertEquals(3, keys(batch.entries()).size());
            assertEquals(ChangeStreamReader.clusterTime(batch.entries().get(2)), batch.scannedTo());
            // a batch limit below the transaction's size still returns it whole (a read only ends between cluster times)
            OplogReader.Batch cut = new ChangeStreamReader(quietClient, "cs.quiet", FullDocumentMode.DEFAULT)
                .readRange(start, batch.scannedTo(), 2, Long.MAX_VALUE);
            assertEquals(3, cut.entries().size());
        }
    }

    @Test
    public void aStartTheOplogNoLongerHoldsIsHistoryLost() {
        try (EmbeddedMongo small = EmbeddedMongo.start(EmbeddedMongo.options().oplogMaxEntries(20).noopIntervalMillis(0));
             MongoClient smallClient = MongoClients.create(small.connectionString())) {
            OplogPosition start = OplogPosition.of(small.majorityCommitPoint());
            for (int i = 0; i < 50; i++) {
                smallClient.getDatabase("cs").getCollection("lost").insertOne(new Document("_id", i));
            }
            ChangeStreamReader reader = new ChangeStreamReader(smallClient, "cs.lost", FullDocumentMode.DEFAULT);
            OplogFeed.HistoryLostException lost = assertThrows(
                OplogFeed.HistoryLostException.class,
                () -> reader.readRange(start, OplogPosition.of(small.majorityCommitPoint()), 100, Long.MAX_VALUE)
            );
            assertEquals(start, lost.from());
        }
    }
}

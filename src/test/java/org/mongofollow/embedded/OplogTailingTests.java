package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.mongodb.CursorType;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCursor;

/** Tailable await-data cursors on local.oplog.rs, and that a waiting getMore does not stall other clients. */
public class OplogTailingTests {

    private EmbeddedMongo mongo;
    private MongoClient tailerClient;
    private MongoClient otherClient;

    @Before
    public void start() {
        // one event loop: a getMore waiting on it would stall every other connection
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).eventLoopThreads(1));
        tailerClient = MongoClients.create(mongo.connectionString());
        otherClient = MongoClients.create(mongo.connectionString());
        otherClient.getDatabase("t").getCollection("c").insertOne(new Document("_id", "seed"));
    }

    @After
    public void stop() {
        tailerClient.close();
        otherClient.close();
        mongo.close();
    }

    private MongoCursor<BsonDocument> tail(BsonTimestamp after, long maxAwaitMillis) {
        return tailerClient.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
            .find(new Document("ts", new Document("$gt", after)))
            .cursorType(CursorType.TailableAwait)
            .maxAwaitTime(maxAwaitMillis, TimeUnit.MILLISECONDS)
            .batchSize(100)
            .iterator();
    }

    @Test
    public void tailableCursorReceivesEntriesWrittenAfterItOpened() throws Exception {
        BsonTimestamp start = mongo.lastAppliedOpTime();
        try (MongoCursor<BsonDocument> cursor = tail(start, 2000)) {
            assertNull(cursor.tryNext()); // nothing yet, and the cursor stays open
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 5; i++) {
                    otherClient.getDatabase("t").getCollection("c").insertOne(new Document("_id", i));
                }
            });
            List<Object> ids = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 10_000;
            while (ids.size() < 5 && System.currentTimeMillis() < deadline) {
                BsonDocument entry = cursor.tryNext();
                if (entry != null) {
                    assertEquals("i", entry.getString("op").getValue());
                    ids.add(entry.getDocument("o").getInt32("_id").getValue());
                }
            }
            writer.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(0, 1, 2, 3, 4), ids);
        }
    }

    @Test
    public void idleGetMoreWaitsAboutMaxTimeMs() {
        try (MongoCursor<BsonDocument> cursor = tail(mongo.lastAppliedOpTime(), 1000)) {
            assertNull(cursor.tryNext()); // the first batch comes from find, which does not wait
            long t0 = System.nanoTime();
            BsonDocument next = cursor.tryNext(); // a getMore that finds nothing
            long elapsedMillis = (System.nanoTime() - t0) / 1_000_000;
            assertNull(next);
            assertTrue("idle getMore returned after " + elapsedMillis + " ms", elapsedMillis >= 500);
            assertTrue("idle getMore returned after " + elapsedMillis + " ms", elapsedMillis < 10_000);
            assertNotNull(cursor.getServerCursor()); // still open
        }
    }

    @Test
    public void waitingGetMoreDoesNotStallOtherClients() throws Exception {
        try (MongoCursor<BsonDocument> cursor = tail(mongo.lastAppliedOpTime(), 3000)) {
            assertNull(cursor.tryNext());
            CompletableFuture<BsonDocument> waiting = CompletableFuture.supplyAsync(cursor::tryNext);
            Thread.sleep(200); // let the getMore reach the server and start waiting
            assertFalse(waiting.isDone());
            for (int i = 0; i < 20; i++) {
                otherClient.getDatabase("t").getCollection("c").find(new Document("_id", "seed")).first();
                otherClient.getDatabase("admin").runCommand(new Document("ping", 1));
            }
            // the other client's 40 round trips completed while the getMore was still waiting for its maxTimeMS
            assertFalse("the tailer's getMore returned before the other client finished", waiting.isDone());
            assertNull(waiting.get(10, TimeUnit.SECONDS));
        }
    }

    /** A tailing reader with readConcern "majority" is held back with the majority commit point. */
    @Test
    public void majorityTailerWaitsForTheCommitPoint() {
        BsonTimestamp start = mongo.lastAppliedOpTime();
        mongo.holdMajorityCommitPoint();
        otherClient.getDatabase("t").getCollection("c").insertOne(new Document("_id", "held"));
        try (MongoCursor<BsonDocument> cursor = tailerClient.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
            .withReadConcern(com.mongodb.ReadConcern.MAJORITY)
            .find(new Document("ts", new Document("$gt", start)))
            .cursorType(CursorType.TailableAwait).maxAwaitTime(300, TimeUnit.MILLISECONDS).iterator()) {
            assertNull(cursor.tryNext()); // the entry exists but is past the commit point
            assertNull(cursor.tryNext());
            mongo.releaseMajorityCommitPoint();
            BsonDocument entry = null;
            long deadline = System.currentTimeMillis() + 5000;
            while (entry == null && System.currentTimeMillis() < deadline) {
                entry = cursor.tryNext();
            }
            assertNotNull(entry);
            assertEquals("held", entry.getDocument("o").getString("_id").getValue());
        }
    }
}

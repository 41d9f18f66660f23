package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.CursorType;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCursor;

/** A tailer sees every entry, in ts order and without gaps, while several clients write at once. */
public class ConcurrentTailingTests {

    @Test
    public void tailerSeesEveryEntryOfConcurrentWriters() throws Exception {
        int writers = 3;
        int perWriter = 300;
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient writerClient = MongoClients.create(mongo.connectionString());
             MongoClient tailerClient = MongoClients.create(mongo.connectionString())) {
            writerClient.getDatabase("db").createCollection("c");
            BsonTimestamp start = mongo.lastAppliedOpTime();
            List<CompletableFuture<Void>> running = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                running.add(CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < perWriter; i++) {
                        writerClient.getDatabase("db").getCollection("c").insertOne(new Document("_id", writer * 100_000 + i));
                    }
                }));
            }
            List<BsonDocument> seen = new ArrayList<>();
            try (MongoCursor<BsonDocument> cursor = tailerClient.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find(new Document("ts", new Document("$gt", start))).cursorType(CursorType.TailableAwait)
                .maxAwaitTime(500, TimeUnit.MILLISECONDS).batchSize(50).iterator()) {
                long deadline = System.currentTimeMillis() + 30_000;
                while (seen.size() < writers * perWriter && System.currentTimeMillis() < deadline) {
                    BsonDocument entry = cursor.tryNext();
                    if (entry != null) {
                        seen.add(entry);
                    }
                }
            }
            CompletableFuture.allOf(running.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
            assertEquals(writers * perWriter, seen.size());
            for (int i = 1; i < seen.size(); i++) {
                assertTrue(seen.get(i - 1).getTimestamp("ts").compareTo(seen.get(i).getTimestamp("ts")) < 0);
            }
            List<BsonDocument> stored = tailerClient.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find(new Document("ts", new Document("$gt", start))).into(new ArrayList<>());
            assertEquals(stored, seen);
        }
    }
}

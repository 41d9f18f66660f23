package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.bson.BsonDocument;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.CursorType;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCursor;

/** close() leaves no server thread behind (test suites with thread-leak checks rely on it). */
public class LifecycleTests {

    private static List<String> serverThreads() {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith("embedded-mongo-")) {
                names.add(t.getName());
            }
        }
        return names;
    }

    @Test
    public void closeEndsEveryServerThread() throws Exception {
        EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
        try (MongoClient client = MongoClients.create(mongo.connectionString())) {
            client.getDatabase("db").getCollection("c").insertOne(new Document("_id", 1));
            mongo.restart(); // a restart must not leave the first server's threads behind either
            try (MongoCursor<BsonDocument> cursor = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find().cursorType(CursorType.TailableAwait).maxAwaitTime(200, TimeUnit.MILLISECONDS).iterator()) {
                int entries = 0;
                while (cursor.tryNext() != null && entries < 100) {
                    entries++; // drain, then one waiting getMore
                }
                assertEquals(3, entries); // create, insert, "new primary"
            }
        }
        mongo.close();
        long deadline = System.currentTimeMillis() + 3000;
        while (!serverThreads().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(List.of(), serverThreads());
    }
}

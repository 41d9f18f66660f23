package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bson.Document;
import org.bson.RawBsonDocument;
import org.junit.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/** serverStatus reports what the server served, as a real mongod does: the network bytes, opcounters, documents returned. */
public class ServerStatusTests {

    private static Document status(MongoClient client) {
        return client.getDatabase("admin").runCommand(new Document("serverStatus", 1));
    }

    private static long at(Document status, String section, String field) {
        return ((Number) status.get(section, Document.class).get(field)).longValue();
    }

    @Test
    public void countsWhatItServes() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> collection = client.getDatabase("db").getCollection("c");
            Document before = status(client);
            List<Document> documents = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                documents.add(new Document("_id", i).append("text", "x".repeat(1000)));
            }
            collection.insertMany(documents);
            collection.updateOne(new Document("_id", 1), new Document("$set", new Document("n", 1)));
            collection.deleteOne(new Document("_id", 2));
            List<RawBsonDocument> read = client.getDatabase("db").getCollection("c", RawBsonDocument.class).find().batchSize(20).into(new ArrayList<>());
            Document after = status(client);

            assertEquals(49, read.size());
            long readBytes = read.stream().mapToLong(d -> d.getByteBuffer().remaining()).sum();
            long bytesOut = at(after, "network", "bytesOut") - at(before, "network", "bytesOut");
            assertTrue("bytesOut " + bytesOut + " covers the " + readBytes + " bytes read", bytesOut >= readBytes);
            assertTrue("bytesOut " + bytesOut + " is not far above what was read", bytesOut < readBytes + 20_000);
            long bytesIn = at(after, "network", "bytesIn") - at(before, "network", "bytesIn");
            assertTrue("bytesIn " + bytesIn + " covers the 50 documents sent", bytesIn >= 50_000);
            assertEquals(50, at(after, "opcounters", "insert") - at(before, "opcounters", "insert"));
            assertEquals(1, at(after, "opcounters", "update") - at(before, "opcounters", "update"));
            assertEquals(1, at(after, "opcounters", "delete") - at(before, "opcounters", "delete"));
            assertEquals(1, at(after, "opcounters", "query") - at(before, "opcounters", "query"));
            assertEquals(2, at(after, "opcounters", "getmore") - at(before, "opcounters", "getmore")); // 49 in batches of 20
            long returned = ((Number) after.get("metrics", Document.class).get("document", Document.class).get("returned")).longValue()
                - ((Number) before.get("metrics", Document.class).get("document", Document.class).get("returned")).longValue();
            assertEquals(49, returned);
            assertTrue(at(after, "network", "numRequests") - at(before, "network", "numRequests") >= 6);
        }
    }
}

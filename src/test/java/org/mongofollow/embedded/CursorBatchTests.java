package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.bson.Document;
import org.junit.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

/**
 * A getMore without a batch size returns at most about 16 MiB, as mongod's does, so that a client reading a large
 * collection never gets a reply above the 48 MB message limit (the library alone would send every remaining document).
 */
public class CursorBatchTests {

    @Test
    public void getMoreRepliesStayUnderTheMessageLimit() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> big = client.getDatabase("db").getCollection("big");
            String megabyte = "x".repeat(1024 * 1024);
            for (int i = 0; i < 60; i++) {
                big.insertOne(new Document("_id", i).append("payload", megabyte));
            }
            // the first batch holds 101 documents at most by default; the rest, 60 MB here, comes by getMore
            List<Integer> ids = new ArrayList<>();
            for (Document document : big.find().batchSize(0)) {
                ids.add(document.getInteger("_id"));
                assertEquals(megabyte.length(), document.getString("payload").length());
            }
            assertEquals(60, ids.size());
        }
    }
}

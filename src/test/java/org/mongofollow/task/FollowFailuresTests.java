package org.mongofollow.task;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;

import org.bson.Document;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;

import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * A client the node closed (a settings reload, the node shutting down) fails what still uses it, in the driver's words
 * for the client or for its session pool: both are retried (elsewhere, or with the new client), never fatal.
 */
public class FollowFailuresTests {

    private static EmbeddedMongo mongo;

    @BeforeClass
    public static void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
    }

    @AfterClass
    public static void stop() {
        mongo.close();
    }

    @Test
    public void aClosedClientIsRetried() {
        MongoClient client = MongoClients.create(mongo.connectionString());
        var collection = client.getDatabase("failures").getCollection("c");
        collection.insertOne(new Document("_id", 1));
        client.close();
        IllegalStateException read = assertThrows(IllegalStateException.class, () -> collection.find().first());
        assertTrue(read.getMessage(), read.getMessage().startsWith("state should be: "));
        assertTrue(read.getMessage(), FollowFailures.shouldRetry(read));
        // what a read racing the close gets from the session pool instead (seen when a node stopped: RandomFaultsIT, seed
        // 4DC2E74592A on 9.2.4, where it stopped the follow as fatal)
        assertTrue(FollowFailures.shouldRetry(new IllegalStateException("state should be: server session pool is open")));
    }
}

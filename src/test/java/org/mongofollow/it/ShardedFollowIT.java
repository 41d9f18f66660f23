package org.mongofollow.it;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.Document;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.test.ESIntegTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.embedded.ShardedCluster;

import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

/**
 * Follows of a sharded collection through mongos (the embedded sharded cluster: a mongos, two shards, one more added while
 * following), in change-stream mode, the one a mongos offers: the initial copy reads through mongos, and chunk migrations
 * and a shard's outage under writes must end with the index exact.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class ShardedFollowIT extends MongoFollowIntegTestCase {

    private static ShardedCluster cluster;
    private static MongoClient mongos;

    @BeforeClass
    public static void startShardedCluster() {
        cluster = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(100));
        mongos = MongoClients.create(cluster.connectionString());
    }

    @AfterClass
    public static void stopShardedCluster() {
        if (mongos != null) {
            mongos.close();
            mongos = null;
        }
        if (cluster != null) {
            cluster.close();
            cluster = null;
        }
    }

    private static Document admin(Document command) {
        return mongos.getDatabase("admin").runCommand(command);
    }

    /** A collection sharded on {@code _id} in two chunks, one per shard. */
    private static MongoCollection<BsonDocument> shardedCollection(String name) {
        admin(new Document("shardCollection", "sharded." + name).append("key", new Document("_id", 1)));
        admin(new Document("split", "sharded." + name).append("middle", new Document("_id", 100)));
        admin(new Document("moveChunk", "sharded." + name).append("find", new Document("_id", 100)).append("to", "shard1"));
        return mongos.getDatabase("sharded").getCollection(name, BsonDocument.class);
    }

    public void testAFollowThroughMongosWithMigrationsAndAnAddedShardEndsExact() throws Exception {
        MongoCollection<BsonDocument> items = shardedCollection("items");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 200);
        workload.run(150); // before the follow: the copy reads them through mongos
        call(followRequest("items", cluster.connectionString(), "sharded", "items",
            "\"source\": \"auto\", \"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}, \"checkpoint_interval\": \"100ms\""));
        ensureGreen("items");
        // auto reads the change stream: a mongos has no oplog
        assertThat(parameters("items").get("source"), equalTo("change_stream"));

        Random random = new Random(randomLong());
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger migrations = new AtomicInteger();
        Thread migrator = new Thread(() -> {
            String[] shards = { "shard0", "shard1" };
            while (writing.get()) {
                int key = random.nextInt(200);
                try {
                    admin(new Document("split", "sharded.items").append("middle", new Document("_id", key)));
                } catch (com.mongodb.MongoException e) {
                    // already a chunk boundary
                }
                admin(new Document("moveChunk", "sharded.items").append("find", new Document("_id", key))
                    .append("to", shards[random.nextInt(2)]));
                migrations.incrementAndGet();
            }
        }, "migrator");
        migrator.start();
        try {
            workload.run(300);
            EmbeddedMongo third = cluster.startShard();
            admin(new Document("addShard", ShardedCluster.shardHost(third)));
            admin(new Document("moveChunk", "sharded.items").append("find", new Document("_id", 199)).append("to", third.replicaSetName()));
            workload.run(300);
        } finally {
            writing.set(false);
            migrator.join();
        }
        assertThat(migrations.get(), greaterThan(0));
        assertConverges("items", items);
        for (Map<String, Object> shard : shardStats("items")) {
            assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
        }
    }

    public void testAShardOutageDelaysTheFollowAndLosesNothing() throws Exception {
        MongoCollection<BsonDocument> orders = shardedCollection("orders");
        call(followRequest("orders", cluster.connectionString(), "sharded", "orders", "\"source\": \"change_stream\""));
        ensureGreen("orders");
        for (int i = 0; i < 200; i++) {
            orders.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)));
        }
        assertConverges("orders", orders);
        EmbeddedMongo shard0 = cluster.shard(0);
        shard0.stop();
        try {
            // writes to the other shard go on; the change stream through mongos cannot run without shard0
            for (int i = 100; i < 200; i++) {
                orders.updateOne(new Document("_id", i), new Document("$set", new Document("n", -i)));
            }
            Thread.sleep(1000);
        } finally {
            shard0.restart();
        }
        for (int i = 0; i < 100; i++) {
            orders.deleteOne(new Document("_id", i * 2));
        }
        assertConverges("orders", orders);
        for (Map<String, Object> shard : shardStats("orders")) {
            assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
        }
    }

    public void testTheOplogSourceThroughMongosIsRefusedWithAReason() throws Exception {
        shardedCollection("refused");
        ResponseException e = expectThrows(ResponseException.class, () -> call(followRequest("refused", cluster.connectionString(),
            "sharded", "refused", "\"source\": \"oplog\"")));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(e.getMessage(), containsString("is a mongos (a sharded cluster), which has no oplog"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parameters(String index) throws java.io.IOException {
        return (Map<String, Object>) followerInfo(index).get("parameters");
    }
}

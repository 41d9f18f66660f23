package org.mongofollow.it;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.elasticsearch.client.Request;
import org.bson.BsonInt32;
import org.bson.Document;
import org.elasticsearch.test.ESIntegTestCase;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.embedded.ShardedCluster;
import org.mongofollow.operation.OplogPosition;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

/**
 * Follows of a sharded collection through mongos (the embedded sharded cluster: a mongos, two shards, one more added while
 * following), from the shards' oplogs and from the change stream: the initial copy reads through mongos, and chunk
 * migrations, an added shard and a shard's outage under writes must end with the index exact.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class ShardedFollowIT extends MongoFollowIntegTestCase {

    private static ShardedCluster cluster;
    private static MongoClient mongos;
    /** A cluster whose config.shards names its shards at a host only its own network would resolve. */
    private static ShardedCluster hidden;

    @BeforeClass
    public static void startShardedCluster() {
        cluster = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(100));
        mongos = MongoClients.create(cluster.connectionString());
        hidden = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(100).advertisedHost("shards.mongo.invalid"));
    }

    /** The named client {@code hidden}: the mongos of {@link #hidden}, its shards mapped to where this node reaches them. */
    @Override
    protected org.elasticsearch.common.settings.Settings nodeSettings(int nodeOrdinal, org.elasticsearch.common.settings.Settings otherSettings) {
        return org.elasticsearch.common.settings.Settings.builder()
            .put(super.nodeSettings(nodeOrdinal, otherSettings))
            .put("mongo_follow.client.hidden.hosts", "127.0.0.1:" + hidden.port())
            .put("mongo_follow.client.hidden.shard_hosts.shard0", "127.0.0.1:" + hidden.shard(0).port())
            .put("mongo_follow.client.hidden.shard_hosts.shard1", "127.0.0.1:" + hidden.shard(1).port())
            .build();
    }

    @AfterClass
    public static void stopShardedCluster() {
        if (hidden != null) {
            hidden.close();
            hidden = null;
        }
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

    public void testTheShardsOplogsThroughMigrationsAndAnAddedShardEndExact() throws Exception {
        // auto reads the shards' oplogs where the follow's user may read them all
        assertThat(followUnderMigrations("items", "auto"), equalTo("oplog"));
    }

    public void testTheChangeStreamThroughMigrationsAndAnAddedShardEndsExact() throws Exception {
        assertThat(followUnderMigrations("stream-items", "change_stream"), equalTo("change_stream"));
    }

    /**
     * A random workload on a collection sharded on {@code _id}, before a follow (for its copy) and while chunks move between
     * the shards at random and a shard is added and given a chunk; the index must end exact. Returns the source followed.
     */
    private String followUnderMigrations(String name, String source) throws Exception {
        MongoCollection<BsonDocument> items = shardedCollection(name);
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 200);
        workload.run(150); // before the follow: the copy reads them through mongos
        call(followRequest(name, cluster.connectionString(), "sharded", name,
            "\"source\": \"" + source + "\", \"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}, \"checkpoint_interval\": \"100ms\""));
        ensureGreen(name);

        Random random = new Random(randomLong());
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger migrations = new AtomicInteger();
        Thread migrator = new Thread(() -> {
            while (writing.get()) {
                int key = random.nextInt(200);
                try {
                    admin(new Document("split", "sharded." + name).append("middle", new Document("_id", key)));
                } catch (com.mongodb.MongoException e) {
                    // already a chunk boundary
                }
                String to = "shard" + random.nextInt(3);
                try {
                    admin(new Document("moveChunk", "sharded." + name).append("find", new Document("_id", key)).append("to", to));
                    migrations.incrementAndGet();
                } catch (com.mongodb.MongoException e) {
                    // shard2 is not added yet
                }
            }
        }, "migrator");
        migrator.start();
        try {
            workload.run(300);
            EmbeddedMongo third = cluster.shardCount() < 3 ? cluster.startShard() : cluster.shard(2);
            if (mongos.getDatabase("config").getCollection("shards").countDocuments(new Document("_id", "shard2")) == 0) {
                admin(new Document("addShard", ShardedCluster.shardHost(third)));
            }
            admin(new Document("moveChunk", "sharded." + name).append("find", new Document("_id", 199)).append("to", "shard2"));
            workload.run(300);
        } finally {
            writing.set(false);
            migrator.join();
        }
        // the node of a shard task restarts: its feed starts again from the checkpoint, on every shard
        internalCluster().restartNode(nodeRunningShardTask(name, 0));
        workload.run(100);
        ensureGreen(name);
        // shard2 leaves: its chunks migrate away, and what it held before is read to its end
        workload.run(100);
        admin(new Document("removeShard", "shard2"));
        workload.run(100);
        assertThat(migrations.get(), greaterThan(0));
        assertConverges(name, items);
        String followed = (String) parameters(name).get("source");
        assertBusy(() -> {
            for (Map<String, Object> shard : shardStats(name)) {
                assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> mongodbShards = (List<Map<String, Object>>) shard.get("mongodb_shards");
                if (followed.equals("oplog")) {
                    // how far each MongoDB shard's oplog has been read (shard2, removed, is left out of reads past its end),
                    // the checkpoint at or before each
                    assertThat(shard.toString(), mongodbShards.stream().map(s -> s.get("shard")).toList(), equalTo(List.of("shard0", "shard1")));
                    assertNotNull(shard.toString(), shard.get("checkpoint")); // (an assertion: assertBusy retries it)
                    OplogPosition checkpoint = OplogPosition.parse((String) shard.get("checkpoint"));
                    for (Map<String, Object> mongodbShard : mongodbShards) {
                        assertThat(shard.toString(), OplogPosition.parse((String) mongodbShard.get("read_to")).compareTo(checkpoint),
                            greaterThanOrEqualTo(0));
                        assertThat(shard.toString(), ((Number) mongodbShard.get("lag_millis")).longValue(), greaterThanOrEqualTo(0L));
                    }
                } else {
                    assertThat(shard.toString(), mongodbShards, equalTo(null)); // mongos merges the streams itself
                }
            }
        }, 30, java.util.concurrent.TimeUnit.SECONDS);
        if (followed.equals("oplog")) {
            // _cat's column of the MongoDB shards, left out by default
            org.elasticsearch.client.Request cat = new org.elasticsearch.client.Request("GET", "/_cat/mongo_follow/" + name);
            cat.addParameter("h", "shard,mongodb_shards");
            String lines = new String(getRestClient().performRequest(cat).getEntity().getContent().readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(lines, lines.matches("(?s)(\\d+\\s+shard0:\\d+ shard1:\\d+\\s*\n){2}"));
        }
        return followed;
    }

    public void testAShardOutageDelaysTheFollowAndLosesNothing() throws Exception {
        MongoCollection<BsonDocument> orders = shardedCollection("orders");
        call(followRequest("orders", cluster.connectionString(), "sharded", "orders", "\"source\": \"oplog\""));
        ensureGreen("orders");
        for (int i = 0; i < 200; i++) {
            orders.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)));
        }
        assertConverges("orders", orders);
        EmbeddedMongo shard0 = cluster.shard(0);
        shard0.stop();
        try {
            // writes to the other shard go on; the follow cannot read past them without shard0's oplog
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

    /** Read-your-writes through a mongos: its operationTime, once waited for, is applied from every shard and searchable. */
    public void testAnApplicationReadsItsOwnWritesThroughAMongos() throws Exception {
        MongoCollection<BsonDocument> items = shardedCollection("ryw");
        call(followRequest("ryw", cluster.connectionString(), "sharded", "ryw", "\"source\": \"oplog\", \"initial_copy\": false, "
            + "\"settings\": {\"number_of_shards\": 2, \"refresh_interval\": \"-1\"}"));
        ensureGreen("ryw");
        try (com.mongodb.client.MongoClient client = com.mongodb.client.MongoClients.create(cluster.connectionString());
             com.mongodb.client.ClientSession session = client.startSession()) {
            MongoCollection<BsonDocument> viaSession = client.getDatabase("sharded").getCollection("ryw", BsonDocument.class);
            for (int i = 0; i < 5; i++) {
                viaSession.insertOne(session, new BsonDocument("_id", new BsonInt32(i * 50)).append("n", new BsonInt32(i)));
                org.bson.BsonTimestamp position = session.getOperationTime();
                assertNotNull("a mongos answers with operationTime", position);
                org.elasticsearch.client.Request wait = new org.elasticsearch.client.Request("POST", "/ryw/_mongo_follow/_wait_for_position");
                wait.setJsonEntity("{\"position\": \"" + position.getTime() + ":" + position.getInc() + "\", \"timeout\": \"30s\"}");
                assertThat(call(wait).get("reached"), equalTo(true));
                String id = Integer.toString(i * 50); // ids on both MongoDB shards
                org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse(
                    prepareSearch("ryw").setQuery(org.elasticsearch.index.query.QueryBuilders.idsQuery().addIds(id)),
                    r -> assertThat("document " + id + " is searchable", org.mongofollow.compat.TestApis.totalHits(r.getHits()), equalTo(1L))
                );
            }
        }
        assertThat(items.countDocuments(), equalTo(5L));
    }

    /**
     * A shard whose capped oplog dropped a paused follow's position: history lost, and the error names the shard; a resync
     * makes the index exact again.
     */
    public void testAShardsLostHistoryNamesTheShardAndAResyncMendsIt() throws Exception {
        try (ShardedCluster small = ShardedCluster.start(ShardedCluster.options().shards(2).noopIntervalMillis(100).oplogMaxEntries(100));
             MongoClient router = MongoClients.create(small.connectionString())) {
            Document key = new Document("_id", 1);
            router.getDatabase("admin").runCommand(new Document("shardCollection", "sharded.lost").append("key", key));
            router.getDatabase("admin").runCommand(new Document("split", "sharded.lost").append("middle", new Document("_id", 100)));
            router.getDatabase("admin").runCommand(new Document("moveChunk", "sharded.lost").append("find", new Document("_id", 100))
                .append("to", "shard1"));
            MongoCollection<BsonDocument> lost = router.getDatabase("sharded").getCollection("lost", BsonDocument.class);
            call(followRequest("lost", small.connectionString(), "sharded", "lost", "\"source\": \"oplog\""));
            ensureGreen("lost");
            lost.insertOne(new BsonDocument("_id", new BsonInt32(1)));
            assertConverges("lost", lost);
            call("POST", "/lost/_mongo_follow/_pause");
            for (int i = 0; i < 150; i++) {
                lost.insertOne(new BsonDocument("_id", new BsonInt32(1000 + i))); // shard1's chunk: its oplog rolls over
            }
            call("POST", "/lost/_mongo_follow/_resume");
            assertBusy(() -> {
                String fatal = String.valueOf(shardStats("lost").get(0).get("fatal_exception"));
                assertThat(fatal, containsString("history lost: the oplog of MongoDB shard [shard1] no longer holds position"));
            }, 30, java.util.concurrent.TimeUnit.SECONDS);
            // _resync copies again through mongos, from the shards' lowest majority commit point, and the follow goes on
            call("POST", "/lost/_mongo_follow/_resync");
            lost.insertOne(new BsonDocument("_id", new BsonInt32(2)));
            lost.deleteOne(new BsonDocument("_id", new BsonInt32(1000)));
            assertConverges("lost", lost);
            assertThat(String.valueOf(shardStats("lost").get(0).get("fatal_exception")), equalTo("null"));
            call("POST", "/lost/_mongo_follow/_unfollow");
        }
    }

    /**
     * A shard removed while the follow was paused: no node read it, and its hosts are listed nowhere now, so the changes it
     * held before it left cannot be read. History lost, naming the shard (not an index silently missing them); a resync
     * makes the index exact again.
     */
    public void testAShardRemovedWhileTheFollowWasPausedIsHistoryLostAndAResyncMendsIt() throws Exception {
        try (ShardedCluster small = ShardedCluster.start(ShardedCluster.options().shards(3).noopIntervalMillis(100));
             MongoClient router = MongoClients.create(small.connectionString())) {
            router.getDatabase("admin").runCommand(new Document("shardCollection", "sharded.gone").append("key", new Document("_id", 1)));
            router.getDatabase("admin").runCommand(new Document("split", "sharded.gone").append("middle", new Document("_id", 100)));
            router.getDatabase("admin").runCommand(new Document("moveChunk", "sharded.gone").append("find", new Document("_id", 100))
                .append("to", "shard2"));
            MongoCollection<BsonDocument> gone = router.getDatabase("sharded").getCollection("gone", BsonDocument.class);
            for (int i = 90; i < 110; i++) {
                gone.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(0)));
            }
            call(followRequest("gone", small.connectionString(), "sharded", "gone", "\"source\": \"oplog\""));
            ensureGreen("gone");
            assertConverges("gone", gone);
            call("POST", "/gone/_mongo_follow/_pause");
            for (int i = 100; i < 110; i++) {
                gone.updateOne(new Document("_id", i), new Document("$set", new Document("n", i))); // on shard2
            }
            Thread.sleep(1100); // (a removal in the same second as the checkpoint counts as before it: README)
            router.getDatabase("admin").runCommand(new Document("removeShard", "shard2")); // its chunk moves away (fromMigrate)
            call("POST", "/gone/_mongo_follow/_resume");
            assertBusy(() -> {
                String fatal = String.valueOf(shardStats("gone").get(0).get("fatal_exception"));
                assertThat(fatal, containsString("history lost: MongoDB shard [shard2] was removed from the cluster at "));
            }, 30, java.util.concurrent.TimeUnit.SECONDS);
            call("POST", "/gone/_mongo_follow/_resync");
            assertConverges("gone", gone);
            assertThat(String.valueOf(shardStats("gone").get(0).get("fatal_exception")), equalTo("null"));
            call("POST", "/gone/_mongo_follow/_unfollow");
        }
    }

    /**
     * A cluster whose config.shards names hosts this node cannot resolve: the named client's {@code shard_hosts} say where
     * each shard is reached, and the follow of the shards' oplogs goes through them.
     */
    public void testANamedClientReachesTheShardsWhereItsSettingsMapThem() throws Exception {
        try (MongoClient router = MongoClients.create(hidden.connectionString())) {
            String listed = router.getDatabase("config").getCollection("shards").find(new Document("_id", "shard0")).first().getString("host");
            assertThat(listed, equalTo("shard0/shards.mongo.invalid:" + hidden.shard(0).port()));
            router.getDatabase("admin").runCommand(new Document("shardCollection", "sharded.mapped").append("key", new Document("_id", 1)));
            router.getDatabase("admin").runCommand(new Document("split", "sharded.mapped").append("middle", new Document("_id", 100)));
            router.getDatabase("admin").runCommand(new Document("moveChunk", "sharded.mapped").append("find", new Document("_id", 100))
                .append("to", "shard1"));
            MongoCollection<BsonDocument> mapped = router.getDatabase("sharded").getCollection("mapped", BsonDocument.class);
            for (int i = 90; i < 110; i++) {
                mapped.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(0)));
            }
            Request put = new Request("PUT", "/mapped/_mongo_follow");
            put.setJsonEntity("{\"client\": \"hidden\", \"database\": \"sharded\", \"collection\": \"mapped\", \"source\": \"oplog\"}");
            call(put);
            ensureGreen("mapped");
            for (int i = 90; i < 110; i++) {
                mapped.updateOne(new Document("_id", i), new Document("$set", new Document("n", i))); // on both shards
            }
            mapped.deleteOne(new Document("_id", 95));
            assertConverges("mapped", mapped);
            assertThat(String.valueOf(shardStats("mapped").get(0).get("fatal_exception")), equalTo("null"));
            call("POST", "/mapped/_mongo_follow/_unfollow");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parameters(String index) throws java.io.IOException {
        return (Map<String, Object>) followerInfo(index).get("parameters");
    }
}

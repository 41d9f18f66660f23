package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.elasticsearch.common.settings.Settings;
import org.mongofollow.security.ConnectionAllowlist;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.test.ESIntegTestCase;

import java.util.List;
import java.util.Map;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertHitCount;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

/** A follow of the embedded MongoDB on a three-node cluster, index with two shards and a replica each. */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 3, numClientNodes = 0)
public class FollowEngineIT extends MongoFollowIntegTestCase {

    private static final String SHARDING = "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}";

    public void testInsertsUpdatesAndDeletesReachTheIndex() throws Exception {
        MongoCollection<BsonDocument> orders = collection("shop", "orders");
        Map<String, Object> put = putFollow("orders", "shop", "orders", SHARDING);
        assertThat(put.get("index_created"), equalTo(true));
        ensureGreen("orders");
        for (int i = 0; i < 50; i++) {
            orders.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("order " + i)).append("qty", new BsonInt32(i)));
        }
        orders.updateMany(Filters.lt("_id", 10), Updates.inc("qty", 100));
        orders.updateOne(Filters.eq("_id", 11), Updates.unset("name"));
        orders.deleteMany(Filters.gte("_id", 40));
        // a double beyond float's range: the index the follow created maps floating-point values as double
        orders.insertOne(new BsonDocument("_id", new BsonInt32(100)).append("price", new BsonDouble(1.0E300)));
        orders.insertOne(new BsonDocument("_id", new BsonInt32(101)).append("price", new BsonDouble(0.1)));
        assertConverges("orders", orders);
        Map<String, Object> price = indicesAdmin().prepareGetFieldMappings("orders").setFields("price").get()
            .fieldMappings("orders", "price").sourceAsMap();
        assertThat(price.toString(), ((Map<?, ?>) price.get("price")).get("type"), equalTo("double"));
        assertBusy(() -> { // the copy that answers may be a replica the last write reaches a moment later
            indicesAdmin().prepareRefresh("orders").get();
            assertHitCount(prepareSearch("orders").setQuery(QueryBuilders.termQuery("price", 0.1)), 1);
        });

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> indices = (List<Map<String, Object>>) call("GET", "/_mongo_follow/_stats").get("indices");
        assertThat(indices.size(), equalTo(1));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> shards = (List<Map<String, Object>>) indices.get(0).get("shards");
        assertThat(shards.size(), equalTo(2));
        long written = 0;
        for (Map<String, Object> shard : shards) {
            written += ((Number) shard.get("operations_written")).longValue();
            assertThat(shard.get("fatal_exception"), equalTo(null));
        }
        assertThat(written, greaterThan(0L));
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testRandomWorkloadConvergesExactlyOnPrimariesAndReplicas() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "items");
        putFollow("items", "shop", "items", SHARDING + ", \"max_read_request_operation_count\": " + between(50, 500)
            + ", \"max_outstanding_read_requests\": " + between(1, 8) + ", \"max_write_request_operation_count\": " + between(10, 300)
            + ", \"max_outstanding_write_requests\": " + between(1, 8));
        ensureGreen("items");
        new RandomWorkload(items, randomLong(), 300).run(5_000);
        assertConverges("items", items);
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testPauseKeepsTheCheckpointAndResumeCatchesUp() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "paused");
        putFollow("paused", "shop", "paused", SHARDING);
        ensureGreen("paused");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 100);
        workload.run(300);
        assertConverges("paused", items);

        call("POST", "/paused/_mongo_follow/_pause");
        assertBusy(() -> assertThat(shardStats("paused").size(), equalTo(0)));
        assertThat(infoStatus("paused"), equalTo("paused"));
        workload.run(300);
        call("POST", "/paused/_mongo_follow/_resume");
        assertThat(infoStatus("paused"), equalTo("active"));
        assertConverges("paused", items);
    }

    public void testTaskMovesWhenItsNodeStopsAndLosesNothing() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "moving");
        putFollow("moving", "shop", "moving", SHARDING);
        ensureGreen("moving");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 200);
        workload.run(500);
        assertConverges("moving", items);

        String node = nodeRunningShardTask("moving", 0);
        internalCluster().stopNode(node);
        workload.run(500);
        ensureYellow("moving");
        assertConverges("moving", items);
        assertThat(nodeRunningShardTask("moving", 0), org.hamcrest.Matchers.not(equalTo(node)));
    }

    @SuppressWarnings("unchecked")
    public void testATaskWhoseHostsLeftTheAllowlistFailsWithoutConnectingWhenItMoves() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "allowgone");
        putFollow("allowgone", "shop", "allowgone", SHARDING);
        ensureGreen("allowgone");
        new RandomWorkload(items, randomLong(), 50).run(50);
        assertConverges("allowgone", items);

        // the operator takes the embedded MongoDB's host (127.0.0.1) off the allowlist
        updateClusterSettings(Settings.builder().putList(ConnectionAllowlist.SETTING.getKey(), "localhost:*"));
        String node = nodeRunningShardTask("allowgone", 0);
        internalCluster().stopNode(node);
        assertBusy(() -> {
            // (while the task moves, the stats may list no shard 0 for a moment: an assertion, which assertBusy retries)
            Map<String, Object> shard = shardStats("allowgone").stream().filter(s -> Integer.valueOf(0).equals(s.get("shard_id"))).findFirst().orElse(null);
            assertNotNull("no stats of shard 0 yet", shard);
            assertThat(shard.toString(), shard.get("status"), equalTo("failed"));
            assertThat(String.valueOf(shard.get("fatal_exception")), org.hamcrest.Matchers.containsString("mongo_follow.connection.allowlist"));
            assertThat(shard.toString(), shard.get("operations_read"), equalTo(0));
        }, 60, java.util.concurrent.TimeUnit.SECONDS);
        // and it cannot be resumed while its hosts are not allowed
        call("POST", "/allowgone/_mongo_follow/_pause");
        org.elasticsearch.client.ResponseException refused = expectThrows(
            org.elasticsearch.client.ResponseException.class,
            () -> call("POST", "/allowgone/_mongo_follow/_resume")
        );
        assertThat(refused.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        updateClusterSettings(Settings.builder().putNull(ConnectionAllowlist.SETTING.getKey()));
    }

    public void testFullClusterRestartResumesFromTheCheckpoint() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "restarted");
        putFollow("restarted", "shop", "restarted", SHARDING + ", \"checkpoint_interval\": \"100ms\"");
        ensureGreen("restarted");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 200);
        workload.run(500);
        assertConverges("restarted", items);
        // the stored checkpoints have moved off the start position
        assertBusy(() -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> checkpoints = (Map<String, Object>) followerInfo("restarted").get("checkpoints");
            assertThat(checkpoints.size(), equalTo(2));
        });
        internalCluster().fullRestart();
        ensureGreen("restarted");
        workload.run(500);
        assertConverges("restarted", items);
    }
}

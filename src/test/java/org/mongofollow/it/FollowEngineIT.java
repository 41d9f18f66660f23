package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.test.ESIntegTestCase;

import java.util.List;
import java.util.Map;

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
        assertConverges("orders", orders);

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
}

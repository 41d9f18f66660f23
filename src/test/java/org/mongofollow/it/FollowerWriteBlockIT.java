package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.test.ESIntegTestCase;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Only its follow writes into a follower index: a user's index and bulk requests (as every write, update and delete by query, reindex, goes through a shard bulk request) are refused with a write
 * block's 403 while the index follows, active or paused, and the follow's own writes (copy and log) go on; once the index
 * is unfollowed it takes writes again.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class FollowerWriteBlockIT extends MongoFollowIntegTestCase {

    private static void insert(MongoCollection<BsonDocument> items, int from, int to) {
        for (int i = from; i < to; i++) {
            items.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)));
        }
    }

    private static ResponseException refusedWrite() {
        Request put = new Request("PUT", "/blocked/_doc/user-doc");
        put.setJsonEntity("{\"written_by\": \"a user\"}");
        return expectThrows(ResponseException.class, () -> call(put));
    }

    @SuppressWarnings("unchecked")
    public void testOnlyTheFollowWritesIntoAFollowerIndex() throws Exception {
        MongoCollection<BsonDocument> items = collection("blocked", "items");
        items.drop();
        insert(items, 0, 20);
        call(followRequest("blocked", mongo.connectionString(), "blocked", "items",
            "\"settings\": {\"index.number_of_shards\": 2, \"index.number_of_replicas\": 1}"));
        assertBusy(() -> assertThat(copyState("blocked"), equalTo("done")), 60, TimeUnit.SECONDS);
        assertConverges("blocked", items);

        ResponseException refused = refusedWrite();
        assertThat(refused.getResponse().getStatusLine().getStatusCode(), equalTo(403));
        assertThat(body(refused), containsString("cluster_block_exception"));
        assertThat(body(refused), containsString(
            "index [blocked] blocked by: [FORBIDDEN/90173/mongo follower index (only its follow writes into it; _unfollow it to write)];"));

        Request bulk = new Request("POST", "/_bulk");
        bulk.setJsonEntity("{\"index\": {\"_index\": \"blocked\", \"_id\": \"0\"}}\n{\"n\": -1}\n{\"delete\": {\"_index\": \"blocked\", \"_id\": \"1\"}}\n");
        Map<String, Object> answer = call(bulk);
        assertThat(answer.get("errors"), equalTo(true));
        for (Map<String, Object> item : (List<Map<String, Object>>) answer.get("items")) {
            Map<String, Object> result = (Map<String, Object>) item.values().iterator().next();
            assertThat(result.toString(), result.get("status"), equalTo(403));
        }
        // nothing of it reached the index, and the follow's own writes go on
        insert(items, 20, 30);
        assertConverges("blocked", items);

        // paused, the index still belongs to its follow
        assertThat(call("POST", "/blocked/_mongo_follow/_pause").get("acknowledged"), equalTo(true));
        assertThat(refusedWrite().getResponse().getStatusLine().getStatusCode(), equalTo(403));
        // unfollowed, it is a plain index again
        assertThat(call("POST", "/blocked/_mongo_follow/_unfollow").get("acknowledged"), equalTo(true));
        Request put = new Request("PUT", "/blocked/_doc/user-doc");
        put.setJsonEntity("{\"written_by\": \"a user\"}");
        assertThat(call(put).get("result"), equalTo("created"));
    }
}

package org.mongofollow.it;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonTimestamp;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.compat.TestApis;

import java.io.IOException;
import java.util.Map;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Read-your-writes: after {@code _wait_for_position} answers for the {@code operationTime} of the application's session, a
 * search on any copy of any shard sees the write (the index never refreshes by itself here); a position the follow has not
 * reached by the timeout is a 408.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class WaitForPositionIT extends MongoFollowIntegTestCase {

    public void testAnApplicationReadsItsOwnWrites() throws Exception {
        MongoCollection<BsonDocument> items = collection("ryw", "items");
        items.drop();
        call(followRequest("ryw", mongo.connectionString(), "ryw", "items", "\"initial_copy\": false, \"settings\": {\"number_of_shards\": 2, "
            + "\"number_of_replicas\": 1, \"refresh_interval\": \"-1\"}"));
        ensureGreen("ryw");
        try (ClientSession session = mongoClient.startSession()) {
            for (int i = 0; i < 10; i++) {
                items.insertOne(session, new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)));
                assertThat(waitFor("ryw", session.getOperationTime(), "30s").get("reached"), equalTo(true));
                assertVisibleOnEveryCopy(i, i);

                items.updateOne(session, Filters.eq("_id", i), Updates.set("n", 100 + i));
                Map<String, Object> reached = waitFor("ryw", session.getOperationTime(), "30s");
                assertThat(reached.get("reached"), equalTo(true));
                assertThat(((Map<?, ?>) reached.get("checkpoints")).size(), equalTo(2));
                assertVisibleOnEveryCopy(i, 100 + i);
            }
            items.deleteOne(session, Filters.eq("_id", 3));
            assertThat(waitFor("ryw", session.getOperationTime(), "30s").get("reached"), equalTo(true));
            assertVisibleOnEveryCopy(3, -1);
        }

        // a position past every write: the follow cannot reach it, a 408 at the timeout with where each shard is
        BsonTimestamp future = new BsonTimestamp((int) (System.currentTimeMillis() / 1000) + 3600, 1);
        ResponseException late = expectThrows(ResponseException.class, () -> waitFor("ryw", future, "200ms"));
        assertThat(late.getResponse().getStatusLine().getStatusCode(), equalTo(408));
        String body = body(late);
        assertThat(body, containsString("\"reached\":false"));
        assertThat(body, containsString("\"checkpoints\":{\"0\":\""));

        ResponseException bad = expectThrows(ResponseException.class, () -> call(waitRequest("ryw", "{\"position\": \"yesterday\"}")));
        assertThat(bad.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(body(bad), containsString("[position] must be \\\"SECONDS:INCREMENT\\\", got [yesterday]"));
        ResponseException missing = expectThrows(ResponseException.class, () -> call(waitRequest("ryw", "{\"timeout\": \"1s\"}")));
        assertThat(missing.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        indicesAdmin().prepareCreate("plain").get();
        ResponseException plain = expectThrows(ResponseException.class, () -> call(waitRequest("plain", "{\"position\": \"1:1\"}")));
        assertThat(plain.getResponse().getStatusLine().getStatusCode(), equalTo(404));
        assertThat(body(plain), containsString("is not a mongo follower index"));
    }

    /** Searches (not a realtime get) each node's copies of the index: {@code n}, or no document for -1. */
    private void assertVisibleOnEveryCopy(int id, int n) {
        java.util.Set<String> nodes = internalCluster().nodesInclude("ryw");
        assertThat("both nodes hold a copy of each shard", nodes.size(), equalTo(2));
        for (String node : nodes) {
            assertResponse(
                internalCluster().client(node).prepareSearch("ryw").setPreference("_only_local").setQuery(QueryBuilders.idsQuery().addIds(Integer.toString(id))),
                r -> {
                    if (n < 0) {
                        assertThat(node, TestApis.totalHits(r.getHits()), equalTo(0L));
                    } else {
                        assertThat(node, TestApis.totalHits(r.getHits()), equalTo(1L));
                        assertThat(node, r.getHits().getHits()[0].getSourceAsMap().get("n"), equalTo(n));
                    }
                }
            );
        }
    }

    private static Map<String, Object> waitFor(String index, BsonTimestamp position, String timeout) throws IOException {
        assertNotNull("the session has an operationTime", position);
        return call(waitRequest(index, "{\"position\": \"" + position.getTime() + ":" + position.getInc() + "\", \"timeout\": \"" + timeout + "\"}"));
    }

    private static Request waitRequest(String index, String body) {
        Request wait = new Request("POST", "/" + index + "/_mongo_follow/_wait_for_position");
        wait.setJsonEntity(body);
        return wait;
    }
}

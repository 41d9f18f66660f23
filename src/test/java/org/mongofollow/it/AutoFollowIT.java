package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.autofollow.AutoFollowCoordinator;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;

/**
 * Auto-follow patterns: the collections that match when a pattern is put, and those created while it runs, are followed
 * (copy and log) with the pattern's parameters and settings; names that exist or are invalid are skipped and reported; a
 * paused pattern starts nothing until resumed; a follow a user ended is not started again; the patterns survive a full
 * cluster restart and run on the new master.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class AutoFollowIT extends MongoFollowIntegTestCase {

    @Override
    protected Settings nodeSettings(int nodeOrdinal, Settings otherSettings) {
        return Settings.builder()
            .put(super.nodeSettings(nodeOrdinal, otherSettings))
            .put(AutoFollowCoordinator.POLL_INTERVAL.getKey(), "200ms")
            .build();
    }

    private static void insert(MongoCollection<BsonDocument> collection, int from, int count) {
        for (int i = from; i < from + count; i++) {
            collection.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("doc " + i)));
        }
    }

    private static void putPattern(String name, String body) throws IOException {
        Request put = new Request("PUT", "/_mongo_follow/auto_follow/" + name);
        put.setJsonEntity(body);
        assertThat(call(put).get("acknowledged"), equalTo(true));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stats(String name) throws IOException {
        List<Map<String, Object>> patterns = (List<Map<String, Object>>) call("GET", "/_mongo_follow/auto_follow/" + name + "/_stats").get("patterns");
        assertThat(patterns.size(), equalTo(1));
        return patterns.get(0);
    }

    /** Waits until the pattern has polled {@code polls} more times than now (on the master that polls). */
    private static void waitForPolls(String name, int polls) throws Exception {
        long now = ((Number) stats(name).get("polls")).longValue();
        assertBusy(() -> assertThat(((Number) stats(name).get("polls")).longValue(), greaterThanOrEqualTo(now + polls)), 30, TimeUnit.SECONDS);
    }

    private static String pattern(String database) {
        return "{\"connection\": \"" + mongo.connectionString() + "\", \"database\": \"" + database + "\", "
            + "\"exclude_collections\": [\"tmp_*\"], \"follow_index_pattern\": \"{{database}}-{{collection}}\", "
            + "\"initial_copy_batch_size\": 7, \"settings\": {\"index.number_of_shards\": 2, \"index.number_of_replicas\": 1}}";
    }

    @SuppressWarnings("unchecked")
    public void testFollowsWhatMatchesNowAndWhatAppearsLater() throws Exception {
        MongoCollection<BsonDocument> orders = collection("autoshop", "orders");
        MongoCollection<BsonDocument> users = collection("autoshop", "users");
        insert(orders, 0, 40);
        insert(users, 0, 5);
        insert(collection("autoshop", "tmp_scratch"), 0, 3);
        insert(collection("autoshop", "Upper"), 0, 1);
        insert(collection("autoshop", "plain"), 0, 1);
        insert(collection("autoother", "orders"), 0, 1);
        createIndex("autoshop-plain");

        putPattern("shop", pattern("autoshop"));
        awaitFollow("autoshop-orders");
        awaitFollow("autoshop-users");
        assertBusy(() -> {
            assertThat(copyState("autoshop-orders"), equalTo("done"));
            assertThat(copyState("autoshop-users"), equalTo("done"));
        }, 60, TimeUnit.SECONDS);
        insert(orders, 40, 10); // the log after the copy
        assertConverges("autoshop-orders", orders);
        assertConverges("autoshop-users", users);
        Map<String, Object> parameters = (Map<String, Object>) followerInfo("autoshop-orders").get("parameters");
        assertThat(parameters.get("initial_copy_batch_size"), equalTo(7));
        assertThat(shards("autoshop-orders"), equalTo(2));

        Map<String, Object> stats = stats("shop");
        assertThat(stats.get("active"), equalTo(true));
        assertThat(stats.get("number_of_successful_follow_indices"), equalTo(2));
        assertThat(stats.get("number_of_failed_follow_indices"), equalTo(0));
        List<Map<String, Object>> skipped = (List<Map<String, Object>>) stats.get("skipped_collections");
        assertThat(skipped, hasItem(Map.of("namespace", "autoshop.plain", "index", "autoshop-plain", "reason", "index [autoshop-plain] exists")));
        assertThat(skipped.toString(), skipped.size(), equalTo(2));
        Map<String, Object> upper = skipped.stream().filter(s -> s.get("namespace").equals("autoshop.Upper")).findFirst().orElseThrow();
        assertThat((String) upper.get("reason"), containsString("must be lowercase"));
        assertFalse(indexExists("autoshop-tmp_scratch"));
        assertFalse(indexExists("autoother-orders"));
        assertThat(stats.get("followed_collections"), equalTo(2));

        // a collection created while the pattern runs: copied, then followed
        MongoCollection<BsonDocument> payments = collection("autoshop", "payments");
        insert(payments, 0, 12);
        awaitFollow("autoshop-payments");
        assertBusy(() -> assertThat(copyState("autoshop-payments"), equalTo("done")), 60, TimeUnit.SECONDS);
        insert(payments, 12, 8);
        assertConverges("autoshop-payments", payments);

        // paused: nothing new is followed, the follows it started go on; resumed: followed
        assertThat(call("POST", "/_mongo_follow/auto_follow/shop/_pause").get("acknowledged"), equalTo(true));
        MongoCollection<BsonDocument> later = collection("autoshop", "later");
        insert(later, 0, 3);
        assertThat(stats("shop").get("active"), equalTo(false));
        long pollsWhenPaused = ((Number) stats("shop").get("polls")).longValue();
        insert(orders, 50, 5);
        assertConverges("autoshop-orders", orders);
        // an active pattern of an empty database polls in the same rounds: three of them pass
        putPattern("clock", pattern("autoclock"));
        waitForPolls("clock", 3);
        assertFalse(indexExists("autoshop-later"));
        assertThat(((Number) stats("shop").get("polls")).longValue(), equalTo(pollsWhenPaused));
        assertThat(call("POST", "/_mongo_follow/auto_follow/shop/_resume").get("acknowledged"), equalTo(true));
        awaitFollow("autoshop-later");
        assertConverges("autoshop-later", later);

        // a follow a user ended is not started again
        assertThat(call("POST", "/autoshop-users/_mongo_follow/_unfollow").get("acknowledged"), equalTo(true));
        waitForPolls("shop", 3);
        ResponseException notFollowing = expectThrows(ResponseException.class, () -> followerInfo("autoshop-users"));
        assertThat(notFollowing.getResponse().getStatusLine().getStatusCode(), equalTo(404));
        assertThat(((List<?>) stats("shop").get("skipped_collections")).size(), equalTo(2));

        // GET shows the definition as put; DELETE ends the pattern, not its follows
        List<Map<String, Object>> patterns = (List<Map<String, Object>>) call("GET", "/_mongo_follow/auto_follow/shop").get("patterns");
        Map<String, Object> definition = (Map<String, Object>) patterns.get(0).get("pattern");
        assertThat(definition.get("database"), equalTo("autoshop"));
        assertThat(definition.get("exclude_collections"), equalTo(List.of("tmp_*")));
        assertThat(definition.get("follow_index_pattern"), equalTo("{{database}}-{{collection}}"));
        assertThat(definition.get("settings"), equalTo(Map.of("index.number_of_shards", 2, "index.number_of_replicas", 1)));
        assertThat(call("DELETE", "/_mongo_follow/auto_follow/shop").get("acknowledged"), equalTo(true));
        ResponseException missing = expectThrows(ResponseException.class, () -> call("GET", "/_mongo_follow/auto_follow/shop"));
        assertThat(missing.getResponse().getStatusLine().getStatusCode(), equalTo(404));
        assertThat(body(missing), containsString("auto-follow pattern [shop] does not exist"));
        insert(orders, 55, 5);
        assertConverges("autoshop-orders", orders);
    }

    @SuppressWarnings("unchecked")
    public void testPatternsSurviveAFullRestart() throws Exception {
        MongoCollection<BsonDocument> first = collection("autorestart", "first");
        insert(first, 0, 10);
        putPattern("restart", pattern("autorestart*"));
        awaitFollow("autorestart-first");
        assertConverges("autorestart-first", first);
        assertThat(call("POST", "/_mongo_follow/auto_follow/restart/_pause").get("acknowledged"), equalTo(true));

        internalCluster().fullRestart();
        ensureGreen();

        List<Map<String, Object>> patterns = (List<Map<String, Object>>) call("GET", "/_mongo_follow/auto_follow").get("patterns");
        assertThat(patterns.size(), equalTo(1));
        assertThat(((Map<String, Object>) patterns.get(0).get("pattern")).get("active"), equalTo(false));
        assertThat(stats("restart").get("followed_collections"), equalTo(1));
        // the new master runs it once resumed, with what it followed before the restart
        MongoCollection<BsonDocument> second = collection("autorestart2", "second");
        insert(second, 0, 4);
        assertThat(call("POST", "/_mongo_follow/auto_follow/restart/_resume").get("acknowledged"), equalTo(true));
        awaitFollow("autorestart2-second");
        assertConverges("autorestart2-second", second);
        insert(first, 10, 5);
        assertConverges("autorestart-first", first);
        assertThat(stats("restart").get("number_of_successful_follow_indices"), equalTo(1));
    }

    /** Waits until the pattern started the follow of the index (before looking into it: a missing one is an error, not a failed assertion). */
    private static void awaitFollow(String index) throws Exception {
        assertBusy(() -> {
            try {
                followerInfo(index);
            } catch (ResponseException e) {
                fail(index + " does not follow yet: " + e.getResponse().getStatusLine());
            }
        }, 60, TimeUnit.SECONDS);
    }

    private static int shards(String index) {
        return org.mongofollow.compat.ClusterMetadata.index(clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState(), index)
            .getNumberOfShards();
    }
}

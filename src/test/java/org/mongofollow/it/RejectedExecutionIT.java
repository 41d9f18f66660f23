package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.task.FollowThreadPool;

import java.util.Map;

import static org.hamcrest.Matchers.greaterThan;

/**
 * The plugin's thread pool cut down to two threads and a queue of one, so that the follow's reads, writes, retries and
 * periodic steps are refused at random while a random workload runs: every refused step is retried (never dropped) and
 * the follow ends exact.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.SUITE, numDataNodes = 1, numClientNodes = 0)
public class RejectedExecutionIT extends MongoFollowIntegTestCase {

    @Override
    protected Settings nodeSettings(int nodeOrdinal, Settings otherSettings) {
        return Settings.builder()
            .put(super.nodeSettings(nodeOrdinal, otherSettings))
            .put("mongo_follow.thread_pool.size", 2)
            .put("mongo_follow.thread_pool.queue_size", 1)
            .build();
    }

    public void testAFollowWhoseStepsAreRefusedAtRandomEndsExact() throws Exception {
        MongoCollection<BsonDocument> items = collection("refused", "items");
        putFollow(
            "refused",
            "refused",
            "items",
            "\"settings\": {\"number_of_shards\": 3, \"number_of_replicas\": 0}, \"read_poll_timeout\": \"100ms\","
                + " \"max_read_request_operation_count\": 20, \"max_write_request_operation_count\": 10"
        );
        ensureGreen("refused");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 150);
        workload.run(600);
        assertConverges("refused", items);
        assertThat("the pool refused steps", rejected(), greaterThan(0L));
    }

    @SuppressWarnings("unchecked")
    private long rejected() throws java.io.IOException {
        Map<String, Object> nodes = (Map<String, Object>) call("GET", "/_nodes/stats/thread_pool").get("nodes");
        long rejected = 0;
        for (Object node : nodes.values()) {
            Map<String, Object> pools = (Map<String, Object>) ((Map<String, Object>) node).get("thread_pool");
            rejected += ((Number) ((Map<String, Object>) pools.get(FollowThreadPool.NAME)).get("rejected")).longValue();
        }
        return rejected;
    }
}

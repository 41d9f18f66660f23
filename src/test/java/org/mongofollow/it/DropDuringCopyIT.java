package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.action.support.replication.TransportReplicationAction;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.test.transport.MockTransportService;
import org.elasticsearch.transport.TransportRequest;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.apply.ShardOperation;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.hamcrest.Matchers.equalTo;

/**
 * The followed collection is dropped (and written again) while a batch that the initial copy read before the drop is on
 * its way to a shard, held there (MockTransportService) until the follow has had time to apply the drop: the drop's
 * sweep waits for the copy, so that batch does not outlive the drop, and the index ends with exactly the documents
 * written after it.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 1, numClientNodes = 0)
public class DropDuringCopyIT extends MongoFollowIntegTestCase {

    /** MockTransportService, which ESIntegTestCase only adds at random. */
    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>(super.nodePlugins());
        plugins.add(MockTransportService.TestPlugin.class);
        return plugins;
    }

    public void testADropDuringTheCopyRemovesWhatTheCopyReadBeforeIt() throws Exception {
        MongoCollection<BsonDocument> items = collection("copydrop", "items");
        insert(items, 0, 3000);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        // on every node: the test cluster may have a dedicated master besides the data node
        for (String node : internalCluster().getNodeNames()) {
            MockTransportService.getInstance(node).addRequestHandlingBehavior(ApplyOperationsAction.NAME + "[p]", (handler, request, channel, task) -> {
                if (isCopyBatch(request) && first.compareAndSet(true, false)) {
                    held.countDown();
                    handleOnceReleased(release, handler, request, channel, task, "held-copy-batch");
                } else {
                    handler.messageReceived(request, channel, task);
                }
            });
        }
        try {
            call(
                followRequest(
                    "copydrop",
                    mongo.connectionString(),
                    "copydrop",
                    "items",
                    "\"initial_copy\": {\"enabled\": true, \"max_concurrent_ranges\": 1, \"batch_size\": 100},"
                        + " \"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 0}"
                )
            );
            assertTrue("a copy batch reached a shard", held.await(60, TimeUnit.SECONDS));
            items.drop();
            insert(items, 100_000, 100_005);
            // time for the follow to apply the drop and the new documents, if it did not wait for the copy
            waitUntil(() -> {
                try {
                    return indexedDocuments("copydrop").keySet().containsAll(List.of("100000", "100004"));
                } catch (IOException e) {
                    return false;
                }
            }, 3, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            for (String node : internalCluster().getNodeNames()) {
                MockTransportService.getInstance(node).clearAllRules();
            }
        }
        assertBusy(() -> assertThat(copyState("copydrop"), equalTo("done")), 120, TimeUnit.SECONDS);
        assertConverges("copydrop", items);
    }

    /** A copy's batch: documents indexed at one version (the copy's t0); the follow's batches carry one version each. */
    private static boolean isCopyBatch(TransportRequest request) {
        if (request instanceof TransportReplicationAction.ConcreteShardRequest<?> shardRequest
            && shardRequest.getRequest() instanceof ApplyOperationsAction.Request apply) {
            List<ShardOperation> operations = apply.operations();
            return operations.size() > 1
                && operations.stream().allMatch(o -> o.kind() == ShardOperation.Kind.INDEX && o.version() == operations.get(0).version());
        }
        return false;
    }

    private static void insert(MongoCollection<BsonDocument> collection, int from, int to) {
        List<BsonDocument> documents = new ArrayList<>();
        for (int i = from; i < to; i++) {
            documents.add(new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("doc " + i)));
        }
        collection.insertMany(documents);
    }
}

package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.elasticsearch.action.support.PlainActionFuture;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.test.transport.MockTransportService;
import org.mongofollow.action.ResyncAction;
import org.mongofollow.metadata.UpdateFollowMetadataAction;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.Matchers.equalTo;

/**
 * Two resyncs that overlap, held (MockTransportService, on a dedicated master so that every metadata update crosses the
 * wire) in the order that used to leave a copy "running" with no task: both remove the tasks; the first starts its copy
 * task, which reads its copy and plans it; the second replaces the copy (a newer t0), and its start finds the first's
 * task still there; then the first task's plan lands on the replaced copy. The task copies the replacement, and the
 * follow ends exact.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 0, numClientNodes = 0)
public class OverlappingResyncIT extends MongoFollowIntegTestCase {

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>(super.nodePlugins());
        plugins.add(MockTransportService.TestPlugin.class);
        return plugins;
    }

    public void testACopyReplacedWhileItPlansCopiesTheReplacement() throws Exception {
        String master = internalCluster().startMasterOnlyNode();
        String data = internalCluster().startDataOnlyNode();
        MongoCollection<BsonDocument> items = collection("overlap", "items");
        items.drop();
        List<BsonDocument> documents = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            documents.add(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)));
        }
        items.insertMany(documents);
        call(followRequest("overlap", mongo.connectionString(), "overlap", "items", "\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0}"));
        assertBusy(() -> assertThat(copyState("overlap"), equalTo("done")), 60, TimeUnit.SECONDS);

        CountDownLatch firstNewCopy = new CountDownLatch(1);
        CountDownLatch releaseFirstNewCopy = new CountDownLatch(1);
        CountDownLatch secondNewCopy = new CountDownLatch(1);
        CountDownLatch releaseSecondNewCopy = new CountDownLatch(1);
        CountDownLatch plan = new CountDownLatch(1);
        CountDownLatch releasePlan = new CountDownLatch(1);
        AtomicInteger newCopies = new AtomicInteger();
        AtomicBoolean planSeen = new AtomicBoolean();
        MockTransportService.getInstance(master).addRequestHandlingBehavior(UpdateFollowMetadataAction.NAME, (handler, request, channel, task) -> {
            String what = request.toString();
            CountDownLatch hold = null;
            if (what.contains("new_copy [overlap]")) {
                if (newCopies.incrementAndGet() == 1) {
                    firstNewCopy.countDown();
                    hold = releaseFirstNewCopy;
                } else {
                    secondNewCopy.countDown();
                    hold = releaseSecondNewCopy;
                }
            } else if (what.contains("copy_update [overlap]") && newCopies.get() > 0 && planSeen.compareAndSet(false, true)) {
                plan.countDown();
                hold = releasePlan;
            }
            if (hold == null) {
                handler.messageReceived(request, channel, task);
            } else {
                handleOnceReleased(hold, handler, request, channel, task, "held-metadata-update");
            }
        });
        PlainActionFuture<ResyncAction.Response> first = new PlainActionFuture<>();
        PlainActionFuture<ResyncAction.Response> second = new PlainActionFuture<>();
        try {
            // both resyncs run on the data node: their metadata updates go to the master over the wire
            internalCluster().client(data).execute(ResyncAction.INSTANCE, new ResyncAction.Request("overlap", null), first);
            assertTrue("the first resync replaces the copy", firstNewCopy.await(30, TimeUnit.SECONDS));
            items.insertOne(new BsonDocument("_id", new BsonInt32(1000)).append("n", new BsonInt32(1000))); // a newer t0
            internalCluster().client(data).execute(ResyncAction.INSTANCE, new ResyncAction.Request("overlap", null), second);
            assertTrue("the second resync replaces the copy, its tasks removed", secondNewCopy.await(30, TimeUnit.SECONDS));
            releaseFirstNewCopy.countDown(); // the first resync starts its copy task, which reads its copy and plans it
            assertTrue("the first copy task plans", plan.await(30, TimeUnit.SECONDS));
            releaseSecondNewCopy.countDown(); // the second replaces the copy; its start finds the first's task running
            second.actionGet(30, TimeUnit.SECONDS);
        } finally {
            releaseFirstNewCopy.countDown();
            releaseSecondNewCopy.countDown();
            releasePlan.countDown();
            MockTransportService.getInstance(master).clearAllRules();
        }
        first.actionGet(30, TimeUnit.SECONDS);
        assertBusy(() -> assertThat(copyState("overlap"), equalTo("done")), 60, TimeUnit.SECONDS);
        assertConverges("overlap", items);
    }
}

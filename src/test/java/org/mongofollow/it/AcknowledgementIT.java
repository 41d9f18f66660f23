package org.mongofollow.it;

import org.elasticsearch.client.Request;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.test.disruption.BlockClusterStateProcessing;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.UpdateFollowMetadataAction;

import java.util.Map;

import static org.hamcrest.Matchers.equalTo;

/**
 * {@code acknowledged} means what it means in Elasticsearch's own APIs: every node applied the change of the follow within
 * {@code ?timeout}. While a node cannot apply cluster states, a change of a follow answers {@code false} at its ack timeout;
 * the change is made all the same and the node applies it once it can.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 3, numClientNodes = 0, supportsDedicatedMasters = false)
public class AcknowledgementIT extends MongoFollowIntegTestCase {

    public void testAcknowledgedIsFalseWhenANodeDoesNotApplyTheChangeInTime() throws Exception {
        collection("acks", "items").drop();
        Map<String, Object> put = call(followRequest("acks", mongo.connectionString(), "acks", "items",
            "\"initial_copy\": false, \"settings\": {\"index.number_of_shards\": 1, \"index.number_of_replicas\": 0}"));
        assertThat(put.get("acknowledged"), equalTo(true));
        assertThat(put.get("shards_acknowledged"), equalTo(true));

        String master = internalCluster().getMasterName();
        String other = java.util.Arrays.stream(internalCluster().getNodeNames()).filter(n -> n.equals(master) == false).findFirst().orElseThrow();
        BlockClusterStateProcessing block = new BlockClusterStateProcessing(other, random());
        internalCluster().setDisruptionScheme(block);
        block.startDisrupting();
        try {
            // the change _pause makes first (its next one, the tasks' removal, would wait for the blocked node's apply)
            var pause = UpdateFollowMetadataAction.Request.setStatus("acks", FollowMetadata.Status.ACTIVE, FollowMetadata.Status.PAUSED, null)
                .acknowledged(TimeValue.timeValueSeconds(30), TimeValue.timeValueMillis(500));
            assertThat(internalCluster().client(master).execute(UpdateFollowMetadataAction.INSTANCE, pause).get().isAcknowledged(), equalTo(false));
        } finally {
            block.stopDisrupting();
        }
        ensureStableCluster(3);
        assertThat(infoStatus("acks"), equalTo("paused"));

        Request resume = new Request("POST", "/acks/_mongo_follow/_resume");
        resume.addParameter("timeout", "30s");
        resume.addParameter("master_timeout", "30s");
        assertThat(call(resume).get("acknowledged"), equalTo(true));
        assertThat(infoStatus("acks"), equalTo("active"));
        Request pauseAll = new Request("POST", "/acks/_mongo_follow/_pause");
        pauseAll.addParameter("timeout", "30s");
        assertThat(call(pauseAll).get("acknowledged"), equalTo(true));
    }
}

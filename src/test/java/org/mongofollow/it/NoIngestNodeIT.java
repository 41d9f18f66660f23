package org.mongofollow.it;

import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.test.ESIntegTestCase;

import java.nio.charset.StandardCharsets;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** A follow whose documents would go through ingest pipelines is refused, with the reason, in a cluster without ingest nodes. */
// no dedicated master: the test framework gives those its own roles, the ingest role among them
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 1, numClientNodes = 0, supportsDedicatedMasters = false)
public class NoIngestNodeIT extends MongoFollowIntegTestCase {

    @Override
    protected Settings nodeSettings(int nodeOrdinal, Settings otherSettings) {
        return Settings.builder().put(super.nodeSettings(nodeOrdinal, otherSettings)).putList("node.roles", "master", "data").build();
    }

    public void testAFollowThroughPipelinesIsRefused() throws Exception {
        assertTrue("no node has the ingest role", clusterService().state().nodes().getIngestNodes().isEmpty());
        Request pipeline = new Request("PUT", "/_ingest/pipeline/nothing");
        pipeline.setJsonEntity("{\"processors\": []}");
        call(pipeline);
        ResponseException e = expectThrows(ResponseException.class, () -> call(followRequest("orders", mongo.connectionString(), "shop",
            "orders", "\"pipeline\": \"nothing\"")));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        String body = new String(e.getResponse().getEntity().getContent().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(body, containsString("the cluster has no ingest node: give a node the [ingest] role, or set [pipeline] to [_none]"));
        assertFalse(indexExists("orders"));

        // without a pipeline the same follow starts
        assertThat(call(followRequest("orders", mongo.connectionString(), "shop", "orders", "\"pipeline\": \"_none\"")).get("acknowledged"),
            equalTo(true));
    }
}

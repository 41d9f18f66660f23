package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.ingest.AbstractProcessor;
import org.elasticsearch.ingest.IngestDocument;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.plugins.IngestPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.compat.TestApis;
import org.mongofollow.compat.TestProcessors;
import org.mongofollow.operation.DocumentIds;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

/**
 * A follow honours the index's {@code index.default_pipeline} and {@code index.final_pipeline} and its own {@code pipeline}:
 * the copy, inserts, replacements and updates all index what the pipelines make of MongoDB's document, through a node restart
 * and a resync; a processor's failure is a dead letter, a {@code drop} leaves the document out until a later change of it;
 * a missing pipeline holds the follow back without losing anything.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class IngestPipelineIT extends MongoFollowIntegTestCase {

    /** Test processors: {@code mf_shape} shapes a document, {@code mf_stamp} marks that the final pipeline ran. */
    public static class ShapingPlugin extends Plugin implements IngestPlugin {
        @Override
        public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
            return Map.of("mf_shape", TestProcessors.factory(ShapeProcessor::new), "mf_stamp", TestProcessors.factory(StampProcessor::new));
        }
    }

    /** Drops a document with {@code drop: true}, fails one with {@code fail: true}; adds {@code name_upper}; removes {@code secret}. */
    static final class ShapeProcessor extends AbstractProcessor {
        ShapeProcessor(String tag, String description) {
            super(tag, description);
        }

        @Override
        public IngestDocument execute(IngestDocument document) {
            if (Boolean.TRUE.equals(document.getFieldValue("drop", Object.class, true))) {
                return null;
            }
            if (Boolean.TRUE.equals(document.getFieldValue("fail", Object.class, true))) {
                throw new IllegalArgumentException("the document asks to fail");
            }
            if (document.hasField("name")) {
                document.setFieldValue("name_upper", String.valueOf(document.getFieldValue("name", Object.class)).toUpperCase(Locale.ROOT));
            }
            document.removeField("secret", true);
            return document;
        }

        @Override
        public String getType() {
            return "mf_shape";
        }
    }

    static final class StampProcessor extends AbstractProcessor {
        StampProcessor(String tag, String description) {
            super(tag, description);
        }

        @Override
        public IngestDocument execute(IngestDocument document) {
            document.setFieldValue("stamped", true);
            return document;
        }

        @Override
        public String getType() {
            return "mf_stamp";
        }
    }

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>(super.nodePlugins());
        plugins.add(ShapingPlugin.class);
        return plugins;
    }

    private static void putPipeline(String id, String processor) throws IOException {
        Request put = new Request("PUT", "/_ingest/pipeline/" + id);
        put.setJsonEntity("{\"processors\": [{\"" + processor + "\": {\"tag\": \"" + id + "-step\"}}]}");
        call(put);
    }

    private static BsonDocument person(int id) {
        return new BsonDocument("_id", new BsonInt32(id)).append("name", new BsonString("person " + id))
            .append("secret", new BsonString("s" + id))
            .append("n", new BsonInt32(id));
    }

    /** What the pipelines {@code shape} then {@code stamp} make of the collection's documents (none of those they drop or fail). */
    private Map<String, Map<String, Object>> shaped(MongoCollection<BsonDocument> collection, boolean shape) throws IOException {
        Map<String, Map<String, Object>> expected = new HashMap<>();
        for (BsonDocument document : collection.find()) {
            Map<String, Object> source = new HashMap<>(BsonToJson.toSource(document));
            if (shape) {
                if (Boolean.TRUE.equals(source.get("drop")) || Boolean.TRUE.equals(source.get("fail"))) {
                    continue;
                }
                if (source.containsKey("name")) {
                    source.put("name_upper", String.valueOf(source.get("name")).toUpperCase(Locale.ROOT));
                }
                source.remove("secret");
            }
            source.put("stamped", true);
            expected.put(DocumentIds.toElasticsearchId(document.get("_id")), normalize(source));
        }
        return expected;
    }

    private void assertShaped(String index, MongoCollection<BsonDocument> collection, boolean shape) throws Exception {
        assertConverges(index, () -> shaped(collection, shape));
    }

    public void testCopyLogRestartAndResyncIndexWhatThePipelinesMake() throws Exception {
        putPipeline("shape", "mf_shape");
        putPipeline("stamp", "mf_stamp");
        MongoCollection<BsonDocument> people = collection("ingest", "people");
        people.drop();
        List<BsonDocument> before = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            before.add(person(i));
        }
        before.set(90, person(90).append("fail", BsonBoolean.TRUE));
        before.set(91, person(91).append("drop", BsonBoolean.TRUE));
        people.insertMany(before);

        call(followRequest("shaped", mongo.connectionString(), "ingest", "people", "\"settings\": {\"number_of_shards\": 2, "
            + "\"number_of_replicas\": 1, \"index.default_pipeline\": \"shape\", \"index.final_pipeline\": \"stamp\"}"));
        ensureGreen("shaped");

        for (int i = 100; i < 150; i++) {
            people.insertOne(person(i));
        }
        people.replaceOne(Filters.eq("_id", 1), new BsonDocument("_id", new BsonInt32(1)).append("name", new BsonString("replaced")));
        for (int i = 2; i < 10; i++) {
            people.updateOne(Filters.eq("_id", i), Updates.set("name", "renamed " + i)); // exact: name_upper follows the new name
        }
        people.updateOne(Filters.eq("_id", 10), Updates.combine(Updates.unset("name"), Updates.set("secret", "kept out")));
        people.updateOne(Filters.eq("_id", 90), Updates.set("fail", false)); // a later change indexes a failed document
        people.updateOne(Filters.eq("_id", 91), Updates.set("drop", false)); // and a dropped one
        people.insertOne(person(150).append("fail", BsonBoolean.TRUE));
        people.insertOne(person(151).append("drop", BsonBoolean.TRUE));
        people.updateOne(Filters.eq("_id", 12), Updates.set("drop", true)); // dropped now: out of the index
        people.deleteOne(Filters.eq("_id", 13));
        people.updateOne(Filters.eq("_id", 14), Updates.set("n", -14));
        people.deleteOne(Filters.eq("_id", 14)); // an update whose document is gone when the follow reads it
        assertShaped("shaped", people, true);

        assertBusy(() -> {
            indicesAdmin().prepareRefresh(".mongo-follow-rejected").get();
            assertResponse(prepareSearch(".mongo-follow-rejected").setQuery(QueryBuilders.termQuery("follower_index", "shaped")), r -> {
                assertThat(TestApis.totalHits(r.getHits()), equalTo(2L)); // document 90 in the copy, 150 in the log
                for (SearchHit hit : r.getHits().getHits()) {
                    String reason = (String) hit.getSourceAsMap().get("reason");
                    assertThat(reason, containsString("the document asks to fail"));
                    assertThat(reason, containsString("mf_shape"));
                }
            });
        }, 30, TimeUnit.SECONDS);
        assertThat("the ingest nodes account the follow's documents", pipelineCount("shape"), greaterThanOrEqualTo(150L));

        internalCluster().restartRandomDataNode();
        ensureGreen("shaped");
        for (int i = 20; i < 30; i++) {
            people.updateOne(Filters.eq("_id", i), Updates.set("name", "after restart " + i));
        }
        assertShaped("shaped", people, true);

        Map<String, Object> resync = call("POST", "/shaped/_mongo_follow/_resync");
        assertThat(resync.get("acknowledged"), equalTo(true));
        people.updateOne(Filters.eq("_id", 31), Updates.set("name", "during resync"));
        assertBusy(() -> assertThat(copyState("shaped"), equalTo("done")), 60, TimeUnit.SECONDS);
        assertShaped("shaped", people, true);
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testTheFollowsPipelineReplacesTheDefaultOne() throws Exception {
        putPipeline("shape", "mf_shape");
        putPipeline("stamp", "mf_stamp");
        MongoCollection<BsonDocument> people = collection("ingest", "plain");
        people.drop();
        people.insertOne(person(1));
        call(followRequest("plain", mongo.connectionString(), "ingest", "plain", "\"pipeline\": \"_none\", \"settings\": "
            + "{\"number_of_shards\": 1, \"index.default_pipeline\": \"shape\", \"index.final_pipeline\": \"stamp\"}"));
        people.insertOne(person(2));
        people.updateOne(Filters.eq("_id", 1), Updates.set("name", "renamed"));
        assertShaped("plain", people, false); // the final pipeline runs all the same
        assertThat(((Map<?, ?>) followerInfo("plain").get("parameters")).get("pipeline"), equalTo("_none"));
    }

    public void testAMissingPipelineIsRefusedAndOneDeletedWhileFollowingHoldsTheFollowBack() throws Exception {
        ResponseException missing = expectThrows(ResponseException.class, () -> call(followRequest("refused", mongo.connectionString(),
            "ingest", "refused", "\"pipeline\": \"nope\"")));
        assertThat(missing.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(body(missing), containsString("pipeline with id [nope] does not exist (the follow's [pipeline])"));
        assertFalse(indexExists("refused"));

        putPipeline("shape", "mf_shape");
        putPipeline("stamp", "mf_stamp");
        MongoCollection<BsonDocument> people = collection("ingest", "held");
        people.drop();
        people.insertOne(person(1));
        call(followRequest("held", mongo.connectionString(), "ingest", "held", "\"pipeline\": \"shape\", \"max_retry_delay\": \"200ms\", "
            + "\"settings\": {\"number_of_shards\": 1, \"index.final_pipeline\": \"stamp\"}"));
        assertShaped("held", people, true);

        call("DELETE", "/_ingest/pipeline/shape");
        people.insertOne(person(2));
        people.updateOne(Filters.eq("_id", 1), Updates.set("name", "while missing"));
        assertBusy(() -> assertThat(((Number) shardStats("held").get(0).get("failed_write_requests")).longValue(), greaterThan(0L)));
        Map<String, Map<String, Object>> held = indexedDocuments("held");
        assertThat("nothing is written without the pipeline", held.keySet(), equalTo(java.util.Set.of("1")));
        assertThat(held.get("1").get("name"), equalTo("person 1"));

        putPipeline("shape", "mf_shape");
        assertShaped("held", people, true);
    }

    private static long pipelineCount(String pipeline) throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> nodes = (Map<String, Map<String, Object>>) call("GET", "/_nodes/stats/ingest").get("nodes");
        long count = 0;
        for (Map<String, Object> node : nodes.values()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> pipelines = (Map<String, Object>) ((Map<String, Object>) node.get("ingest")).get("pipelines");
            @SuppressWarnings("unchecked")
            Map<String, Object> stats = (Map<String, Object>) pipelines.get(pipeline);
            if (stats != null) {
                count += ((Number) stats.get("count")).longValue();
            }
        }
        return count;
    }
}

package org.mongofollow.it;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.routing.IndexRouting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.disruption.BlockMasterServiceOnMaster;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.compat.TestApis;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertAcked;
import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.nullValue;

/**
 * Documents Elasticsearch refuses, from the log or the initial copy, go to the dead-letter index with the reason,
 * the oplog position (the copy's t0) and the original document; {@code documents_rejected} counts them, no stale
 * version stays in the follower index, and the follow goes on.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class DeadLetterIT extends MongoFollowIntegTestCase {

    private static final String ONE_SHARD = "\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 1}";

    @Override
    protected Settings nodeSettings(int nodeOrdinal, Settings otherSettings) {
        // dynamic mapping updates give up after 1s (30s by default), so a blocked master fails them within the test
        return Settings.builder().put(super.nodeSettings(nodeOrdinal, otherSettings)).put("indices.mapping.dynamic_timeout", "1s").build();
    }

    public void testRefusedDocumentsGoToTheDeadLetterIndexAndTheFollowGoesOn() throws Exception {
        MongoCollection<BsonDocument> items = collection("dl", "items");
        putFollow("items", "dl", "items", ONE_SHARD);
        ensureGreen("items");

        items.insertOne(doc(1).append("n", new BsonInt32(1)));
        items.insertOne(doc(2).append("n", new BsonDouble(Double.NaN)));            // a value JSON and Elasticsearch cannot take
        items.insertOne(doc(3).append("sub", new BsonDocument("a..b", new BsonInt32(1))));   // a field name Elasticsearch refuses
        items.insertOne(doc(4).append("n", new BsonString("four")));               // a mapping conflict: n is a long
        items.insertOne(doc(5).append("x", new BsonInt32(5)));
        items.insertOne(doc(6).append("x.y", new BsonInt32(6)));                    // a dotted name clashing with x: a long
        items.updateOne(Filters.eq("_id", 1), Updates.set("n", Double.POSITIVE_INFINITY)); // an update making a document refused
        items.insertOne(doc(7).append("n", new BsonInt32(7)));

        Map<String, Map<String, Object>> letters = awaitLetters(".mongo-follow-rejected", "items", 5);
        assertLetter(letters, "2", "i", 2, "non-finite double [NaN]", "\"$numberDouble\": \"NaN\"");
        assertLetter(letters, "3", "i", 3, "field name with an empty path segment at [sub.a..b]", "\"a..b\": 1");
        assertLetter(letters, "4", "i", 4, "failed to parse field [n] of type [long]", "\"four\"");
        // 5 and 6 give x conflicting types: which one Elasticsearch refuses depends on the order in which the shard applies
        // them (two write batches may be in flight), so exactly one of the two is refused (README, "Field types")
        boolean sixRefused = letters.containsKey("6");
        assertThat(letters.keySet().toString(), letters.containsKey("5"), equalTo(sixRefused == false));
        if (sixRefused) {
            assertLetter(letters, "6", "i", 6, "x", "\"x.y\": 6");
        } else {
            assertLetter(letters, "5", "i", 5, "[x]", "\"x\": 5");
        }
        assertLetter(letters, "1", "u", 1, "non-finite double [Infinity]", "Infinity");
        assertThat(letters.get("2").get("operation"), equalTo("index"));
        assertThat(letters.get("1").get("operation"), equalTo("update_v2"));
        assertThat(letters.get("2").get("namespace"), equalTo("dl.items"));

        assertBusy(() -> {
            Map<String, Map<String, Object>> indexed = indexedDocuments("items");
            assertThat(indexed.keySet(), equalTo(java.util.Set.of(sixRefused ? "5" : "6", "7")));
        }, 30, TimeUnit.SECONDS);
        assertBusy(() -> {
            Map<String, Object> shard = shardStats("items").get(0);
            assertThat(((Number) shard.get("documents_rejected")).longValue(), equalTo(5L));
            assertThat(shard.get("fatal_exception"), nullValue());
        });
        internalCluster().assertSameDocIdsOnShards();
    }

    /**
     * Documents the initial copy reads and Elasticsearch refuses (by the mapping of values and names, or on the
     * primary) go to the dead-letter index as letters of operation "copy" at the copy's t0, are counted in
     * {@code initial_copy.documents_rejected}, are absent from the index, and the follow goes on.
     */
    public void testDocumentsTheCopyRefusesGoToTheDeadLetterIndex() throws Exception {
        MongoCollection<BsonDocument> items = collection("dl", "copied");
        items.drop(); // the embedded MongoDB lives as long as the class: a repeated test starts afresh
        for (int i = 1; i <= 5; i++) {
            items.insertOne(doc(i).append("n", new BsonInt32(i)).append("name", new BsonString("item " + i)));
        }
        items.insertOne(doc(6).append("n", new BsonDouble(Double.NaN)));                     // refused by the mapping of values
        items.insertOne(doc(7).append("sub", new BsonDocument("a..b", new BsonInt32(1))));   // refused by the mapping of names
        items.insertOne(doc(8).append("n", new BsonString("eight")));                      // refused on the primary: n is a long
        // an existing index with n mapped up front, so which document conflicts does not depend on the copy's order
        assertAcked(
            prepareCreate("copied").setSettings(Settings.builder().put("number_of_shards", 2).put("number_of_replicas", 1)).setMapping("n", "type=long")
        );
        ensureGreen("copied");
        Map<String, Object> answer = call(followRequest("copied", mongo.connectionString(), "dl", "copied", "\"initial_copy\": {\"batch_size\": 3}"));
        assertThat(answer.get("index_created"), equalTo(false));
        OplogPosition t0 = OplogPosition.parse((String) answer.get("start_position"));

        Map<String, Map<String, Object>> letters = awaitLetters(".mongo-follow-rejected", "copied", 3);
        assertCopyLetter(letters, "6", t0, "non-finite double [NaN] cannot be indexed at [n]", "\"n\": {\"$numberDouble\": \"NaN\"}");
        assertCopyLetter(letters, "7", t0, "field name with an empty path segment at [sub.a..b]", "\"sub\": {\"a..b\": 1}");
        assertCopyLetter(letters, "8", t0, "failed to parse field [n] of type [long]", "\"n\": \"eight\"");

        assertBusy(() -> {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> indices = (List<Map<String, Object>>) call("GET", "/copied/_mongo_follow/_stats").get("indices");
            @SuppressWarnings("unchecked")
            Map<String, Object> copy = (Map<String, Object>) indices.get(0).get("initial_copy");
            assertThat(copy.toString(), copy.get("state"), equalTo("done"));
            assertThat(copy.toString(), ((Number) copy.get("documents_copied")).longValue(), equalTo(8L));
            assertThat(copy.toString(), ((Number) copy.get("documents_rejected")).longValue(), equalTo(3L));
        }, 60, TimeUnit.SECONDS);
        assertThat(indexedDocuments("copied").keySet(), equalTo(java.util.Set.of("1", "2", "3", "4", "5")));
        assertThat(awaitLetters(".mongo-follow-rejected", "copied", 3).keySet(), equalTo(letters.keySet()));

        items.insertOne(doc(9).append("n", new BsonInt32(9)));
        assertBusy(() -> assertThat(indexedDocuments("copied").keySet(), equalTo(java.util.Set.of("1", "2", "3", "4", "5", "9"))), 30, TimeUnit.SECONDS);
        for (Map<String, Object> shard : shardStats("copied")) {
            assertThat(shard.get("fatal_exception"), nullValue());
        }
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testConfiguredDeadLetterIndex() throws Exception {
        MongoCollection<BsonDocument> items = collection("dl", "configured");
        Map<String, Object> put = putFollow("configured", "dl", "configured", ONE_SHARD + ", \"dead_letter_index\": \"my-rejects\"");
        assertThat(put.get("acknowledged"), equalTo(true));
        ensureGreen("configured");
        assertThat(followerInfoParameter("configured", "dead_letter_index"), equalTo("my-rejects"));
        items.insertOne(doc(1).append("v", new BsonDouble(Double.NEGATIVE_INFINITY)));
        items.insertOne(doc(2).append("v", new BsonInt32(2)));
        Map<String, Map<String, Object>> letters = awaitLetters("my-rejects", "configured", 1);
        assertLetter(letters, "1", "i", 1, "non-finite double [-Infinity] cannot be indexed at [v]", "-Infinity");
        assertBusy(() -> assertThat(indexedDocuments("configured").keySet(), equalTo(java.util.Set.of("2"))), 30, TimeUnit.SECONDS);
        assertThat(TestApis.getIndex(indicesAdmin()).setIndices("my-rejects").get().getSettings().get("my-rejects").get("index.hidden"), equalTo("true"));
    }

    /** A mapping update the master cannot take in time is not a refused document: the batch is retried and goes through. */
    public void testMappingUpdatesTheMasterCannotTakeNowAreRetriedNotRefused() throws Exception {
        MongoCollection<BsonDocument> items = collection("dl", "busy_master");
        items.drop(); // the embedded MongoDB lives as long as the test class
        putFollow("busy", "dl", "busy_master", "\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 1, " + QUICK_GLOBAL_CHECKPOINT_SYNC + "}");
        ensureGreen("busy");
        items.insertOne(doc(1).append("a", new BsonInt32(1)));
        assertBusy(() -> assertThat(indexedDocuments("busy").keySet(), equalTo(java.util.Set.of("1"))), 30, TimeUnit.SECONDS);

        BlockMasterServiceOnMaster blocked = new BlockMasterServiceOnMaster(random());
        internalCluster().setDisruptionScheme(blocked);
        blocked.startDisrupting();
        try {
            // one transaction, so one batch: 3 is applied, then 2 needs a dynamic mapping update the blocked master cannot take
            try (ClientSession session = mongoClient.startSession()) {
                session.withTransaction(() -> {
                    items.insertOne(session, doc(3).append("a", new BsonInt32(3)));
                    items.insertOne(session, doc(2).append("new_field", new BsonInt32(2)));
                    return null;
                });
            }
            assertBusy(() -> {
                long failed = shardStats("busy").stream().mapToLong(s -> ((Number) s.get("failed_write_requests")).longValue()).sum();
                assertThat("the write failed on the blocked master at least once", failed, greaterThan(0L));
            }, 60, TimeUnit.SECONDS);
        } finally {
            blocked.stopDisrupting();
        }
        assertBusy(() -> assertThat(indexedDocuments("busy").keySet(), equalTo(java.util.Set.of("1", "2", "3"))), 60, TimeUnit.SECONDS);
        // what the primary applied before it stopped reached the replica: no sequence number is missing there
        internalCluster().assertSeqNos();
        internalCluster().assertSameDocIdsOnShards();
        Map<String, Object> shard = shardStats("busy").get(0);
        assertThat(((Number) shard.get("documents_rejected")).longValue(), equalTo(0L));
        assertThat(shard.get("fatal_exception"), nullValue());
        assertNull(ClusterMetadata.index(internalCluster().clusterService().state(), ".mongo-follow-rejected"));
    }

    public void testInvalidDeadLetterIndexNameIsRefused() throws Exception {
        org.elasticsearch.client.ResponseException e = expectThrows(
            org.elasticsearch.client.ResponseException.class,
            () -> putFollow("bad", "dl", "bad", "\"dead_letter_index\": \"Not Valid\"")
        );
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(new String(e.getResponse().getEntity().getContent().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), containsString("[dead_letter_index]"));
    }

    /** The letter of a copied document: operation "copy" at version t0, in the shard the document routes to. */
    private void assertCopyLetter(Map<String, Map<String, Object>> letters, String id, OplogPosition t0, String reason, String document) {
        Map<String, Object> letter = letters.get(id);
        assertNotNull("no letter for document [" + id + "] in " + letters, letter);
        assertThat(letter.get("operation"), equalTo("copy"));
        assertThat(letter.get("position"), equalTo(t0.toString()));
        assertThat(((Number) letter.get("version")).longValue(), equalTo(t0.timestamp() - DocumentVersions.DEFAULT_BASE));
        assertThat((String) letter.get("reason"), containsString(reason));
        assertThat((String) letter.get("document"), containsString(document));
        assertThat(letter.get("namespace"), equalTo("dl.copied"));
        IndexMetadata index = ClusterMetadata.index(internalCluster().clusterService().state(), (String) letter.get("follower_index"));
        assertThat(letter.get("shard"), equalTo(IndexRouting.fromIndexMetadata(index).getShard(id, null)));
        assertNotNull(letter.get("@timestamp"));
    }

    private static BsonDocument doc(int id) {
        return new BsonDocument("_id", new BsonInt32(id));
    }

    private Object followerInfoParameter(String index, String field) throws Exception {
        Map<String, Object> info = followerInfo(index);
        @SuppressWarnings("unchecked")
        Map<String, Object> parameters = (Map<String, Object>) info.get("parameters");
        return parameters == null ? info.get(field) : parameters.get(field);
    }

    /** The letters of {@code followerIndex} in {@code deadLetterIndex} by document id, once there are {@code count}. */
    private Map<String, Map<String, Object>> awaitLetters(String deadLetterIndex, String followerIndex, int count) throws Exception {
        Map<String, Map<String, Object>> letters = new HashMap<>();
        assertBusy(() -> {
            assertNotNull("no dead-letter index yet", ClusterMetadata.index(internalCluster().clusterService().state(), deadLetterIndex));
            try {
                indicesAdmin().prepareRefresh(deadLetterIndex).get();
            } catch (org.elasticsearch.index.IndexNotFoundException e) {
                // the node the client talks to has not applied the cluster state that created it yet
                throw new AssertionError("the dead-letter index is not known to every node yet", e);
            }
            letters.clear();
            List<Object> all = new java.util.ArrayList<>();
            assertResponse(prepareSearch(deadLetterIndex).setSize(100), (SearchResponse response) -> {
                for (SearchHit hit : response.getHits().getHits()) {
                    Map<String, Object> letter = hit.getSourceAsMap();
                    all.add(letter);
                    if (followerIndex.equals(letter.get("follower_index"))) {
                        letters.put((String) letter.get("document_id"), letter);
                    }
                }
            });
            assertThat("letters " + all, letters.size(), equalTo(count));
        }, 30, TimeUnit.SECONDS);
        return letters;
    }

    /** The letter of document {@code id} has the position of its oplog entry, the reason and the original document. */
    private void assertLetter(Map<String, Map<String, Object>> letters, String id, String op, int mongoId, String reason, String document) {
        Map<String, Object> letter = letters.get(id);
        assertNotNull("no letter for document [" + id + "] in " + letters, letter);
        BsonDocument entry = mongoClient.getDatabase("local")
            .getCollection("oplog.rs", BsonDocument.class)
            .find(Filters.and(Filters.eq("op", op), Filters.or(Filters.eq("o._id", mongoId), Filters.eq("o2._id", mongoId))))
            .sort(new BsonDocument("$natural", new BsonInt32(-1)))
            .first();
        assertNotNull("no oplog entry for " + op + " of " + mongoId, entry);
        BsonTimestamp ts = entry.getTimestamp("ts");
        assertThat(letter.get("position"), equalTo(Integer.toUnsignedLong(ts.getTime()) + ":" + Integer.toUnsignedLong(ts.getInc())));
        // a follow created now versions from 2004-01-10 (DocumentVersions), so that its versions last until 2072
        assertThat(((Number) letter.get("version")).longValue(), equalTo(((Integer.toUnsignedLong(ts.getTime()) - (1L << 30)) << 32) | Integer.toUnsignedLong(ts.getInc())));
        assertThat((String) letter.get("reason"), containsString(reason));
        assertThat((String) letter.get("document"), containsString(document));
        assertThat(letter.get("shard"), equalTo(0));
        assertNotNull(letter.get("@timestamp"));
        assertThat(List.of("index", "update_v2", "update_v1"), org.hamcrest.Matchers.hasItem(letter.get("operation")));
    }
}

package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.operation.DocumentIds;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThan;

/**
 * {@code on_delete: {"mark": ..}}: a document MongoDB deletes stays in the follower index as it was, marked with
 * {@code deleted: true} and the time of its delete; a later insert of the same {@code _id} replaces it; a resync keeps the
 * marks and their times, and a dropped collection leaves every document marked.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class SoftDeleteIT extends MongoFollowIntegTestCase {

    private static final String MARK = "\"on_delete\": {\"mark\": {\"field\": \"deleted\", \"at_field\": \"deleted_at\"}}";

    private static BsonDocument item(int id, String name) {
        return new BsonDocument("_id", new BsonInt32(id)).append("name", new BsonString(name)).append("n", new BsonInt32(id));
    }

    public void testDeletedDocumentsStayMarked() throws Exception {
        MongoCollection<BsonDocument> items = collection("soft", "items");
        items.drop();
        for (int i = 0; i < 50; i++) {
            items.insertOne(item(i, "item " + i));
        }
        call(followRequest("soft", mongo.connectionString(), "soft", "items", MARK + ", \"settings\": {\"number_of_shards\": 2, "
            + "\"number_of_replicas\": 1}"));
        assertThat(((Map<?, ?>) followerInfo("soft").get("parameters")).get("on_delete"),
            equalTo(Map.of("mark", Map.of("field", "deleted", "at_field", "deleted_at"))));
        assertBusy(() -> assertThat(copyState("soft"), equalTo("done")), 60, TimeUnit.SECONDS);

        // what MongoDB deletes: each document as it was last, marked
        Map<String, Map<String, Object>> deleted = new HashMap<>();
        items.updateOne(Filters.eq("_id", 3), Updates.set("name", "renamed before its delete"));
        for (int i = 0; i < 10; i++) {
            BsonDocument last = items.find(Filters.eq("_id", i)).first();
            items.deleteOne(Filters.eq("_id", i));
            deleted.put(Integer.toString(i), BsonToJson.toSource(last));
        }
        items.insertOne(item(5, "inserted again")); // replaces the marked document
        deleted.remove("5");
        // a document the follower refused (NaN), then deleted: a stub with the marks only
        items.insertOne(new BsonDocument("_id", new BsonInt32(99)).append("n", new org.bson.BsonDouble(Double.NaN)));
        items.deleteOne(Filters.eq("_id", 99));
        deleted.put("99", Map.of());
        assertConverges("soft", () -> expected(items, deleted));
        Map<String, Map<String, Object>> marked = indexedDocuments("soft");
        Instant at = Instant.parse((String) marked.get("0").get("deleted_at"));
        assertThat(Duration.between(at, Instant.now()).abs().toMinutes(), lessThan(10L));

        // a resync's sweep finds the deleted documents gone and keeps their marks and times
        assertThat(call("POST", "/soft/_mongo_follow/_resync").get("acknowledged"), equalTo(true));
        assertBusy(() -> assertThat(copyState("soft"), equalTo("done")), 60, TimeUnit.SECONDS);
        assertConverges("soft", () -> expected(items, deleted));
        assertThat(indexedDocuments("soft").get("0").get("deleted_at"), equalTo(marked.get("0").get("deleted_at")));

        // a drop deletes every document: all marked
        for (BsonDocument document : items.find()) {
            deleted.put(DocumentIds.toElasticsearchId(document.get("_id")), BsonToJson.toSource(document));
        }
        items.drop();
        assertConverges("soft", () -> expected(items, deleted));
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testInvalidMarksAreRefused() throws Exception {
        assertRefused("\"on_delete\": \"remove\"", "[on_delete] must be [delete] or");
        assertRefused("\"on_delete\": {\"mark\": {\"at_field\": \"t\"}}", "[on_delete.mark.field] is required");
        assertRefused("\"on_delete\": {\"mark\": {\"field\": \"_deleted\"}}", "[on_delete.mark.field] must be a top-level field name");
        assertRefused("\"on_delete\": {\"mark\": {\"field\": \"a\", \"at_field\": \"a\"}}", "must differ");
        assertRefused("\"on_delete\": {\"mark\": {\"field\": \"a\", \"when\": \"b\"}}", "takes [field] and [at_field], not [when]");
        assertFalse(indexExists("refused"));
    }

    /** The collection's documents, and the deleted ones marked (their time as the index has it: checked apart). */
    private Map<String, Map<String, Object>> expected(MongoCollection<BsonDocument> items, Map<String, Map<String, Object>> deleted)
        throws IOException {
        Map<String, Map<String, Object>> expected = expectedDocuments(items);
        Map<String, Map<String, Object>> indexed = indexedDocuments("soft");
        for (var entry : deleted.entrySet()) {
            Map<String, Object> document = new HashMap<>(entry.getValue());
            document.put("deleted", true);
            Map<String, Object> current = indexed.get(entry.getKey());
            document.put("deleted_at", current == null ? "missing" : current.get("deleted_at"));
            expected.put(entry.getKey(), normalize(document));
        }
        return expected;
    }

    private void assertRefused(String body, String reason) throws Exception {
        ResponseException e = expectThrows(ResponseException.class,
            () -> call(followRequest("refused", mongo.connectionString(), "soft", "refused", body)));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(new String(e.getResponse().getEntity().getContent().readAllBytes(), StandardCharsets.UTF_8), containsString(reason));
    }
}

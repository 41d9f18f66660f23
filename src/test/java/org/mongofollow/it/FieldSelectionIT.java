package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.apply.FieldSelection;
import org.mongofollow.compat.TestApis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

/**
 * {@code fields.include} / {@code fields.exclude}: copied documents, inserts, replacements and updates (in place,
 * and those the selected copy cannot take, looked up) all end as the selected part of MongoDB's documents.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class FieldSelectionIT extends MongoFollowIntegTestCase {

    private static final FieldSelection FIELDS = new FieldSelection(
        List.of("name", "address", "orders.total", "tags"),
        List.of("address.geo")
    );

    private static final String FIELDS_BODY = "\"fields\": {\"include\": [\"name\", \"address\", \"orders.total\", \"tags\"], "
        + "\"exclude\": \"address.geo\"}";

    private Map<String, Object> put(String index, String collection, String extra) throws Exception {
        return call(
            followRequest(index, mongo.connectionString(), "sel", collection, "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}, " + extra)
        );
    }

    private static BsonDocument person(int id) {
        return new BsonDocument("_id", new BsonInt32(id))
            .append("name", new BsonString("person " + id))
            .append("ssn", new BsonString("000-" + id))
            .append("address", new BsonDocument("city", new BsonString("city " + id % 7))
                .append("geo", new BsonDocument("lat", new BsonDouble(id)).append("lon", new BsonDouble(-id))))
            .append("orders", new BsonArray(List.of(
                new BsonDocument("total", new BsonInt32(id)).append("item", new BsonString("item " + id)),
                new BsonDocument("item", new BsonString("no total")))))
            .append("tags", new BsonArray(List.of(new BsonString("t" + id % 3))))
            // unselected values Elasticsearch would refuse: the documents are taken all the same
            .append("score", new BsonDouble(Double.NaN))
            .append("raw", new BsonDocument("a..b", new BsonInt32(1)));
    }

    public void testCopiesLogAndUpdatesKeepOnlyTheSelectedFields() throws Exception {
        MongoCollection<BsonDocument> people = collection("sel", "people");
        people.drop(); // the embedded MongoDB lives as long as the test class
        List<BsonDocument> before = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            before.add(person(i));
        }
        // a selected value Elasticsearch refuses: the copy's letter carries the selected fields only
        before.add(person(500).append("tags", new BsonArray(List.of(new BsonDouble(Double.NaN)))));
        people.insertMany(before);

        assertThat(put("people", "people", FIELDS_BODY).get("acknowledged"), equalTo(true));
        ensureGreen("people");
        @SuppressWarnings("unchecked")
        Map<String, Object> shown = (Map<String, Object>) ((Map<String, Object>) followerInfo("people").get("parameters")).get("fields");
        assertThat(shown, equalTo(Map.of("include", List.of("name", "address", "orders.total", "tags"), "exclude", List.of("address.geo"))));

        for (int i = 200; i < 260; i++) {
            people.insertOne(person(i));
        }
        people.replaceOne(Filters.eq("_id", 1), new BsonDocument("_id", new BsonInt32(1)).append("name", new BsonString("replaced"))
            .append("ssn", new BsonString("x")));
        people.updateOne(Filters.eq("_id", 2), Updates.set("name", "renamed"));
        people.updateOne(Filters.eq("_id", 3), Updates.set("address.geo.lat", 1.5));          // excluded: nothing changes
        people.updateOne(Filters.eq("_id", 4), Updates.set("ssn", "changed"));                 // unselected: nothing changes
        people.updateOne(Filters.eq("_id", 5), Updates.push("orders", new BsonDocument("total", new BsonInt32(99)).append("item", new BsonString("new"))));
        people.updateOne(Filters.eq("_id", 6), Updates.set("orders.0.item", "changed item"));  // unselected part of a selected array
        people.updateOne(Filters.eq("_id", 7), Updates.set("orders.0.total", 1234));           // the copy cannot place it: looked up
        people.updateOne(Filters.eq("_id", 8), Updates.set("orders.1.total", 5));              // an element without a total gets one
        people.updateOne(Filters.eq("_id", 9), Updates.unset("address.city"));
        people.updateOne(Filters.eq("_id", 10), Updates.set("address", new BsonDocument("geo", new BsonInt32(0))));
        people.updateOne(Filters.eq("_id", 11), Updates.rename("name", "former_name"));
        people.updateOne(Filters.eq("_id", 12), Updates.addToSet("tags", "new tag"));
        people.updateOne(Filters.eq("_id", 13), Updates.set("orders", new BsonArray()));
        people.updateOne(Filters.eq("_id", 14), Updates.set("score", 1.0));
        people.updateOne(Filters.eq("_id", 201), Updates.set("address.city", "changed city"));
        people.deleteOne(Filters.eq("_id", 15));
        people.deleteOne(Filters.eq("_id", 202));
        people.insertOne(person(501).append("tags", new BsonArray(List.of(new BsonDouble(Double.POSITIVE_INFINITY)))));

        people.deleteMany(Filters.in("_id", 500, 501)); // refused: not in the index, so not expected there
        assertConverges("people", people, FIELDS);
        assertBusy(() -> {
            long rejected = 0;
            for (Map<String, Object> shard : shardStats("people")) {
                rejected += ((Number) shard.get("documents_rejected")).longValue();
            }
            assertThat("only the refused selected value counts, not the unselected ones", rejected, equalTo(1L));
        }, 30, TimeUnit.SECONDS);
        assertBusy(() -> {
            indicesAdmin().prepareRefresh(".mongo-follow-rejected").get();
            assertResponse(prepareSearch(".mongo-follow-rejected").setQuery(QueryBuilders.termQuery("follower_index", "people")), r -> {
                assertThat(TestApis.totalHits(r.getHits()), equalTo(2L));
                for (SearchHit hit : r.getHits().getHits()) {
                    String document = (String) hit.getSourceAsMap().get("document");
                    assertThat(document, containsString("\"name\": \"person 50"));
                    assertThat("a letter never holds unselected fields: " + document, document, not(containsString("ssn")));
                    assertThat(document, not(containsString("geo")));
                }
            });
        }, 30, TimeUnit.SECONDS);
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testInvalidSelectionsAreRefusedAndNoIndexIsCreated() throws Exception {
        assertRefused("\"fields\": {\"include\": [\"a.*\"]}", "[fields.include] [a.*] has a wildcard");
        assertRefused("\"fields\": {\"exclude\": [\"_id\"]}", "[fields.exclude] [_id]");
        assertRefused("\"fields\": {\"includes\": [\"a\"]}", "includes");
        assertRefused("\"fields\": {\"include\": [\"a..b\"]}", "is not a dotted path");
        assertFalse(indexExists("refused"));
    }

    private void assertRefused(String body, String reason) throws Exception {
        ResponseException e = expectThrows(ResponseException.class, () -> put("refused", "refused", body));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(new String(e.getResponse().getEntity().getContent().readAllBytes(), StandardCharsets.UTF_8), containsString(reason));
    }
}

package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.elasticsearch.action.get.GetResponse;
import org.mongofollow.operation.OplogPosition;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertAcked;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

/**
 * A follow across 2038-01-19T03:14:08Z, when the oplog's seconds stop fitting a signed 32-bit number (2^31): the embedded
 * MongoDB's clock starts on that day and the test moves it to a few seconds before the boundary (however long the
 * cluster took to start), the follow copies what was written before, and the writes after it are
 * applied in order with versions that keep growing.
 */
@MongoFollowIntegTestCase.MongoClockAt("2038-01-19T02:00:00Z")
public class Year2038IT extends MongoFollowIntegTestCase {

    private static final long SECONDS_2038 = 1L << 31;

    /**
     * One test, in this order: the clock runs from the suite's start. A follow into a new index goes on past the boundary;
     * a follow into an index that already took writes (they may be an earlier follow's, versioned as timestamps) stops
     * there with an explanation.
     */
    public void testAFollowGoesOnPast2038AndOneIntoAnIndexThatHeldDocumentsStopsExplained() throws Exception {
        mongoClock.moveTo(java.time.Instant.parse("2038-01-19T03:14:02Z")); // forward: oplog timestamps never go back
        assertAcked(prepareCreate("kept").setSettings(org.elasticsearch.common.settings.Settings.builder().put("index.number_of_shards", 1).put("index.number_of_replicas", 0)));
        client().prepareIndex("kept").setId("earlier").setSource("n", 1).get();
        MongoCollection<BsonDocument> kept = collection("y2038", "kept");
        call(followRequest("kept", mongo.connectionString(), "y2038", "kept", "\"initial_copy\": false"));
        MongoCollection<BsonDocument> items = collection("y2038", "items");
        for (int i = 0; i < 20; i++) {
            items.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)).append("when", new BsonString("before")));
        }
        assertThat("the test starts before the boundary", lastOplogSeconds(), org.hamcrest.Matchers.lessThan(SECONDS_2038));
        call(followRequest("y2038", mongo.connectionString(), "y2038", "items", "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 0}"));
        ensureGreen("y2038");
        assertConverges("y2038", items);
        long versionBefore = version("5");

        // the oplog crosses 2^31 seconds: wait for an entry past it (the server's clock runs on from 03:14:02)
        assertBusy(() -> {
            items.updateOne(Filters.eq("_id", 0), Updates.inc("n", 1));
            assertThat(lastOplogSeconds(), greaterThan(SECONDS_2038 - 1));
        }, 30, TimeUnit.SECONDS);
        for (int i = 0; i < 20; i += 2) {
            items.updateOne(Filters.eq("_id", i), Updates.set("when", new BsonString("after")));
        }
        items.deleteOne(Filters.eq("_id", 3));
        items.replaceOne(Filters.eq("_id", 5), new BsonDocument("_id", new BsonInt32(5)).append("replaced", new BsonInt32(2038)));
        for (int i = 20; i < 30; i++) {
            items.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(i)).append("when", new BsonString("after")));
        }
        assertConverges("y2038", items);

        // versions keep growing across the boundary, and the checkpoints are past it
        assertThat(version("5"), greaterThan(versionBefore));
        assertBusy(() -> {
            List<Map<String, Object>> shards = shardStats("y2038");
            assertThat(shards.size(), equalTo(2));
            for (Map<String, Object> shard : shards) {
                assertNotNull(shard.toString(), shard.get("checkpoint")); // (an assertion: assertBusy retries it)
                assertThat(shard.toString(), OplogPosition.parse((String) shard.get("checkpoint")).seconds(), greaterThan(SECONDS_2038 - 1));
                assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
            }
        });

        // _info says how far each follow can version
        assertThat(followerInfo("y2038").get("document_versions"), equalTo(Map.of("from", "1073741824:0", "until", "3221225471:4294967295")));
        assertThat(followerInfo("kept").get("document_versions"), equalTo(Map.of("from", "0:0", "until", "2147483647:4294967295")));

        kept.insertOne(new BsonDocument("_id", new BsonInt32(1)));
        assertBusy(() -> {
            Map<String, Object> shard = shardStats("kept").get(0);
            assertThat(shard.toString(), shard.get("status"), equalTo("failed"));
            @SuppressWarnings("unchecked")
            Map<String, Object> fatal = (Map<String, Object>) shard.get("fatal_exception");
            String reason = (String) fatal.get("reason");
            java.util.regex.Matcher position = java.util.regex.Pattern.compile("oplog position \\[([0-9]+:[0-9]+)\\]").matcher(reason);
            assertTrue(reason, position.find());
            assertThat(reason, OplogPosition.parse(position.group(1)).seconds(), greaterThan(SECONDS_2038 - 1));
            assertThat(reason, org.hamcrest.Matchers.containsString("cannot be a document version of this follow"));
            assertThat(reason, org.hamcrest.Matchers.containsString("follow the collection into a new index to go past 2038"));
        }, 30, TimeUnit.SECONDS);
        assertFalse("nothing past the boundary was written with a wrapped version", client().prepareGet("kept", "1").get().isExists());
    }

    private static long lastOplogSeconds() {
        BsonDocument last = mongoClient.getDatabase("local")
            .getCollection("oplog.rs", BsonDocument.class)
            .find()
            .sort(new BsonDocument("$natural", new BsonInt32(-1)))
            .first();
        BsonTimestamp ts = last.getTimestamp("ts");
        return Integer.toUnsignedLong(ts.getTime());
    }

    private long version(String id) {
        GetResponse get = client().prepareGet("y2038", id).get();
        assertTrue("document " + id + " is indexed", get.isExists());
        return get.getVersion();
    }
}

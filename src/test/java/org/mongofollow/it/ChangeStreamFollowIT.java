package org.mongofollow.it;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions;
import com.mongodb.client.model.CreateCollectionOptions;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.notNullValue;

/**
 * Follows in change-stream mode ({@code "source": "change_stream"}) on a two-node cluster, with the embedded MongoDB refusing
 * every read of its oplog ({@code refuseOplogReads}), as for a user without read access to {@code local}: the follows
 * must read nothing but the collection's change stream and the collection itself.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0)
public class ChangeStreamFollowIT extends MongoFollowIntegTestCase {

    private static final String SHARDING = "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}";

    @Override
    public void setUp() throws Exception {
        super.setUp();
        mongo.refuseOplogReads(true);
    }

    @Override
    public void tearDown() throws Exception {
        mongo.refuseOplogReads(false);
        super.tearDown();
    }

    public void testAWorkloadWithTransactionsPausesANodeLossAndADropEndsExact() throws Exception {
        MongoCollection<BsonDocument> items = collection("stream", "items");
        RandomWorkload workload = new RandomWorkload(items, randomLong(), 200);
        workload.run(200); // before the follow: the initial copy brings these
        Random random = new Random(randomLong());
        call(followRequest("items", mongo.connectionString(), "stream", "items", SHARDING
            + ", \"source\": \"change_stream\", \"checkpoint_interval\": \"100ms\", \"max_read_request_operation_count\": " + between(20, 500)));
        ensureGreen("items");
        assertThat(parameters("items").get("source"), equalTo("change_stream"));
        runWithTransactions(workload, items, random, 300);
        assertConverges("items", items);
        assertReadsTheChangeStream("items", "stream.items");
        for (Map<String, Object> shard : shardStats("items")) {
            // the change stream's own resume token at or before the checkpoint, opaque, as MongoDB gave it
            @SuppressWarnings("unchecked")
            Map<String, Object> resume = (Map<String, Object>) shard.get("resume_point");
            assertThat(shard.toString(), resume, notNullValue());
            assertThat(shard.toString(), ((Map<?, ?>) resume.get("token")).get("_data"), instanceOf(String.class));
        }

        // each shard stores its resume point with its next checkpoint (published every checkpoint_interval): wait for both
        // before pausing, since a pause stops the tasks before a publication still to come
        assertBusy(() -> {
            FollowMetadata published = FollowMetadata.of(ClusterMetadata.index(clusterService().state(), "items"));
            assertThat(published, notNullValue());
            assertThat(published.toString(), published.resumePoint(0), notNullValue());
            assertThat(published.toString(), published.resumePoint(1), notNullValue());
        });
        call("POST", "/items/_mongo_follow/_pause");
        assertBusy(() -> assertThat(shardStats("items").size(), equalTo(0)));
        // each shard stored its resume point with its checkpoint: a token the official driver resumes after
        FollowMetadata stored = FollowMetadata.of(ClusterMetadata.index(clusterService().state(), "items"));
        List<ResumePoint> points = List.of(stored.resumePoint(0), stored.resumePoint(1));
        for (int shard = 0; shard < 2; shard++) {
            assertThat(stored.toString(), points.get(shard), notNullValue());
            assertThat(points.get(shard).position().compareTo(stored.checkpoint(shard)), lessThanOrEqualTo(0));
        }
        runWithTransactions(workload, items, random, 200);
        for (ResumePoint point : points) {
            try (MongoChangeStreamCursor<ChangeStreamDocument<BsonDocument>> stream = items.watch().resumeAfter(point.tokenDocument()).cursor()) {
                ChangeStreamDocument<BsonDocument> next = null;
                for (int tries = 0; next == null && tries < 50; tries++) {
                    next = stream.tryNext();
                }
                assertThat(next, notNullValue());
                assertThat(OplogPosition.of(next.getClusterTime()).after(point.position()), equalTo(true));
            }
        }
        call("POST", "/items/_mongo_follow/_resume");
        assertConverges("items", items);

        String node = nodeRunningShardTask("items", 0);
        internalCluster().restartNode(node);
        runWithTransactions(workload, items, random, 200);
        ensureGreen("items");
        assertConverges("items", items);

        items.drop(); // the drop event empties the index; the follow goes on with the collection made again
        assertConverges("items", items);
        runWithTransactions(workload, items, random, 200);
        assertConverges("items", items);
        for (Map<String, Object> shard : shardStats("items")) {
            assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
        }
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testUpdatesAreAppliedFromTheirDescriptions() throws Exception {
        // a collection that records pre- and post-images, for the follow of post-images
        mongoClient.getDatabase("stream").createCollection("shapes", new CreateCollectionOptions()
            .changeStreamPreAndPostImagesOptions(new ChangeStreamPreAndPostImagesOptions(true)));
        MongoCollection<BsonDocument> shapes = collection("stream", "shapes");
        call(followRequest("shapes", mongo.connectionString(), "stream", "shapes", "\"source\": \"change_stream\""));
        // the same updates narrowed to selected fields (those a truncated array reaches are looked up), and as looked up
        call(followRequest("shapes-selected", mongo.connectionString(), "stream", "shapes",
            "\"source\": \"change_stream\", \"fields\": {\"include\": [\"a\", \"list\", \"nested.arr.k\"]}"));
        call(followRequest("shapes-looked-up", mongo.connectionString(), "stream", "shapes",
            "\"source\": \"change_stream\", \"full_document\": \"update_lookup\""));
        call(followRequest("shapes-post-images", mongo.connectionString(), "stream", "shapes",
            "\"source\": \"change_stream\", \"full_document\": \"when_available\", \"fields\": {\"include\": [\"a\", \"list\", \"nested.arr.k\"]}"));
        ensureGreen("shapes", "shapes-selected", "shapes-looked-up", "shapes-post-images");
        shapes.insertOne(BsonDocument.parse("{_id: 1, a: {b: {c: 2}}, m: {'1': 'x', '2': 'y'}, list: [1, 2, 3, 4, 5]}"));
        shapes.insertOne(BsonDocument.parse("{_id: 2, nested: {arr: [{k: 1}, {k: 2}, {k: 3}]}, gone: true}"));
        shapes.updateOne(Filters.eq("_id", 1), Updates.set("a.b.c", 3));
        shapes.updateOne(Filters.eq("_id", 1), Updates.set("m.1", "z")); // a numeric field name, not an array index
        shapes.updateOne(Filters.eq("_id", 1), Updates.popLast("list")); // a truncated array
        shapes.updateOne(Filters.eq("_id", 1), Updates.pullAll("list", List.of(2, 3)));
        shapes.updateOne(Filters.eq("_id", 2), Updates.combine(Updates.set("nested.arr.1.k", 20), Updates.unset("gone")));
        shapes.updateOne(Filters.eq("_id", 2), Updates.push("nested.arr", new BsonDocument("k", new BsonInt32(4))));
        assertConverges("shapes", shapes);
        assertConverges("shapes-selected", shapes, new org.mongofollow.apply.FieldSelection(List.of("a", "list", "nested.arr.k"), List.of()));
        assertConverges("shapes-looked-up", shapes);
        // the post-images, narrowed to the selected fields as any indexed document is
        assertConverges("shapes-post-images", shapes, new org.mongofollow.apply.FieldSelection(List.of("a", "list", "nested.arr.k"), List.of()));
        assertThat(parameters("shapes-looked-up").get("full_document"), equalTo("update_lookup"));
        Map<String, Object> one = indexedDocuments("shapes").get("1");
        assertThat(one.toString(), one.get("a"), equalTo(Map.of("b", Map.of("c", 3))));
        assertThat(one.toString(), one.get("m"), equalTo(Map.of("1", "z", "2", "y")));
        assertThat(one.toString(), one.get("list"), equalTo(List.of(1, 4)));
    }

    public void testAutoReadsTheOplogWhereItIsReadableAndTheChangeStreamElsewhere() throws Exception {
        MongoCollection<BsonDocument> things = collection("stream", "things");
        things.insertOne(new BsonDocument("_id", new BsonInt32(1)));
        call(followRequest("restricted", mongo.connectionString(), "stream", "things", "\"source\": \"auto\""));
        assertThat(parameters("restricted").get("source"), equalTo("change_stream"));
        mongo.refuseOplogReads(false);
        call(followRequest("open", mongo.connectionString(), "stream", "things", "\"source\": \"auto\""));
        assertThat(parameters("open").get("source"), equalTo("oplog"));
        things.insertOne(new BsonDocument("_id", new BsonInt32(2)).append("tags", new BsonArray(List.of(new BsonString("t")))));
        assertConverges("restricted", things);
        assertConverges("open", things);
        assertReadsTheChangeStream("restricted", "stream.things");

        // an option of change streams only
        ResponseException refused = expectThrows(
            ResponseException.class,
            () -> call(followRequest("wrong", mongo.connectionString(), "stream", "things", "\"full_document\": \"update_lookup\""))
        );
        assertThat(refused.getResponse().getStatusLine().getStatusCode(), equalTo(400));
        assertThat(new String(refused.getResponse().getEntity().getContent().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8),
            containsString("[full_document] is an option of change streams"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parameters(String index) throws Exception {
        return (Map<String, Object>) followerInfo(index).get("parameters");
    }

    /** The workload's steps, with a transaction of several writes every so often. */
    private static void runWithTransactions(RandomWorkload workload, MongoCollection<BsonDocument> items, Random random, int steps) {
        for (int i = 0; i < steps; i += 10) {
            workload.run(10);
            if (random.nextInt(3) == 0) {
                try (ClientSession session = mongoClient.startSession()) {
                    session.withTransaction(() -> {
                        int base = 1000 + random.nextInt(50);
                        items.deleteOne(session, Filters.eq("_id", base + 1));
                        items.insertOne(session, new BsonDocument("_id", new BsonInt32(base + 1)).append("txn", new BsonInt32(random.nextInt())));
                        items.updateOne(session, Filters.eq("_id", base + 1), Updates.inc("txn", 1));
                        items.updateMany(session, Filters.lt("_id", random.nextInt(200)), Updates.inc("qty", 1));
                        return null;
                    });
                }
            }
        }
    }

    /** The follow's feed is the collection's change stream (the `_stats` feeds name it). */
    @SuppressWarnings("unchecked")
    private static void assertReadsTheChangeStream(String index, String namespace) throws Exception {
        List<Map<String, Object>> feeds = (List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_stats").get("feeds");
        List<String> names = feeds.stream().map(f -> (String) f.get("source")).toList();
        assertThat(names.toString(), names.stream().filter(n -> n.endsWith(" change stream of " + namespace)).count(), greaterThan(0L));
        assertThat(names, org.hamcrest.Matchers.not(hasItem(org.hamcrest.Matchers.not(containsString("change stream")))));
    }
}

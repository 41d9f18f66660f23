package org.mongofollow.metadata;

import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.types.ObjectId;
import org.elasticsearch.test.ESTestCase;
import org.mongofollow.source.MongoEndpoint;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.metadata.FollowBudgets;

import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

public class CopyStateTests extends ESTestCase {

    private static CopyState planned() {
        return CopyState.start(OplogPosition.of(1_700_000_007, 3), true, "30s", 1234)
            .withPlan(
                100,
                true,
                List.of(
                    new CopyState.Range(null, new BsonInt64(10), null, 0, false),
                    new CopyState.Range(new BsonInt64(10), new BsonString("m"), new BsonInt32(12), 2, false),
                    new CopyState.Range(new BsonString("m"), null, new BsonObjectId(new ObjectId()), 40, true)
                )
            );
    }

    public void testRoundTripsThroughTheFollowersCustomMetadata() {
        FollowParameters parameters = new FollowParameters.Builder().connection("mongodb://127.0.0.1:1/?replicaSet=rs0")
            .database("db")
            .collection("c")
            .build();
        CopyState copy = planned().withProgress(planned().ranges(), 50, 3).withFailure("boom");
        FollowMetadata follow = new FollowMetadata(parameters, FollowMetadata.Status.ACTIVE, Map.of(0, OplogPosition.of(1_700_000_000, 5)), copy, new DocumentVersions(1L << 62));
        FollowMetadata parsed = FollowMetadata.fromCustomData(follow.toCustomData());
        assertThat(parsed, equalTo(follow));
        assertThat(parsed.copy().ranges().get(1).upper(), equalTo(new BsonString("m")));
        assertThat(parsed.copy().ranges().get(0).upper(), equalTo(new BsonInt64(10)));
        assertThat(parsed.copy().documentsRead(), equalTo(50L));
        assertThat(parsed.copy().documentsRejected(), equalTo(3L));
        assertThat(parsed.baseFloor(), equalTo(follow.copy().t0().timestamp() - (1L << 62)));
        assertThat(parsed.versions(), equalTo(new DocumentVersions(1L << 62)));
        Map<String, String> older = new java.util.HashMap<>(follow.toCustomData());
        older.remove("copy.documents_rejected"); // stored before the count existed
        assertThat(FollowMetadata.fromCustomData(older).copy().documentsRejected(), equalTo(0L));
        FollowMetadata withoutCopy = new FollowMetadata(parameters, FollowMetadata.Status.PAUSED, Map.of(0, OplogPosition.of(7, 5)), null, DocumentVersions.IDENTITY);
        assertThat(FollowMetadata.fromCustomData(withoutCopy.toCustomData()).copy(), nullValue());
        assertThat(withoutCopy.baseFloor(), equalTo(0L));
    }

    public void testMergeMovesRangesForwardOnlyAndIgnoresOtherCopies() {
        CopyState stored = planned();
        List<CopyState.Range> behind = List.of(
            new CopyState.Range(null, new BsonInt64(10), new BsonInt64(5), 5, false),
            new CopyState.Range(new BsonInt64(10), new BsonString("m"), null, 0, false),
            new CopyState.Range(new BsonString("m"), null, null, 0, false)
        );
        CopyState merged = stored.merge(stored.withProgress(behind, 70, 4));
        assertThat(merged.ranges().get(0).copied(), equalTo(5L));
        assertThat(merged.ranges().get(1).copied(), equalTo(2L));
        assertTrue(merged.ranges().get(2).done());
        assertThat(merged.documentsRead(), equalTo(70L));
        assertThat(merged.documentsRejected(), equalTo(4L));
        CopyState late = merged.merge(stored.withProgress(behind, 60, 2)); // an older update never takes the counts back
        assertThat(late.documentsRead(), equalTo(70L));
        assertThat(late.documentsRejected(), equalTo(4L));
        CopyState other = CopyState.start(OplogPosition.of(1_700_000_009, 0), true, "", 1).withPlan(1, false, behind);
        assertThat(stored.merge(other), equalTo(stored));
        assertThat(stored.merge(stored.done()).state(), equalTo(CopyState.State.DONE));
        assertThat(stored.done().merge(stored.withProgress(behind, 1, 1)).state(), equalTo(CopyState.State.DONE));
    }

    public void testInitialCopyAcceptsABooleanOrAnObject() throws Exception {
        String body = "{\"connection\":\"mongodb://127.0.0.1:1/?replicaSet=rs0\",\"database\":\"d\",\"collection\":\"c\","
            + "\"initial_copy\":{\"enabled\":true,\"max_concurrent_ranges\":3,\"batch_size\":50},\"on_history_lost\":\"resync\"}";
        try (var parser = createParser(org.elasticsearch.xcontent.json.JsonXContent.jsonXContent, body)) {
            FollowParameters parameters = FollowParameters.fromXContent(parser);
            assertTrue(parameters.initialCopy());
            assertThat(parameters.copyMaxConcurrentRanges(), equalTo(3));
            assertThat(parameters.copyBatchSize(), equalTo(50));
            assertThat(parameters.onHistoryLost(), equalTo(FollowParameters.OnHistoryLost.RESYNC));
            // stored form (flat) parses back to the same
            try (var again = createParser(org.elasticsearch.xcontent.json.JsonXContent.jsonXContent, org.elasticsearch.common.Strings.toString(parameters))) {
                assertThat(FollowParameters.fromXContent(again), equalTo(parameters));
            }
        }
        String flat = "{\"connection\":\"mongodb://127.0.0.1:1/?replicaSet=rs0\",\"database\":\"d\",\"collection\":\"c\",\"initial_copy\":false}";
        try (var parser = createParser(org.elasticsearch.xcontent.json.JsonXContent.jsonXContent, flat)) {
            FollowParameters parameters = FollowParameters.fromXContent(parser);
            assertFalse(parameters.initialCopy());
            assertThat(parameters.onHistoryLost(), equalTo(FollowParameters.OnHistoryLost.FAIL));
        }
        String bad = "{\"connection\":\"mongodb://127.0.0.1:1/?replicaSet=rs0\",\"database\":\"d\",\"collection\":\"c\",\"on_history_lost\":\"ignore\"}";
        try (var parser = createParser(org.elasticsearch.xcontent.json.JsonXContent.jsonXContent, bad)) {
            Exception e = expectThrows(Exception.class, () -> FollowParameters.fromXContent(parser));
            assertThat(org.elasticsearch.ExceptionsHelper.unwrapCause(e).getMessage() + " " + e.getCause(), org.hamcrest.Matchers.containsString("on_history_lost"));
        }
        assertNotNull(MongoEndpoint.class);
        assertNotNull(FollowBudgets.class);
    }
}

package org.mongofollow.action;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.test.ESTestCase;

import java.io.IOException;
import java.util.List;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

public class FollowStatsActionTests extends ESTestCase {

    public void testRequestRoundTripsOverTheWire() throws IOException {
        FollowStatsAction.Request request = new FollowStatsAction.Request(generateRandomStringArray(5, 10, false, true));
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            request.writeTo(out);
            FollowStatsAction.Request read = new FollowStatsAction.Request(out.bytes().streamInput());
            assertThat(read, equalTo(request));
        }
    }

    public void testNoIndexOrAllMeansEveryFollower() {
        assertTrue(new FollowStatsAction.Request().allFollowers());
        assertTrue(new FollowStatsAction.Request("_all").allFollowers());
        assertTrue(new FollowStatsAction.Request("*").allFollowers());
        assertFalse(new FollowStatsAction.Request("a").allFollowers());
        assertFalse(new FollowStatsAction.Request("*", "b").allFollowers());
    }

    public void testResponseGroupsShardStatusesByFollowerIndex() {
        FollowStatsAction.Response response = new FollowStatsAction.Response(
            java.util.Map.of("a", "active", "b", "paused"),
            List.of(),
            List.of(),
            List.of()
        );
        assertThat(
            Strings.toString(response),
            equalTo(
                "{\"indices\":[{\"index\":\"a\",\"status\":\"active\",\"initial_copy\":{\"state\":\"none\"},\"shards\":[]},"
                    + "{\"index\":\"b\",\"status\":\"paused\",\"initial_copy\":{\"state\":\"none\"},\"shards\":[]}]}"
            )
        );
        assertThat(Strings.toString(new FollowStatsAction.Response(java.util.Map.of(), List.of(), List.of(), List.of())), equalTo("{\"indices\":[]}"));
    }

    public void testCopyStatsShowProgressRateAndPercent() {
        org.mongofollow.metadata.CopyState copy = org.mongofollow.metadata.CopyState.start(new org.mongofollow.operation.OplogPosition(5L << 32), true, "", 1_000)
            .withPlan(
                1000,
                false,
                List.of(
                    new org.mongofollow.metadata.CopyState.Range(null, new org.bson.BsonInt32(500), new org.bson.BsonInt32(499), 500, true),
                    new org.mongofollow.metadata.CopyState.Range(new org.bson.BsonInt32(500), null, new org.bson.BsonInt32(749), 250, false)
                )
            );
        FollowStatsAction.CopyStats stats = new FollowStatsAction.CopyStats(copy, 3_000);
        assertThat(stats.state(), equalTo("running"));
        assertThat(stats.percent(), equalTo(75.0));
        assertThat(stats.rate(), equalTo(375.0));
        assertThat(
            Strings.toString(stats),
            equalTo(
                "{\"state\":\"running\",\"resync\":true,\"start_position\":\"" + copy.t0() + "\",\"documents_copied\":750,\"documents_read\":0,\"documents_rejected\":0,"
                    + "\"documents_total_estimate\":1000,\"ranges_done\":1,\"ranges_total\":2,\"percent\":75.0,\"rate\":375.0,"
                    + "\"estimated_time_remaining_in_millis\":667}"
            )
        );
        // 250 documents left at 375 a second; ?human adds the readable form
        assertThat(stats.estimatedTimeRemaining(), equalTo(org.elasticsearch.core.TimeValue.timeValueMillis(667)));
        assertThat(Strings.toString(stats, false, true), containsString("\"estimated_time_remaining\":\"667ms\",\"estimated_time_remaining_in_millis\":667"));
        // nothing copied yet, or failed: no estimate
        assertNull(new FollowStatsAction.CopyStats(copy.withProgress(List.of(), 0, 0), 3_000).estimatedTimeRemaining());
        assertNull(new FollowStatsAction.CopyStats(copy.withFailure("boom"), 3_000).estimatedTimeRemaining());
        assertThat(new FollowStatsAction.CopyStats(copy.done(), 3_000).percent(), equalTo(100.0));
        assertThat(new FollowStatsAction.CopyStats(null, 3_000).state(), equalTo("none"));
    }
}

package org.mongofollow.action;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.test.ESTestCase;

import java.io.IOException;
import java.util.List;

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
            equalTo("{\"indices\":[{\"index\":\"a\",\"status\":\"active\",\"shards\":[]},{\"index\":\"b\",\"status\":\"paused\",\"shards\":[]}]}")
        );
        assertThat(Strings.toString(new FollowStatsAction.Response(java.util.Map.of(), List.of(), List.of(), List.of())), equalTo("{\"indices\":[]}"));
    }
}

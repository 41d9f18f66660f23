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

    public void testResponseRendersIndicesWithTheirShards() {
        FollowStatsAction.Response response = new FollowStatsAction.Response(
            List.of(new FollowStatsAction.IndexStats("a", List.of()), new FollowStatsAction.IndexStats("b", List.of()))
        );
        assertThat(Strings.toString(response), equalTo("{\"indices\":[{\"index\":\"a\",\"shards\":[]},{\"index\":\"b\",\"shards\":[]}]}"));
        assertThat(Strings.toString(new FollowStatsAction.Response(List.of())), equalTo("{\"indices\":[]}"));
    }
}

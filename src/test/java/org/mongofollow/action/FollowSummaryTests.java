package org.mongofollow.action;

import org.elasticsearch.common.Strings;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.task.ShardFollowStatus;
import org.junit.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;

public class FollowSummaryTests {

    private static ShardFollowStatus shard(int id, OplogPosition checkpoint, long lag, Map<String, OplogPosition> mongodbShards) {
        return new ShardFollowStatus(
            "orders", id, "mongodb://h1:27017/shop.orders", "active", OplogPosition.of(1700000100, 1), null, checkpoint, lag,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), -1, null, null, mongodbShards
        );
    }

    private static String json(FollowSummary summary) throws IOException {
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.startObject();
            summary.toXContent(builder, ToXContent.EMPTY_PARAMS);
            builder.endObject();
            return Strings.toString(builder);
        }
    }

    @Test
    public void theLowestCheckpointAndTheHighestLagOverTheFollowerShards() throws IOException {
        FollowSummary summary = FollowSummary.of(List.of(
            shard(0, OplogPosition.of(1700000090, 4), 10_000, Map.of()),
            shard(1, OplogPosition.of(1700000080, 9), 20_000, Map.of()),
            shard(2, OplogPosition.of(1700000095, 1), -1, Map.of())
        ), 3);
        assertEquals("{\"checkpoint\":\"1700000080:9\",\"lag_millis\":20000}", json(summary));
    }

    @Test
    public void perMongodbShardTheFollowerShardFurthestBehind() throws IOException {
        FollowSummary summary = FollowSummary.of(List.of(
            shard(0, OplogPosition.of(1700000090, 1), 0, Map.of("shard0", OplogPosition.of(1700000095, 1), "shard1", OplogPosition.of(1700000090, 1))),
            shard(1, OplogPosition.of(1700000080, 1), 0, Map.of("shard0", OplogPosition.of(1700000099, 1), "shard1", OplogPosition.of(1700000085, 2)))
        ), 2);
        // shard0: read to 95 at the least; 99 - 80 = 19 s behind at the most (follower shard 1). shard1: 85:2, 90 - 90 = 0 and 85 - 80 = 5 s
        assertEquals(
            "{\"checkpoint\":\"1700000080:1\",\"lag_millis\":0,\"mongodb_shards\":["
                + "{\"shard\":\"shard0\",\"read_to\":\"1700000095:1\",\"lag_millis\":19000},"
                + "{\"shard\":\"shard1\",\"read_to\":\"1700000085:2\",\"lag_millis\":5000}]}",
            json(summary)
        );
    }

    @Test
    public void nothingWithoutACheckpointOfEveryShard() throws IOException {
        assertEquals("{}", json(FollowSummary.of(List.of(), 2))); // paused: no shard tasks
        // a shard that did not answer (its task not running, its node not reached): the lowest checkpoint is not known
        assertEquals("{}", json(FollowSummary.of(List.of(shard(0, OplogPosition.of(1700000090, 1), 0, Map.of())), 2)));
        assertEquals("{}", json(FollowSummary.of(List.of(
            shard(0, OplogPosition.of(1700000090, 1), 0, Map.of()),
            shard(1, null, -1, Map.of())
        ), 2)));
    }
}

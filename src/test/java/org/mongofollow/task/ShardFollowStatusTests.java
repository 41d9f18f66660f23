package org.mongofollow.task;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.junit.Test;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

public class ShardFollowStatusTests {

    static ShardFollowStatus randomStatus(Random r) {
        List<ShardFollowStatus.ReadException> readExceptions = new ArrayList<>();
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            readExceptions.add(new ShardFollowStatus.ReadException(randomPosition(r), 1 + r.nextInt(100),
                new ShardFollowStatus.ExceptionInfo("timeout_exception", r.nextBoolean() ? null : "timed out " + i)));
        }
        return new ShardFollowStatus(
            "index-" + r.nextInt(10),
            r.nextInt(100),
            "mongodb://h" + r.nextInt(3) + ":27017/db.coll",
            r.nextBoolean() ? "active" : "failed",
            r.nextBoolean() ? null : randomPosition(r),
            randomPosition(r),
            randomPosition(r),
            r.nextBoolean() ? -1 : r.nextInt(1_000_000),
            r.nextInt(12),
            r.nextInt(9),
            r.nextInt(100_000),
            Math.abs(r.nextLong()),
            Math.abs(r.nextLong()),
            r.nextInt(1000),
            Math.abs(r.nextLong()),
            r.nextInt(1 << 30),
            Math.abs(r.nextLong()) >>> 8,
            r.nextInt(1 << 20),
            r.nextInt(1 << 20),
            r.nextInt(1000),
            Math.abs(r.nextLong()) >>> 2,
            r.nextInt(50),
            r.nextInt(1 << 20),
            readExceptions,
            r.nextBoolean() ? -1 : r.nextInt(100_000),
            r.nextBoolean() ? null : new ShardFollowStatus.ExceptionInfo("illegal_state_exception", "history lost"),
            r.nextBoolean() ? null : new ResumePoint(randomPosition(r), "{\"_data\": \"8265" + Integer.toHexString(r.nextInt()).toUpperCase(java.util.Locale.ROOT) + "\"}"),
            r.nextBoolean() ? java.util.Map.of() : java.util.Map.of("shard0", randomPosition(r), "shard1", randomPosition(r))
        );
    }

    static OplogPosition randomPosition(Random r) {
        return OplogPosition.of(r.nextInt(Integer.MAX_VALUE), r.nextInt());
    }

    @Test
    public void testWriteableRoundTrip() throws IOException {
        Random r = new Random(7);
        for (int i = 0; i < 100; i++) {
            ShardFollowStatus status = randomStatus(r);
            try (BytesStreamOutput out = new BytesStreamOutput()) {
                status.writeTo(out);
                try (StreamInput in = out.bytes().streamInput()) {
                    assertEquals(status, new ShardFollowStatus(in));
                }
            }
        }
    }

    @Test
    public void testXContent() {
        ShardFollowStatus status = new ShardFollowStatus(
            "follower", 1, "mongodb://h1:27017/db.coll", "active",
            OplogPosition.of(1700000100, 3), OplogPosition.of(1700000090, 1), OplogPosition.of(1700000080, 7), 20_000,
            2, 1, 10, 1000, 5, 1, 300, 40, 9000, 12, 4, 0, 290, 1, 30,
            List.of(new ShardFollowStatus.ReadException(OplogPosition.of(1700000090, 1), 2,
                new ShardFollowStatus.ExceptionInfo("connect_exception", "refused"))),
            15, null, null, java.util.Map.of()
        );
        assertEquals(
            "{\"index\":\"follower\",\"shard_id\":1,\"source\":\"mongodb://h1:27017/db.coll\",\"status\":\"active\","
                + "\"source_head_position\":\"1700000100:3\",\"last_requested_position\":\"1700000090:1\","
                + "\"checkpoint\":\"1700000080:7\",\"lag_millis\":20000,\"outstanding_read_requests\":2,"
                + "\"outstanding_write_requests\":1,\"write_buffer_operation_count\":10,\"write_buffer_size_in_bytes\":1000,"
                + "\"successful_read_requests\":5,\"failed_read_requests\":1,\"operations_read\":300,\"operations_skipped\":40,"
                + "\"bytes_read\":9000,\"total_read_time_millis\":12,\"successful_write_requests\":4,\"failed_write_requests\":0,"
                + "\"operations_written\":290,\"documents_rejected\":1,\"total_write_time_millis\":30,"
                + "\"read_exceptions\":[{\"from_position\":\"1700000090:1\",\"retries\":2,"
                + "\"exception\":{\"type\":\"connect_exception\",\"reason\":\"refused\"}}],"
                + "\"time_since_last_read_millis\":15,\"fatal_exception\":null}",
            Strings.toString(status)
        );
    }

    @Test
    public void testResumePointShowsItsPositionAndTheTokenAsMongoDBGaveIt() {
        ShardFollowStatus status = new ShardFollowStatus(
            "follower", 0, "mongodb://h1:27017/db.coll", "active", null, null, OplogPosition.of(1700000080, 7), 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), -1, null, null, java.util.Map.of()
        ).withResumePoint(new ResumePoint(OplogPosition.of(1700000080, 5), "{\"_data\": \"8265B3A9100000000522\"}"));
        assertTrue(Strings.toString(status), Strings.toString(status).endsWith(
            "\"fatal_exception\":null,\"resume_point\":{\"position\":\"1700000080:5\",\"token\":{\"_data\":\"8265B3A9100000000522\"}}}"));
    }

    @Test
    public void testExceptionInfoUsesElasticsearchTypeNames() {
        ShardFollowStatus.ExceptionInfo info = ShardFollowStatus.ExceptionInfo.of(new IllegalArgumentException("bad"));
        assertEquals("illegal_argument_exception", info.type());
        assertEquals("bad", info.reason());
    }

    @Test
    public void testTheShardsOfAShardedClusterAreListedByName() {
        ShardFollowStatus status = new ShardFollowStatus(
            "follower", 0, "mongodb://h1:27017/db.coll", "active", null, null, OplogPosition.of(1700000080, 7), 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), -1, null, null, java.util.Map.of()
        ).withMongodbShards(java.util.Map.of("shard1", OplogPosition.of(1700000090, 2), "shard0", OplogPosition.of(1700000081, 1)));
        assertTrue(Strings.toString(status), Strings.toString(status).endsWith("\"fatal_exception\":null,\"mongodb_shards\":["
            + "{\"shard\":\"shard0\",\"read_to\":\"1700000081:1\",\"lag_millis\":1000},"
            + "{\"shard\":\"shard1\",\"read_to\":\"1700000090:2\",\"lag_millis\":10000}]}"));
    }
}

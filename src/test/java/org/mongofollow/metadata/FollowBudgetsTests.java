package org.mongofollow.metadata;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.xcontent.ToXContentObject;
import org.junit.Test;

import java.io.IOException;
import java.util.Random;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

public class FollowBudgetsTests {

    @Test
    public void testDefaultsAreCcrs() {
        FollowBudgets b = FollowBudgets.DEFAULT;
        assertEquals(5120, b.maxReadRequestOperationCount());
        assertEquals(12, b.maxOutstandingReadRequests());
        assertEquals(ByteSizeValue.ofMb(32), b.maxReadRequestSize());
        assertEquals(5120, b.maxWriteRequestOperationCount());
        assertEquals(Long.MAX_VALUE, b.maxWriteRequestSize().getBytes());
        assertEquals(9, b.maxOutstandingWriteRequests());
        assertEquals(Integer.MAX_VALUE, b.maxWriteBufferCount());
        assertEquals(ByteSizeValue.ofMb(512), b.maxWriteBufferSize());
        assertEquals(TimeValue.timeValueMillis(500), b.maxRetryDelay());
        assertEquals(TimeValue.timeValueMinutes(1), b.readPollTimeout());
        assertEquals(TimeValue.timeValueSeconds(1), b.checkpointInterval());
    }

    @Test
    public void testXContentUsesSnakeCaseAndEsRendering() {
        String json = Strings.toString((ToXContentObject) (builder, params) -> {
            builder.startObject();
            FollowBudgets.DEFAULT.toXContent(builder, params);
            return builder.endObject();
        });
        assertEquals(
            "{\"max_read_request_operation_count\":5120,\"max_outstanding_read_requests\":12,\"max_read_request_size\":\"32mb\","
                + "\"max_write_request_operation_count\":5120,\"max_write_request_size\":\"9223372036854775807b\","
                + "\"max_outstanding_write_requests\":9,\"max_write_buffer_count\":2147483647,\"max_write_buffer_size\":\"512mb\","
                + "\"max_retry_delay\":\"500ms\",\"read_poll_timeout\":\"1m\",\"checkpoint_interval\":\"1s\"}",
            json
        );
    }

    @Test
    public void testWriteableRoundTrip() throws IOException {
        Random random = new Random(42);
        for (int i = 0; i < 50; i++) {
            FollowBudgets budgets = FollowBudgets.builder()
                .maxReadRequestOperationCount(1 + random.nextInt(10000))
                .maxOutstandingReadRequests(1 + random.nextInt(20))
                .maxReadRequestSize(ByteSizeValue.ofBytes(1 + random.nextInt(1 << 30)))
                .maxWriteRequestOperationCount(1 + random.nextInt(10000))
                .maxWriteRequestSize(ByteSizeValue.ofKb(1 + random.nextInt(1000)))
                .maxOutstandingWriteRequests(1 + random.nextInt(20))
                .maxWriteBufferCount(1 + random.nextInt(Integer.MAX_VALUE - 1))
                .maxWriteBufferSize(ByteSizeValue.ofMb(1 + random.nextInt(1000)))
                .maxRetryDelay(TimeValue.timeValueMillis(1 + random.nextInt(300_000)))
                .readPollTimeout(TimeValue.timeValueSeconds(1 + random.nextInt(100)))
                .checkpointInterval(TimeValue.timeValueMillis(1 + random.nextInt(10_000)))
                .build();
            try (BytesStreamOutput out = new BytesStreamOutput()) {
                budgets.writeTo(out);
                try (StreamInput in = out.bytes().streamInput()) {
                    FollowBudgets read = new FollowBudgets(in);
                    assertEquals(budgets, read);
                    assertEquals(budgets.hashCode(), read.hashCode());
                }
            }
            assertEquals(budgets, budgets.toBuilder().build());
        }
    }

    @Test
    public void testValidationNamesTheField() {
        assertMessage("[max_read_request_operation_count] must be positive, got [0]",
            FollowBudgets.builder().maxReadRequestOperationCount(0));
        assertMessage("[max_outstanding_read_requests] must be positive, got [-1]",
            FollowBudgets.builder().maxOutstandingReadRequests(-1));
        assertMessage("[max_read_request_size] must be positive, got [0]",
            FollowBudgets.builder().maxReadRequestSize(ByteSizeValue.ZERO));
        assertMessage("[max_write_request_operation_count] must be positive, got [0]",
            FollowBudgets.builder().maxWriteRequestOperationCount(0));
        assertMessage("[max_write_request_size] must be positive, got [-1]",
            FollowBudgets.builder().maxWriteRequestSize(ByteSizeValue.MINUS_ONE));
        assertMessage("[max_outstanding_write_requests] must be positive, got [0]",
            FollowBudgets.builder().maxOutstandingWriteRequests(0));
        assertMessage("[max_write_buffer_count] must be positive, got [0]", FollowBudgets.builder().maxWriteBufferCount(0));
        assertMessage("[max_write_buffer_size] must not be null", FollowBudgets.builder().maxWriteBufferSize(null));
        assertMessage("[max_retry_delay] must be positive, got [0ms]", FollowBudgets.builder().maxRetryDelay(TimeValue.ZERO));
        assertMessage("[max_retry_delay] must be at most [5m], got [6m]",
            FollowBudgets.builder().maxRetryDelay(TimeValue.timeValueMinutes(6)));
        assertMessage("[read_poll_timeout] must be positive, got [-1]",
            FollowBudgets.builder().readPollTimeout(TimeValue.MINUS_ONE));
        assertMessage("[checkpoint_interval] must be positive, got [0ms]",
            FollowBudgets.builder().checkpointInterval(TimeValue.ZERO));
    }

    private static void assertMessage(String message, FollowBudgets.Builder builder) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertEquals(message, e.getMessage());
    }

}

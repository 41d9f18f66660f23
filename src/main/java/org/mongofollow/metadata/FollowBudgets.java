package org.mongofollow.metadata;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.Objects;

/**
 * The budgets of a follow (DESIGN.md section 4): how much one follower shard reads, buffers and writes at a time, and how
 * it retries. One immutable, validated value shared by the REST request, the transport request, the persistent task params
 * and the coordinator. Defaults are CCR's where CCR has one.
 * <p>
 * Rendered as a fragment (the budget fields, no enclosing object), so it can sit inside a request or an info body.
 * Parsing is the ES layer's (an {@code ObjectParser} on a {@link Builder}, with the {@code ParseField} constants here).
 */
public final class FollowBudgets implements Writeable, ToXContentFragment {

    public static final ParseField MAX_READ_REQUEST_OPERATION_COUNT = new ParseField("max_read_request_operation_count");
    public static final ParseField MAX_OUTSTANDING_READ_REQUESTS = new ParseField("max_outstanding_read_requests");
    public static final ParseField MAX_READ_REQUEST_SIZE = new ParseField("max_read_request_size");
    public static final ParseField MAX_WRITE_REQUEST_OPERATION_COUNT = new ParseField("max_write_request_operation_count");
    public static final ParseField MAX_WRITE_REQUEST_SIZE = new ParseField("max_write_request_size");
    public static final ParseField MAX_OUTSTANDING_WRITE_REQUESTS = new ParseField("max_outstanding_write_requests");
    public static final ParseField MAX_WRITE_BUFFER_COUNT = new ParseField("max_write_buffer_count");
    public static final ParseField MAX_WRITE_BUFFER_SIZE = new ParseField("max_write_buffer_size");
    public static final ParseField MAX_RETRY_DELAY = new ParseField("max_retry_delay");
    public static final ParseField READ_POLL_TIMEOUT = new ParseField("read_poll_timeout");
    public static final ParseField CHECKPOINT_INTERVAL = new ParseField("checkpoint_interval");

    public static final int DEFAULT_MAX_READ_REQUEST_OPERATION_COUNT = 5120;
    public static final int DEFAULT_MAX_OUTSTANDING_READ_REQUESTS = 12;
    public static final ByteSizeValue DEFAULT_MAX_READ_REQUEST_SIZE = ByteSizeValue.ofMb(32);
    public static final int DEFAULT_MAX_WRITE_REQUEST_OPERATION_COUNT = 5120;
    /** Unbounded, as CCR's. */
    public static final ByteSizeValue DEFAULT_MAX_WRITE_REQUEST_SIZE = ByteSizeValue.ofBytes(Long.MAX_VALUE);
    public static final int DEFAULT_MAX_OUTSTANDING_WRITE_REQUESTS = 9;
    /** Unbounded, as CCR's. */
    public static final int DEFAULT_MAX_WRITE_BUFFER_COUNT = Integer.MAX_VALUE;
    public static final ByteSizeValue DEFAULT_MAX_WRITE_BUFFER_SIZE = ByteSizeValue.ofMb(512);
    public static final TimeValue DEFAULT_MAX_RETRY_DELAY = TimeValue.timeValueMillis(500);
    public static final TimeValue DEFAULT_READ_POLL_TIMEOUT = TimeValue.timeValueMinutes(1);
    public static final TimeValue DEFAULT_CHECKPOINT_INTERVAL = TimeValue.timeValueSeconds(1);

    /** As CCR: a longer retry delay would hide a stuck follow for too long. */
    public static final TimeValue MAX_RETRY_DELAY_LIMIT = TimeValue.timeValueMinutes(5);

    public static final FollowBudgets DEFAULT = builder().build();

    private final int maxReadRequestOperationCount;
    private final int maxOutstandingReadRequests;
    private final ByteSizeValue maxReadRequestSize;
    private final int maxWriteRequestOperationCount;
    private final ByteSizeValue maxWriteRequestSize;
    private final int maxOutstandingWriteRequests;
    private final int maxWriteBufferCount;
    private final ByteSizeValue maxWriteBufferSize;
    private final TimeValue maxRetryDelay;
    private final TimeValue readPollTimeout;
    private final TimeValue checkpointInterval;

    public FollowBudgets(
        int maxReadRequestOperationCount,
        int maxOutstandingReadRequests,
        ByteSizeValue maxReadRequestSize,
        int maxWriteRequestOperationCount,
        ByteSizeValue maxWriteRequestSize,
        int maxOutstandingWriteRequests,
        int maxWriteBufferCount,
        ByteSizeValue maxWriteBufferSize,
        TimeValue maxRetryDelay,
        TimeValue readPollTimeout,
        TimeValue checkpointInterval
    ) {
        this.maxReadRequestOperationCount = positive(MAX_READ_REQUEST_OPERATION_COUNT, maxReadRequestOperationCount);
        this.maxOutstandingReadRequests = positive(MAX_OUTSTANDING_READ_REQUESTS, maxOutstandingReadRequests);
        this.maxReadRequestSize = positive(MAX_READ_REQUEST_SIZE, maxReadRequestSize);
        this.maxWriteRequestOperationCount = positive(MAX_WRITE_REQUEST_OPERATION_COUNT, maxWriteRequestOperationCount);
        this.maxWriteRequestSize = positive(MAX_WRITE_REQUEST_SIZE, maxWriteRequestSize);
        this.maxOutstandingWriteRequests = positive(MAX_OUTSTANDING_WRITE_REQUESTS, maxOutstandingWriteRequests);
        this.maxWriteBufferCount = positive(MAX_WRITE_BUFFER_COUNT, maxWriteBufferCount);
        this.maxWriteBufferSize = positive(MAX_WRITE_BUFFER_SIZE, maxWriteBufferSize);
        this.maxRetryDelay = positive(MAX_RETRY_DELAY, maxRetryDelay);
        if (maxRetryDelay.compareTo(MAX_RETRY_DELAY_LIMIT) > 0) {
            throw new IllegalArgumentException(
                "[" + MAX_RETRY_DELAY.getPreferredName() + "] must be at most [" + MAX_RETRY_DELAY_LIMIT.getStringRep()
                    + "], got [" + maxRetryDelay.getStringRep() + "]"
            );
        }
        this.readPollTimeout = positive(READ_POLL_TIMEOUT, readPollTimeout);
        this.checkpointInterval = positive(CHECKPOINT_INTERVAL, checkpointInterval);
    }

    public FollowBudgets(StreamInput in) throws IOException {
        this(
            in.readVInt(),
            in.readVInt(),
            ByteSizeValue.readFrom(in),
            in.readVInt(),
            ByteSizeValue.readFrom(in),
            in.readVInt(),
            in.readVInt(),
            ByteSizeValue.readFrom(in),
            in.readTimeValue(),
            in.readTimeValue(),
            in.readTimeValue()
        );
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeVInt(maxReadRequestOperationCount);
        out.writeVInt(maxOutstandingReadRequests);
        maxReadRequestSize.writeTo(out);
        out.writeVInt(maxWriteRequestOperationCount);
        maxWriteRequestSize.writeTo(out);
        out.writeVInt(maxOutstandingWriteRequests);
        out.writeVInt(maxWriteBufferCount);
        maxWriteBufferSize.writeTo(out);
        out.writeTimeValue(maxRetryDelay);
        out.writeTimeValue(readPollTimeout);
        out.writeTimeValue(checkpointInterval);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.field(MAX_READ_REQUEST_OPERATION_COUNT.getPreferredName(), maxReadRequestOperationCount);
        builder.field(MAX_OUTSTANDING_READ_REQUESTS.getPreferredName(), maxOutstandingReadRequests);
        builder.field(MAX_READ_REQUEST_SIZE.getPreferredName(), maxReadRequestSize.getStringRep());
        builder.field(MAX_WRITE_REQUEST_OPERATION_COUNT.getPreferredName(), maxWriteRequestOperationCount);
        builder.field(MAX_WRITE_REQUEST_SIZE.getPreferredName(), maxWriteRequestSize.getStringRep());
        builder.field(MAX_OUTSTANDING_WRITE_REQUESTS.getPreferredName(), maxOutstandingWriteRequests);
        builder.field(MAX_WRITE_BUFFER_COUNT.getPreferredName(), maxWriteBufferCount);
        builder.field(MAX_WRITE_BUFFER_SIZE.getPreferredName(), maxWriteBufferSize.getStringRep());
        builder.field(MAX_RETRY_DELAY.getPreferredName(), maxRetryDelay.getStringRep());
        builder.field(READ_POLL_TIMEOUT.getPreferredName(), readPollTimeout.getStringRep());
        builder.field(CHECKPOINT_INTERVAL.getPreferredName(), checkpointInterval.getStringRep());
        return builder;
    }

    private static int positive(ParseField field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("[" + field.getPreferredName() + "] must be positive, got [" + value + "]");
        }
        return value;
    }

    private static ByteSizeValue positive(ParseField field, ByteSizeValue value) {
        if (value == null) {
            throw new IllegalArgumentException("[" + field.getPreferredName() + "] must not be null");
        }
        if (value.getBytes() <= 0) {
            throw new IllegalArgumentException(
                "[" + field.getPreferredName() + "] must be positive, got [" + value.getStringRep() + "]"
            );
        }
        return value;
    }

    private static TimeValue positive(ParseField field, TimeValue value) {
        if (value == null) {
            throw new IllegalArgumentException("[" + field.getPreferredName() + "] must not be null");
        }
        if (value.nanos() <= 0) {
            throw new IllegalArgumentException(
                "[" + field.getPreferredName() + "] must be positive, got [" + value.getStringRep() + "]"
            );
        }
        return value;
    }

    public int maxReadRequestOperationCount() {
        return maxReadRequestOperationCount;
    }

    public int maxOutstandingReadRequests() {
        return maxOutstandingReadRequests;
    }

    public ByteSizeValue maxReadRequestSize() {
        return maxReadRequestSize;
    }

    public int maxWriteRequestOperationCount() {
        return maxWriteRequestOperationCount;
    }

    public ByteSizeValue maxWriteRequestSize() {
        return maxWriteRequestSize;
    }

    public int maxOutstandingWriteRequests() {
        return maxOutstandingWriteRequests;
    }

    public int maxWriteBufferCount() {
        return maxWriteBufferCount;
    }

    public ByteSizeValue maxWriteBufferSize() {
        return maxWriteBufferSize;
    }

    public TimeValue maxRetryDelay() {
        return maxRetryDelay;
    }

    public TimeValue readPollTimeout() {
        return readPollTimeout;
    }

    public TimeValue checkpointInterval() {
        return checkpointInterval;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this value, to change some budgets (for example on resume). */
    public Builder toBuilder() {
        return new Builder().maxReadRequestOperationCount(maxReadRequestOperationCount)
            .maxOutstandingReadRequests(maxOutstandingReadRequests)
            .maxReadRequestSize(maxReadRequestSize)
            .maxWriteRequestOperationCount(maxWriteRequestOperationCount)
            .maxWriteRequestSize(maxWriteRequestSize)
            .maxOutstandingWriteRequests(maxOutstandingWriteRequests)
            .maxWriteBufferCount(maxWriteBufferCount)
            .maxWriteBufferSize(maxWriteBufferSize)
            .maxRetryDelay(maxRetryDelay)
            .readPollTimeout(readPollTimeout)
            .checkpointInterval(checkpointInterval);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || getClass() != o.getClass()) {
            return false;
        }
        FollowBudgets that = (FollowBudgets) o;
        return maxReadRequestOperationCount == that.maxReadRequestOperationCount
            && maxOutstandingReadRequests == that.maxOutstandingReadRequests
            && maxWriteRequestOperationCount == that.maxWriteRequestOperationCount
            && maxOutstandingWriteRequests == that.maxOutstandingWriteRequests
            && maxWriteBufferCount == that.maxWriteBufferCount
            && maxReadRequestSize.equals(that.maxReadRequestSize)
            && maxWriteRequestSize.equals(that.maxWriteRequestSize)
            && maxWriteBufferSize.equals(that.maxWriteBufferSize)
            && maxRetryDelay.equals(that.maxRetryDelay)
            && readPollTimeout.equals(that.readPollTimeout)
            && checkpointInterval.equals(that.checkpointInterval);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
            maxReadRequestOperationCount,
            maxOutstandingReadRequests,
            maxReadRequestSize,
            maxWriteRequestOperationCount,
            maxWriteRequestSize,
            maxOutstandingWriteRequests,
            maxWriteBufferCount,
            maxWriteBufferSize,
            maxRetryDelay,
            readPollTimeout,
            checkpointInterval
        );
    }

    @Override
    public String toString() {
        return "FollowBudgets{read ops="
            + maxReadRequestOperationCount
            + ", outstanding reads="
            + maxOutstandingReadRequests
            + ", read size="
            + maxReadRequestSize
            + ", write ops="
            + maxWriteRequestOperationCount
            + ", write size="
            + maxWriteRequestSize
            + ", outstanding writes="
            + maxOutstandingWriteRequests
            + ", buffer count="
            + maxWriteBufferCount
            + ", buffer size="
            + maxWriteBufferSize
            + ", retry delay="
            + maxRetryDelay
            + ", poll timeout="
            + readPollTimeout
            + ", checkpoint interval="
            + checkpointInterval
            + "}";
    }

    /** Mutable, unvalidated; {@link #build()} validates. Every field starts at its default. */
    public static final class Builder {
        private int maxReadRequestOperationCount = DEFAULT_MAX_READ_REQUEST_OPERATION_COUNT;
        private int maxOutstandingReadRequests = DEFAULT_MAX_OUTSTANDING_READ_REQUESTS;
        private ByteSizeValue maxReadRequestSize = DEFAULT_MAX_READ_REQUEST_SIZE;
        private int maxWriteRequestOperationCount = DEFAULT_MAX_WRITE_REQUEST_OPERATION_COUNT;
        private ByteSizeValue maxWriteRequestSize = DEFAULT_MAX_WRITE_REQUEST_SIZE;
        private int maxOutstandingWriteRequests = DEFAULT_MAX_OUTSTANDING_WRITE_REQUESTS;
        private int maxWriteBufferCount = DEFAULT_MAX_WRITE_BUFFER_COUNT;
        private ByteSizeValue maxWriteBufferSize = DEFAULT_MAX_WRITE_BUFFER_SIZE;
        private TimeValue maxRetryDelay = DEFAULT_MAX_RETRY_DELAY;
        private TimeValue readPollTimeout = DEFAULT_READ_POLL_TIMEOUT;
        private TimeValue checkpointInterval = DEFAULT_CHECKPOINT_INTERVAL;

        private Builder() {}

        public Builder maxReadRequestOperationCount(int value) {
            this.maxReadRequestOperationCount = value;
            return this;
        }

        public Builder maxOutstandingReadRequests(int value) {
            this.maxOutstandingReadRequests = value;
            return this;
        }

        public Builder maxReadRequestSize(ByteSizeValue value) {
            this.maxReadRequestSize = value;
            return this;
        }

        public Builder maxWriteRequestOperationCount(int value) {
            this.maxWriteRequestOperationCount = value;
            return this;
        }

        public Builder maxWriteRequestSize(ByteSizeValue value) {
            this.maxWriteRequestSize = value;
            return this;
        }

        public Builder maxOutstandingWriteRequests(int value) {
            this.maxOutstandingWriteRequests = value;
            return this;
        }

        public Builder maxWriteBufferCount(int value) {
            this.maxWriteBufferCount = value;
            return this;
        }

        public Builder maxWriteBufferSize(ByteSizeValue value) {
            this.maxWriteBufferSize = value;
            return this;
        }

        public Builder maxRetryDelay(TimeValue value) {
            this.maxRetryDelay = value;
            return this;
        }

        public Builder readPollTimeout(TimeValue value) {
            this.readPollTimeout = value;
            return this;
        }

        public Builder checkpointInterval(TimeValue value) {
            this.checkpointInterval = value;
            return this;
        }

        public FollowBudgets build() {
            return new FollowBudgets(
                maxReadRequestOperationCount,
                maxOutstandingReadRequests,
                maxReadRequestSize,
                maxWriteRequestOperationCount,
                maxWriteRequestSize,
                maxOutstandingWriteRequests,
                maxWriteBufferCount,
                maxWriteBufferSize,
                maxRetryDelay,
                readPollTimeout,
                checkpointInterval
            );
        }
    }
}

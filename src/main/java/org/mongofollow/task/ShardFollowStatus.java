package org.mongofollow.task;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A snapshot of one follower shard's progress (DESIGN.md section 5), built by {@link ShardFollowCoordinator#getStatus} and
 * rendered by the stats APIs. The identity fields ({@code index}, {@code shard_id}, {@code source}, {@code status}) come
 * from the caller, who knows them; the rest from the coordinator.
 * <p>
 * Positions render as strings {@code "seconds:increment"} ({@link OplogPosition#toString()}). {@code lag_millis} is the
 * distance, in the oplog timestamps' wall-clock seconds, between the source head and the checkpoint (so second
 * resolution, 0 when the follower has applied everything committed), or -1 before anything is known.
 * {@code time_since_last_read_millis} is -1 before the first successful read.
 */
public record ShardFollowStatus(
    String index,
    int shardId,
    String source,
    String status,
    @Nullable OplogPosition sourceHeadPosition,
    @Nullable OplogPosition lastRequestedPosition,
    @Nullable OplogPosition checkpoint,
    long lagMillis,
    int outstandingReadRequests,
    int outstandingWriteRequests,
    int writeBufferOperationCount,
    long writeBufferSizeInBytes,
    long successfulReadRequests,
    long failedReadRequests,
    long operationsRead,
    long operationsSkipped,
    long bytesRead,
    long totalReadTimeMillis,
    long successfulWriteRequests,
    long failedWriteRequests,
    long operationsWritten,
    long documentsRejected,
    long totalWriteTimeMillis,
    List<ReadException> readExceptions,
    long timeSinceLastReadMillis,
    @Nullable ExceptionInfo fatalException,
    @Nullable ResumePoint resumePoint,
    Map<String, OplogPosition> mongodbShards
) implements Task.Status {

    public static final String NAME = "mongo-follow-shard-status";

    public static final ParseField INDEX = new ParseField("index");
    public static final ParseField SHARD_ID = new ParseField("shard_id");
    public static final ParseField SOURCE = new ParseField("source");
    public static final ParseField STATUS = new ParseField("status");
    public static final ParseField SOURCE_HEAD_POSITION = new ParseField("source_head_position");
    public static final ParseField LAST_REQUESTED_POSITION = new ParseField("last_requested_position");
    public static final ParseField CHECKPOINT = new ParseField("checkpoint");
    public static final ParseField LAG_MILLIS = new ParseField("lag_millis");
    public static final ParseField OUTSTANDING_READ_REQUESTS = new ParseField("outstanding_read_requests");
    public static final ParseField OUTSTANDING_WRITE_REQUESTS = new ParseField("outstanding_write_requests");
    public static final ParseField WRITE_BUFFER_OPERATION_COUNT = new ParseField("write_buffer_operation_count");
    public static final ParseField WRITE_BUFFER_SIZE_IN_BYTES = new ParseField("write_buffer_size_in_bytes");
    public static final ParseField SUCCESSFUL_READ_REQUESTS = new ParseField("successful_read_requests");
    public static final ParseField FAILED_READ_REQUESTS = new ParseField("failed_read_requests");
    public static final ParseField OPERATIONS_READ = new ParseField("operations_read");
    public static final ParseField OPERATIONS_SKIPPED = new ParseField("operations_skipped");
    public static final ParseField BYTES_READ = new ParseField("bytes_read");
    public static final ParseField TOTAL_READ_TIME_MILLIS = new ParseField("total_read_time_millis");
    public static final ParseField SUCCESSFUL_WRITE_REQUESTS = new ParseField("successful_write_requests");
    public static final ParseField FAILED_WRITE_REQUESTS = new ParseField("failed_write_requests");
    public static final ParseField OPERATIONS_WRITTEN = new ParseField("operations_written");
    public static final ParseField DOCUMENTS_REJECTED = new ParseField("documents_rejected");
    public static final ParseField TOTAL_WRITE_TIME_MILLIS = new ParseField("total_write_time_millis");
    public static final ParseField READ_EXCEPTIONS = new ParseField("read_exceptions");
    public static final ParseField TIME_SINCE_LAST_READ_MILLIS = new ParseField("time_since_last_read_millis");
    public static final ParseField FATAL_EXCEPTION = new ParseField("fatal_exception");
    public static final ParseField RESUME_POINT = new ParseField("resume_point");
    public static final ParseField MONGODB_SHARDS = new ParseField("mongodb_shards");
    public static final ParseField SHARD = new ParseField("shard");
    public static final ParseField READ_TO = new ParseField("read_to");
    public static final ParseField POSITION = new ParseField("position");
    public static final ParseField TOKEN = new ParseField("token");
    public static final ParseField FROM_POSITION = new ParseField("from_position");
    public static final ParseField RETRIES = new ParseField("retries");
    public static final ParseField EXCEPTION = new ParseField("exception");
    public static final ParseField TYPE = new ParseField("type");
    public static final ParseField REASON = new ParseField("reason");

    public ShardFollowStatus {
        Objects.requireNonNull(index, "index");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(status, "status");
        readExceptions = List.copyOf(readExceptions);
        mongodbShards = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(mongodbShards));
    }

    public ShardFollowStatus(StreamInput in) throws IOException {
        this(
            in.readString(),
            in.readVInt(),
            in.readString(),
            in.readString(),
            readOptionalPosition(in),
            readOptionalPosition(in),
            readOptionalPosition(in),
            in.readZLong(),
            in.readVInt(),
            in.readVInt(),
            in.readVInt(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readCollectionAsList(ReadException::new),
            in.readZLong(),
            in.readOptionalWriteable(ExceptionInfo::new),
            in.readBoolean() ? ResumePoint.fromStoredJson(in.readString()) : null,
            in.readMap(StreamInput::readString, i -> OplogPosition.ofTimestamp(i.readLong()))
        );
    }

    /** The same status with the change stream resume point at or before its checkpoint. */
    public ShardFollowStatus withResumePoint(@Nullable ResumePoint point) {
        return with(point, mongodbShards);
    }

    /** The same status with how far the node's feed has read each MongoDB shard's oplog (a sharded cluster in oplog mode). */
    public ShardFollowStatus withMongodbShards(Map<String, OplogPosition> shards) {
        return with(resumePoint, shards);
    }

    private ShardFollowStatus with(@Nullable ResumePoint point, Map<String, OplogPosition> shards) {
        return new ShardFollowStatus(
            index, shardId, source, status, sourceHeadPosition, lastRequestedPosition, checkpoint, lagMillis, outstandingReadRequests,
            outstandingWriteRequests, writeBufferOperationCount, writeBufferSizeInBytes, successfulReadRequests, failedReadRequests,
            operationsRead, operationsSkipped, bytesRead, totalReadTimeMillis, successfulWriteRequests, failedWriteRequests,
            operationsWritten, documentsRejected, totalWriteTimeMillis, readExceptions, timeSinceLastReadMillis, fatalException,
            point, shards
        );
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(index);
        out.writeVInt(shardId);
        out.writeString(source);
        out.writeString(status);
        writeOptionalPosition(out, sourceHeadPosition);
        writeOptionalPosition(out, lastRequestedPosition);
        writeOptionalPosition(out, checkpoint);
        out.writeZLong(lagMillis);
        out.writeVInt(outstandingReadRequests);
        out.writeVInt(outstandingWriteRequests);
        out.writeVInt(writeBufferOperationCount);
        out.writeVLong(writeBufferSizeInBytes);
        out.writeVLong(successfulReadRequests);
        out.writeVLong(failedReadRequests);
        out.writeVLong(operationsRead);
        out.writeVLong(operationsSkipped);
        out.writeVLong(bytesRead);
        out.writeVLong(totalReadTimeMillis);
        out.writeVLong(successfulWriteRequests);
        out.writeVLong(failedWriteRequests);
        out.writeVLong(operationsWritten);
        out.writeVLong(documentsRejected);
        out.writeVLong(totalWriteTimeMillis);
        out.writeCollection(readExceptions);
        out.writeZLong(timeSinceLastReadMillis);
        out.writeOptionalWriteable(fatalException);
        out.writeBoolean(resumePoint != null);
        if (resumePoint != null) {
            out.writeString(resumePoint.toStoredJson());
        }
        out.writeMap(mongodbShards, StreamOutput::writeString, (o, position) -> o.writeLong(position.timestamp()));
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field(INDEX.getPreferredName(), index);
        builder.field(SHARD_ID.getPreferredName(), shardId);
        builder.field(SOURCE.getPreferredName(), source);
        builder.field(STATUS.getPreferredName(), status);
        positionField(builder, SOURCE_HEAD_POSITION, sourceHeadPosition);
        positionField(builder, LAST_REQUESTED_POSITION, lastRequestedPosition);
        positionField(builder, CHECKPOINT, checkpoint);
        millisField(builder, LAG_MILLIS, "lag", lagMillis);
        builder.field(OUTSTANDING_READ_REQUESTS.getPreferredName(), outstandingReadRequests);
        builder.field(OUTSTANDING_WRITE_REQUESTS.getPreferredName(), outstandingWriteRequests);
        builder.field(WRITE_BUFFER_OPERATION_COUNT.getPreferredName(), writeBufferOperationCount);
        builder.humanReadableField(WRITE_BUFFER_SIZE_IN_BYTES.getPreferredName(), "write_buffer_size", ByteSizeValue.ofBytes(writeBufferSizeInBytes));
        builder.field(SUCCESSFUL_READ_REQUESTS.getPreferredName(), successfulReadRequests);
        builder.field(FAILED_READ_REQUESTS.getPreferredName(), failedReadRequests);
        builder.field(OPERATIONS_READ.getPreferredName(), operationsRead);
        builder.field(OPERATIONS_SKIPPED.getPreferredName(), operationsSkipped);
        builder.field(BYTES_READ.getPreferredName(), bytesRead);
        millisField(builder, TOTAL_READ_TIME_MILLIS, "total_read_time", totalReadTimeMillis);
        builder.field(SUCCESSFUL_WRITE_REQUESTS.getPreferredName(), successfulWriteRequests);
        builder.field(FAILED_WRITE_REQUESTS.getPreferredName(), failedWriteRequests);
        builder.field(OPERATIONS_WRITTEN.getPreferredName(), operationsWritten);
        builder.field(DOCUMENTS_REJECTED.getPreferredName(), documentsRejected);
        millisField(builder, TOTAL_WRITE_TIME_MILLIS, "total_write_time", totalWriteTimeMillis);
        builder.startArray(READ_EXCEPTIONS.getPreferredName());
        for (ReadException readException : readExceptions) {
            readException.toXContent(builder, params);
        }
        builder.endArray();
        millisField(builder, TIME_SINCE_LAST_READ_MILLIS, "time_since_last_read", timeSinceLastReadMillis);
        if (fatalException == null) {
            builder.nullField(FATAL_EXCEPTION.getPreferredName());
        } else {
            builder.field(FATAL_EXCEPTION.getPreferredName());
            fatalException.toXContent(builder, params);
        }
        if (resumePoint != null) {
            // MongoDB's token, opaque: what a change stream's resumeAfter takes, shown as the server gave it
            builder.startObject(RESUME_POINT.getPreferredName());
            builder.field(POSITION.getPreferredName(), resumePoint.position().toString());
            builder.field(TOKEN.getPreferredName());
            try (
                XContentParser parser = XContentType.JSON.xContent().createParser(XContentParserConfiguration.EMPTY, resumePoint.token())
            ) {
                builder.copyCurrentStructure(parser);
            }
            builder.endObject();
        }
        if (mongodbShards.isEmpty() == false) {
            // a sharded cluster in oplog mode: how far each shard's oplog has been read; the checkpoint is at or before all
            builder.startArray(MONGODB_SHARDS.getPreferredName());
            for (Map.Entry<String, OplogPosition> shard : mongodbShards.entrySet()) {
                builder.startObject().field(SHARD.getPreferredName(), shard.getKey()).field(READ_TO.getPreferredName(), shard.getValue().toString());
                millisField(builder, LAG_MILLIS, "lag", mongodbShardLagMillis(shard.getValue()));
                builder.endObject();
            }
            builder.endArray();
        }
        builder.endObject();
        return builder;
    }

    /**
     * How far this shard's checkpoint is behind what has been read of one MongoDB shard's oplog, in milliseconds (by the
     * positions' seconds; 0 when the checkpoint has passed it or is not known yet).
     */
    public long mongodbShardLagMillis(OplogPosition readTo) {
        return checkpoint == null ? 0 : Math.max(0L, ((long) readTo.seconds() - checkpoint.seconds()) * 1000L);
    }

    @Override
    public String toString() {
        return Strings.toString(this);
    }

    private static void positionField(XContentBuilder builder, ParseField field, @Nullable OplogPosition position)
        throws IOException {
        if (position == null) {
            builder.nullField(field.getPreferredName());
        } else {
            builder.field(field.getPreferredName(), position.toString());
        }
    }

    private static OplogPosition readOptionalPosition(StreamInput in) throws IOException {
        return in.readBoolean() ? OplogPosition.ofTimestamp(in.readLong()) : null;
    }

    private static void writeOptionalPosition(StreamOutput out, @Nullable OplogPosition position) throws IOException {
        out.writeBoolean(position != null);
        if (position != null) {
            out.writeLong(position.timestamp());
        }
    }

    /**
     * A duration in milliseconds, and with {@code ?human} the same readable ({@code "1.5s"}), as CCR's stats render theirs;
     * a negative one (not known yet) only as the number.
     */
    public static void millisField(XContentBuilder builder, ParseField rawField, String readableField, long millis) throws IOException {
        if (millis < 0) {
            builder.field(rawField.getPreferredName(), millis);
        } else {
            builder.humanReadableField(rawField.getPreferredName(), readableField, TimeValue.timeValueMillis(millis));
        }
    }

        /** An exception as the stats show it: its Elasticsearch-style type name and its message. */
    public record ExceptionInfo(String type, @Nullable String reason) implements Writeable, ToXContentObject {

        public ExceptionInfo {
            Objects.requireNonNull(type, "type");
        }

        public static ExceptionInfo of(Exception e) {
            // the cause, not the transport wrapper of a failure on another node; never a driver message naming a credential
            Throwable cause = org.elasticsearch.ExceptionsHelper.unwrapCause(e);
            Exception shown = cause instanceof Exception exception ? exception : e;
            return new ExceptionInfo(ElasticsearchException.getExceptionName(shown), org.mongofollow.source.MongoErrors.safeMessage(shown));
        }

        public ExceptionInfo(StreamInput in) throws IOException {
            this(in.readString(), in.readOptionalString());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(type);
            out.writeOptionalString(reason);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject();
            builder.field(TYPE.getPreferredName(), type);
            builder.field(REASON.getPreferredName(), reason);
            return builder.endObject();
        }
    }

    /** A read that failed and is being retried: the position its range starts after, how often it failed, the last error. */
    public record ReadException(OplogPosition fromPosition, int retries, ExceptionInfo exception)
        implements
            Writeable,
            ToXContentObject {

        public ReadException {
            Objects.requireNonNull(fromPosition, "fromPosition");
            Objects.requireNonNull(exception, "exception");
        }

        public ReadException(StreamInput in) throws IOException {
            this(OplogPosition.ofTimestamp(in.readLong()), in.readVInt(), new ExceptionInfo(in));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeLong(fromPosition.timestamp());
            out.writeVInt(retries);
            exception.writeTo(out);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            builder.startObject();
            builder.field(FROM_POSITION.getPreferredName(), fromPosition.toString());
            builder.field(RETRIES.getPreferredName(), retries);
            builder.field(EXCEPTION.getPreferredName());
            exception.toXContent(builder, params);
            return builder.endObject();
        }
    }
}

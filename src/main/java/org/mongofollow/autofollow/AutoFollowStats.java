package org.mongofollow.autofollow;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.task.ShardFollowStatus.ExceptionInfo;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * A pattern's stats, as the elected master's coordinator keeps them since it became master (as CCR's auto-follow stats):
 * the follows it started and failed to start, its polls, the collections its last poll skipped and why, and its recent
 * errors (the newest {@link Recorder#MAX_RECENT_ERRORS}).
 */
public record AutoFollowStats(
    String name,
    boolean active,
    int followedCollections,
    long successful,
    long failed,
    long polls,
    long lastPollMillis,
    List<Skipped> skipped,
    List<RecentError> recentErrors
) implements Writeable, ToXContentObject {

    /** A collection the last poll did not follow, and why. */
    public record Skipped(String namespace, String index, String reason) implements Writeable {
        Skipped(StreamInput in) throws IOException {
            this(in.readString(), in.readString(), in.readString());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(namespace);
            out.writeString(index);
            out.writeString(reason);
        }
    }

    /** An error of a poll: listing the collections (no namespace) or starting the follow of one. */
    public record RecentError(long timestampMillis, @Nullable String namespace, ExceptionInfo error) implements Writeable {
        RecentError(StreamInput in) throws IOException {
            this(in.readLong(), in.readOptionalString(), new ExceptionInfo(in));
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeLong(timestampMillis);
            out.writeOptionalString(namespace);
            error.writeTo(out);
        }
    }

    public AutoFollowStats {
        skipped = List.copyOf(skipped);
        recentErrors = List.copyOf(recentErrors);
    }

    public AutoFollowStats(StreamInput in) throws IOException {
        this(
            in.readString(),
            in.readBoolean(),
            in.readVInt(),
            in.readVLong(),
            in.readVLong(),
            in.readVLong(),
            in.readLong(),
            in.readCollectionAsList(Skipped::new),
            in.readCollectionAsList(RecentError::new)
        );
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(name);
        out.writeBoolean(active);
        out.writeVInt(followedCollections);
        out.writeVLong(successful);
        out.writeVLong(failed);
        out.writeVLong(polls);
        out.writeLong(lastPollMillis);
        out.writeCollection(skipped);
        out.writeCollection(recentErrors);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("name", name);
        builder.field("active", active);
        builder.field("followed_collections", followedCollections);
        builder.field("number_of_successful_follow_indices", successful);
        builder.field("number_of_failed_follow_indices", failed);
        builder.field("polls", polls);
        if (lastPollMillis >= 0) {
            builder.timestampFieldsFromUnixEpochMillis("last_poll_time_in_millis", "last_poll_time", lastPollMillis);
        }
        builder.startArray("skipped_collections");
        for (Skipped s : skipped) {
            builder.startObject().field("namespace", s.namespace()).field("index", s.index()).field("reason", s.reason()).endObject();
        }
        builder.endArray();
        builder.startArray("recent_auto_follow_errors");
        for (RecentError e : recentErrors) {
            builder.startObject();
            builder.timestampFieldsFromUnixEpochMillis("timestamp_in_millis", "timestamp", e.timestampMillis());
            if (e.namespace() != null) {
                builder.field("namespace", e.namespace());
            }
            builder.field("auto_follow_exception", e.error());
            builder.endObject();
        }
        builder.endArray();
        return builder.endObject();
    }

    /** The coordinator's running record of one pattern; thread-safe. */
    static final class Recorder {
        static final int MAX_RECENT_ERRORS = 16;

        private long successful;
        private long failed;
        private long polls;
        private long lastPollMillis = -1;
        private List<Skipped> skipped = List.of();
        private final Deque<RecentError> recentErrors = new ArrayDeque<>();

        synchronized void followed() {
            successful++;
        }

        synchronized void failed(String namespace, Exception e, long nowMillis) {
            failed++;
            error(namespace, e, nowMillis);
        }

        synchronized void error(@Nullable String namespace, Exception e, long nowMillis) {
            recentErrors.addLast(new RecentError(nowMillis, namespace, ExceptionInfo.of(e)));
            while (recentErrors.size() > MAX_RECENT_ERRORS) {
                recentErrors.removeFirst();
            }
        }

        synchronized void polled(List<Skipped> lastSkipped, long nowMillis) {
            polls++;
            lastPollMillis = nowMillis;
            skipped = List.copyOf(lastSkipped);
        }

        synchronized long polls() {
            return polls;
        }

        synchronized AutoFollowStats snapshot(String name, AutoFollowPattern pattern) {
            return new AutoFollowStats(
                name,
                pattern.active(),
                pattern.followed().size(),
                successful,
                failed,
                polls,
                lastPollMillis,
                skipped,
                List.copyOf(recentErrors)
            );
        }
    }
}

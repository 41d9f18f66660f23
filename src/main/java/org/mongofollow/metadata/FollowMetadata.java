package org.mongofollow.metadata;

import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A follow as it lives in the follower index's custom metadata under {@link #CUSTOM_KEY} (as CCR keeps
 * its follower information under "ccr"): the parameters, the status and every shard's checkpoint (the
 * oplog position up to which everything of the shard is applied), with, for a change-stream follow, the stream's own
 * resume token at or before it ({@link ResumePoint}). Custom index metadata is a plain {@code Map<String, String>}, so
 * this class is its codec.
 */
public record FollowMetadata(
    FollowParameters parameters,
    Status status,
    Map<Integer, OplogPosition> checkpoints,
    Map<Integer, ResumePoint> resumePoints,
    CopyState copy,
    DocumentVersions versions
) {

    public FollowMetadata(FollowParameters parameters, Status status, Map<Integer, OplogPosition> checkpoints, CopyState copy, DocumentVersions versions) {
        this(parameters, status, checkpoints, Map.of(), copy, versions);
    }

    /** The key of the follower index's custom metadata map. */
    public static final String CUSTOM_KEY = "mongo_follow";

    private static final String PARAMETERS = "parameters";
    private static final String STATUS = "status";
    private static final String CHECKPOINT_PREFIX = "checkpoint.";
    private static final String RESUME_POINT_PREFIX = "resume_point.";
    /** The timestamp that is document version 0 ({@link DocumentVersions}); absent in follows created before it, which version by identity. */
    private static final String VERSION_BASE = "version_base";

    public enum Status {
        ACTIVE,
        PAUSED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public FollowMetadata {
        checkpoints = Map.copyOf(checkpoints);
        resumePoints = Map.copyOf(resumePoints);
        Objects.requireNonNull(versions, "versions");
    }

    public FollowMetadata withCopy(CopyState newCopy) {
        return new FollowMetadata(parameters, status, checkpoints, resumePoints, newCopy, versions);
    }

    /**
     * A new copy (a resync): every shard's checkpoint is set to its t0, also backwards (the log before t0 is not
     * needed any more: the copy brings everything up to t0), and the resume points go.
     */
    public FollowMetadata withNewCopy(CopyState newCopy) {
        Map<Integer, OplogPosition> reset = new HashMap<>();
        checkpoints.keySet().forEach(shard -> reset.put(shard, newCopy.t0()));
        return new FollowMetadata(parameters, status, reset, Map.of(), newCopy, versions);
    }

    /**
     * The lowest version a document's current state must have for an oplog update to be applied to it: documents
     * older than the running copy's t0 may be stale (a resync), so their updates look up the whole document instead.
     */
    public long baseFloor() {
        return copy == null ? 0 : versions.of(copy.t0());
    }

    /** Whether this index is a mongo-follow follower index (it carries the follow's custom metadata). */
    public static boolean isFollowerIndex(IndexMetadata indexMetadata) {
        return indexMetadata != null && indexMetadata.getCustomData(CUSTOM_KEY) != null;
    }

    /** The follow of this index, or null for a plain index. */
    public static FollowMetadata of(IndexMetadata indexMetadata) {
        Map<String, String> custom = indexMetadata == null ? null : indexMetadata.getCustomData(CUSTOM_KEY);
        return custom == null ? null : fromCustomData(custom);
    }

    public OplogPosition checkpoint(int shard) {
        return checkpoints.get(shard);
    }

    /** The shard's stored change stream resume point (at or before its checkpoint), or null. */
    public ResumePoint resumePoint(int shard) {
        return resumePoints.get(shard);
    }

    public FollowMetadata withStatus(Status newStatus) {
        return new FollowMetadata(parameters, newStatus, checkpoints, resumePoints, copy, versions);
    }

    public FollowMetadata withParameters(FollowParameters newParameters) {
        return new FollowMetadata(newParameters, status, checkpoints, resumePoints, copy, versions);
    }

    /** Moves checkpoints forward only: a late or replayed update never takes a shard back. */
    public FollowMetadata withCheckpoints(Map<Integer, OplogPosition> advanced) {
        return withCheckpoints(advanced, Map.of());
    }

    /**
     * Moves checkpoints and resume points forward only: a late or replayed update never takes a shard back. A resume point
     * is only kept at or before its shard's checkpoint.
     */
    public FollowMetadata withCheckpoints(Map<Integer, OplogPosition> advanced, Map<Integer, ResumePoint> advancedResumePoints) {
        Map<Integer, OplogPosition> merged = new HashMap<>(checkpoints);
        advanced.forEach((shard, position) -> merged.merge(shard, position, (a, b) -> a.compareTo(b) >= 0 ? a : b));
        Map<Integer, ResumePoint> mergedPoints = new HashMap<>(resumePoints);
        advancedResumePoints.forEach((shard, point) -> {
            OplogPosition checkpoint = merged.get(shard);
            if (checkpoint != null && point.position().compareTo(checkpoint) <= 0) {
                mergedPoints.merge(shard, point, (a, b) -> a.position().compareTo(b.position()) >= 0 ? a : b);
            }
        });
        return new FollowMetadata(parameters, status, merged, mergedPoints, copy, versions);
    }

    public Map<String, String> toCustomData() {
        Map<String, String> data = new TreeMap<>();
        data.put(PARAMETERS, Strings.toString(parameters));
        data.put(STATUS, status.label());
        checkpoints.forEach((shard, position) -> data.put(CHECKPOINT_PREFIX + shard, Long.toUnsignedString(position.timestamp())));
        resumePoints.forEach((shard, point) -> data.put(RESUME_POINT_PREFIX + shard, point.toStoredJson()));
        if (copy != null) {
            copy.toCustomData(data);
        }
        if (versions.base() != 0) {
            data.put(VERSION_BASE, Long.toUnsignedString(versions.base()));
        }
        return data;
    }

    public static FollowMetadata fromCustomData(Map<String, String> data) {
        FollowParameters parameters;
        try (
            XContentParser parser = XContentHelper.createParserNotCompressed(
                XContentParserConfiguration.EMPTY,
                new org.elasticsearch.common.bytes.BytesArray(data.get(PARAMETERS)),
                XContentType.JSON
            )
        ) {
            parameters = FollowParameters.fromXContent(parser);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Status status = Status.valueOf(data.get(STATUS).toUpperCase(Locale.ROOT));
        Map<Integer, OplogPosition> checkpoints = new HashMap<>();
        Map<Integer, ResumePoint> resumePoints = new HashMap<>();
        data.forEach((key, value) -> {
            if (key.startsWith(CHECKPOINT_PREFIX)) {
                checkpoints.put(Integer.parseInt(key.substring(CHECKPOINT_PREFIX.length())), OplogPosition.ofTimestamp(Long.parseUnsignedLong(value)));
            } else if (key.startsWith(RESUME_POINT_PREFIX)) {
                resumePoints.put(Integer.parseInt(key.substring(RESUME_POINT_PREFIX.length())), ResumePoint.fromStoredJson(value));
            }
        });
        String base = data.get(VERSION_BASE);
        DocumentVersions versions = base == null ? DocumentVersions.IDENTITY : new DocumentVersions(Long.parseUnsignedLong(base));
        return new FollowMetadata(parameters, status, checkpoints, resumePoints, CopyState.fromCustomData(data), versions);
    }
}

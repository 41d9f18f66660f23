package org.mongofollow.metadata;

import org.elasticsearch.test.ESTestCase;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.source.ResumePoint;

import java.util.Map;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

/** A follow's shard checkpoints and change stream resume points in the follower index's custom metadata. */
public class FollowMetadataTests extends ESTestCase {

    private static final FollowParameters PARAMETERS = new FollowParameters.Builder().connection("mongodb://127.0.0.1:1/?replicaSet=rs0")
        .database("db")
        .collection("c")
        .build();

    private static ResumePoint point(int seconds, int increment) {
        // the shape of a 7.0 high-water-mark token: opaque to the project, kept as MongoDB gave it
        return new ResumePoint(OplogPosition.of(seconds, increment), String.format(java.util.Locale.ROOT,
            "{\"_data\": \"82%08X%08X0000000000000000000000\", \"_typeBits\": {\"$binary\": {\"base64\": \"QA==\", \"subType\": \"00\"}}}",
            seconds, increment));
    }

    public void testResumePointsRoundTripAndMoveForwardWithTheirCheckpointsOnly() {
        FollowMetadata follow = new FollowMetadata(
            PARAMETERS,
            FollowMetadata.Status.ACTIVE,
            Map.of(0, OplogPosition.of(100, 1), 1, OplogPosition.of(100, 1)),
            null,
            DocumentVersions.IDENTITY
        );
        assertThat(follow.resumePoint(0), nullValue());

        FollowMetadata advanced = follow.withCheckpoints(
            Map.of(0, OplogPosition.of(120, 3), 1, OplogPosition.of(110, 1)),
            Map.of(0, point(120, 2), 1, point(111, 0)) // shard 1's point lies past its checkpoint: not kept
        );
        assertThat(advanced.resumePoint(0), equalTo(point(120, 2)));
        assertThat(advanced.resumePoint(1), nullValue());
        FollowMetadata parsed = FollowMetadata.fromCustomData(advanced.toCustomData());
        assertThat(parsed, equalTo(advanced));
        assertThat(parsed.resumePoint(0).tokenDocument(), equalTo(point(120, 2).tokenDocument()));

        // a late update takes neither a checkpoint nor a resume point back
        FollowMetadata late = parsed.withCheckpoints(Map.of(0, OplogPosition.of(115, 1)), Map.of(0, point(114, 0)));
        assertThat(late, equalTo(parsed));
        // status and parameter changes keep them
        assertThat(parsed.withStatus(FollowMetadata.Status.PAUSED).resumePoint(0), equalTo(point(120, 2)));
        // a new copy starts the follow over from its t0: the old stream's points go
        FollowMetadata resynced = parsed.withNewCopy(CopyState.start(OplogPosition.of(200, 1), true, "30s", 1));
        assertThat(resynced.resumePoint(0), nullValue());
        assertThat(resynced.checkpoint(0), equalTo(OplogPosition.of(200, 1)));
    }

    public void testAnUnreadableStoredResumePointIsAClearError() {
        Map<String, String> data = new java.util.HashMap<>(new FollowMetadata(
            PARAMETERS, FollowMetadata.Status.ACTIVE, Map.of(0, OplogPosition.of(100, 1)), null, DocumentVersions.IDENTITY
        ).toCustomData());
        data.put("resume_point.0", "{not json");
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> FollowMetadata.fromCustomData(data));
        assertThat(e.getMessage(), equalTo("a stored change stream resume point is not readable"));
    }
}

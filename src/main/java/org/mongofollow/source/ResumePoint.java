package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.json.JsonParseException;

import java.util.Objects;

/**
 * A change stream's own resume token for a position: resuming the stream after {@code token} returns exactly the events
 * after {@code position} (every event at or before it had been read when the token was taken). The token is MongoDB's and
 * opaque ({@code {"_data": ...}} on 4.2 and later); the project only keeps it, passes it back in {@code resumeAfter}, and
 * shows it. Stored with the shard checkpoints in the follower index's metadata, as canonical Extended JSON.
 *
 * @param position the position the token resumes after
 * @param token    the token as canonical Extended JSON
 */
public record ResumePoint(OplogPosition position, String token) {

    public ResumePoint {
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(token, "token");
    }

    /** The point of a token the stream returned. */
    public static ResumePoint of(OplogPosition position, BsonDocument token) {
        return new ResumePoint(position, token.toJson());
    }

    /** The token as a document, for {@code resumeAfter}. */
    public BsonDocument tokenDocument() {
        return BsonDocument.parse(token);
    }

    /** The stored form: {@code {"position": Timestamp, "token": {...}}} as canonical Extended JSON. */
    public String toStoredJson() {
        return new BsonDocument("position", position.toBsonTimestamp()).append("token", tokenDocument()).toJson();
    }

    /** Reads {@link #toStoredJson}. */
    public static ResumePoint fromStoredJson(String json) {
        try {
            BsonDocument stored = BsonDocument.parse(json);
            BsonTimestamp position = stored.getTimestamp("position");
            return new ResumePoint(OplogPosition.of(position), stored.getDocument("token").toJson());
        } catch (JsonParseException | org.bson.BsonInvalidOperationException e) {
            throw new IllegalArgumentException("a stored change stream resume point is not readable", e);
        }
    }
}

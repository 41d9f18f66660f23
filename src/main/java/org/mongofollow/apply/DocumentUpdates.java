package org.mongofollow.apply;

import org.bson.RawBsonDocument;
import org.elasticsearch.common.bytes.BytesReference;

import java.util.Map;

/** Applies an update operation, as the primary receives it, to the follower's current copy of the document. */
final class DocumentUpdates {
    private DocumentUpdates() {}

    static Map<String, Object> apply(ShardOperation operation, Map<String, Object> document) {
        RawBsonDocument update = new RawBsonDocument(BytesReference.toBytes(operation.payload()));
        return switch (operation.kind()) {
            case UPDATE_DIFF -> DiffApplier.apply(document, update);
            case UPDATE_V1 -> V1UpdateApplier.apply(document, update);
            case INDEX, DELETE -> throw new IllegalArgumentException(operation.kind() + " is not an update");
        };
    }
}

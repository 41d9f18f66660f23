package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.bytes.BytesReference;

import java.util.Map;

/** Applies an update operation, as the primary receives it, to the follower's current copy of the document. */
final class DocumentUpdates {
    private DocumentUpdates() {}

    /**
     * The updated document, narrowed to {@code selection} and selected again; null when the update reaches where the
     * selected copy cannot tell (see {@link SelectedUpdates}): the follower then needs the document as MongoDB has it.
     */
    static Map<String, Object> apply(ShardOperation operation, Map<String, Object> document, FieldSelection selection) {
        BsonDocument update = new RawBsonDocument(BytesReference.toBytes(operation.payload()));
        if (selection.selectsAll()) {
            return apply(operation.kind(), update, document);
        }
        ShardOperation.Kind kind = operation.kind();
        if (kind == ShardOperation.Kind.UPDATE_DESCRIPTION) {
            // narrowed as the $v:1 update it is; one that is not (a truncated array, a disambiguated path): the document
            // as MongoDB has it
            update = UpdateDescriptionApplier.asV1(update);
            kind = ShardOperation.Kind.UPDATE_V1;
            if (update == null) {
                return null;
            }
        }
        BsonDocument narrowed = SelectedUpdates.narrow(selection, kind, update, document);
        return narrowed == null ? null : selection.select(apply(kind, narrowed, document));
    }

    private static Map<String, Object> apply(ShardOperation.Kind kind, BsonDocument update, Map<String, Object> document) {
        return switch (kind) {
            case UPDATE_DIFF -> DiffApplier.apply(document, update);
            case UPDATE_V1 -> V1UpdateApplier.apply(document, update);
            case UPDATE_DESCRIPTION -> UpdateDescriptionApplier.apply(document, update);
            case INDEX, DELETE, MARK_DELETED -> throw new IllegalArgumentException(kind + " is not an update");
        };
    }
}

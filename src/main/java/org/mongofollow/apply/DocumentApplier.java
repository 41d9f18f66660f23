package org.mongofollow.apply;

import java.util.Map;

/**
 * Applies one {@link DocumentOperation} to the current {@code _source} of its document.
 */
public final class DocumentApplier {

    private DocumentApplier() {}

    /**
     * The document's {@code _source} after {@code operation}, or null when the document does not exist
     * afterwards. An update of a missing document ({@code current == null}) is a no-op and returns null
     * (the engine may look the document up in MongoDB instead). The input map is not modified.
     *
     * @param current the current {@code _source}, or null when the follower has no such document
     * @throws IllegalArgumentException    for {@link DocumentOperation.Kind#DROP_ALL} (not a per-document operation)
     * @throws RejectedDocumentException   when the resulting document cannot be taken (dead-letter it, remove it)
     * @throws UnapplicableUpdateException when the update cannot be applied faithfully (fatal)
     */
    public static Map<String, Object> apply(Map<String, Object> current, DocumentOperation operation) {
        return switch (operation.kind()) {
            case INDEX -> BsonToJson.toSource(operation.payload());
            case UPDATE_DIFF -> current == null ? null : DiffApplier.apply(current, operation.payload());
            case UPDATE_V1 -> current == null ? null : V1UpdateApplier.apply(current, operation.payload());
            case DELETE -> null;
            case DROP_ALL -> throw new IllegalArgumentException("DROP_ALL applies to the whole index, not to one document");
        };
    }
}

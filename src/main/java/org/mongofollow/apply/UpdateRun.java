package org.mongofollow.apply;

import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * What the primary writes for an update: the update applied to the document as the follower stores it (its JSON
 * {@code _source}), together with the updates of the same document that follow it in the request. Each is applied in
 * order to the document as the previous one left it, and the result is one {@code _source}, written once at the last
 * one's version: a hot document's thousand updates cost one parse, one index and one replicated source, not a thousand.
 * The run ends before an update that cannot be combined (one the selected copy cannot take, or one Elasticsearch would
 * refuse): that one is applied on its own next.
 */
public final class UpdateRun {

    private UpdateRun() {}

    /**
     * @param source the {@code _source} to write
     * @param count  how many updates of the request, from the first, it stands for (at least 1)
     */
    public record Written(BytesReference source, int count) {}

    /**
     * Applies {@code operations.get(from)}, an update, and the updates of the same document right after it.
     *
     * @param current the document's current {@code _source}
     * @return what to write, or null when the first update reaches where the follower's selected copy cannot tell (see
     *         {@link SelectedUpdates}): the follower then needs the document as MongoDB has it
     * @throws RejectedDocumentException   when the first update leaves a document Elasticsearch cannot take
     * @throws UnapplicableUpdateException when the first update cannot be applied faithfully
     */
    public static Written apply(List<ShardOperation> operations, int from, BytesReference current, FieldSelection fields) throws IOException {
        ShardOperation first = operations.get(from);
        Map<String, Object> document = XContentHelper.convertToMap(current, true, XContentType.JSON).v2();
        Map<String, Object> updated = DocumentUpdates.apply(first, document, fields);
        if (updated == null) {
            return null;
        }
        int count = 1;
        for (int i = from + 1; i < operations.size() && isUpdateOf(operations.get(i), first.id()); i++) {
            Map<String, Object> further;
            try {
                further = DocumentUpdates.apply(operations.get(i), updated, fields);
            } catch (RejectedDocumentException | UnapplicableUpdateException e) {
                break; // applied on its own, after this write
            }
            if (further == null) {
                break;
            }
            updated = further;
            count++;
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.map(updated);
            return new Written(BytesReference.bytes(builder), count);
        }
    }

    /** Whether {@code operation} is an update of document {@code id}. */
    public static boolean isUpdateOf(ShardOperation operation, String id) {
        return operation.kind().isUpdate() && operation.id().equals(id);
    }
}

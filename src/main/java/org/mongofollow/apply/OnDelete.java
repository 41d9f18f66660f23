package org.mongofollow.apply;

import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.operation.OplogPosition;

import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a follow does with a document MongoDB deleted: {@code "delete"} it (the default), or keep it marked,
 * {@code {"mark": {"field": "deleted", "at_field": "deleted_at"}}}: {@code field} set to {@code true} and {@code at_field}
 * (optional) to the time of the delete, the document otherwise as it was. A later insert of the same {@code _id} replaces the
 * marked document. Only MongoDB's deletes mark (a delete, a collection drop, what a resync finds gone); a document the
 * follower refuses or a pipeline drops is removed all the same.
 *
 * @param field   the field set to {@code true}, or null to delete
 * @param atField the field set to the delete's time (ISO-8601, from its oplog position), or null
 */
public record OnDelete(@Nullable String field, @Nullable String atField) implements ToXContent {

    public static final OnDelete DELETE = new OnDelete(null, null);
    public static final String FIELD = "on_delete";

    public OnDelete {
        if (field == null && atField != null) {
            throw new IllegalArgumentException("[on_delete.mark.at_field] needs [on_delete.mark.field]");
        }
        validateName("field", field);
        validateName("at_field", atField);
        if (field != null && field.equals(atField)) {
            throw new IllegalArgumentException("[on_delete.mark.field] and [on_delete.mark.at_field] must differ, both are [" + field + "]");
        }
    }

    private static void validateName(String what, String name) {
        if (name == null) {
            return;
        }
        if (name.isEmpty() || name.startsWith("_") || name.contains(".")) {
            throw new IllegalArgumentException(
                "[on_delete.mark." + what + "] must be a top-level field name, without a dot or a leading underscore, got [" + name + "]"
            );
        }
    }

    /** Whether a delete keeps the document, marked. */
    public boolean marks() {
        return field != null;
    }

    /** {@code "delete"}, or {@code {"mark": {"field": .., "at_field": ..}}}. */
    public static OnDelete parse(XContentParser parser) throws IOException {
        if (parser.currentToken() == XContentParser.Token.VALUE_STRING) {
            if ("delete".equals(parser.text())) {
                return DELETE;
            }
            throw new IllegalArgumentException("[on_delete] must be [delete] or {\"mark\": {\"field\": .., \"at_field\": ..}}, got [" + parser.text() + "]");
        }
        Map<String, Object> body = parser.map();
        if (body.size() != 1 || body.get("mark") instanceof Map<?, ?> == false) {
            throw new IllegalArgumentException("[on_delete] must be [delete] or {\"mark\": {\"field\": .., \"at_field\": ..}}, got " + body);
        }
        Map<?, ?> mark = (Map<?, ?>) body.get("mark");
        for (Object key : mark.keySet()) {
            if ("field".equals(key) == false && "at_field".equals(key) == false) {
                throw new IllegalArgumentException("[on_delete.mark] takes [field] and [at_field], not [" + key + "]");
            }
        }
        Object markField = mark.get("field");
        if (markField instanceof String == false) {
            throw new IllegalArgumentException("[on_delete.mark.field] is required: the field a deleted document is marked with");
        }
        Object atField = mark.get("at_field");
        if (atField != null && atField instanceof String == false) {
            throw new IllegalArgumentException("[on_delete.mark.at_field] must be a field name, got [" + atField + "]");
        }
        return new OnDelete((String) markField, (String) atField);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        if (marks() == false) {
            return builder.field(FIELD, "delete");
        }
        builder.startObject(FIELD).startObject("mark").field("field", field);
        if (atField != null) {
            builder.field("at_field", atField);
        }
        return builder.endObject().endObject();
    }

    /**
     * The write of MongoDB's delete of a document at {@code version}: a delete, or a {@link ShardOperation.Kind#MARK_DELETED}
     * whose payload holds the marks and the delete's document key ({@code key}: the JSON of a sharded collection's shard key
     * values, or empty).
     */
    public ShardOperation deleteOf(String id, long version, OplogPosition at, BytesReference key) throws IOException {
        if (marks() == false) {
            return new ShardOperation(ShardOperation.Kind.DELETE, id, version, key);
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.startObject().field("field", field);
            if (atField != null) {
                builder.field("at_field", atField).field("at", Instant.ofEpochSecond(at.seconds()).toString());
            }
            if (key.length() > 0) {
                builder.rawField("key", key.streamInput(), XContentType.JSON);
            }
            builder.endObject();
            return new ShardOperation(ShardOperation.Kind.MARK_DELETED, id, version, BytesReference.bytes(builder));
        }
    }

    /** The document key ({@link DocumentKeys}) of a {@link ShardOperation.Kind#MARK_DELETED} payload, or empty. */
    static BytesReference key(BytesReference markPayload) throws IOException {
        Object key = XContentHelper.convertToMap(markPayload, true, XContentType.JSON).v2().get("key");
        if (key == null) {
            return BytesArray.EMPTY;
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            return BytesReference.bytes(builder.map(asMap(key)));
        }
    }

    /**
     * {@code source} marked as the payload says: the field set to {@code true}, and the time set unless the document was already
     * marked (a resync or a drop that finds a marked document keeps the time of its delete).
     */
    static BytesReference mark(BytesReference source, BytesReference markPayload) throws IOException {
        Map<String, Object> payload = XContentHelper.convertToMap(markPayload, true, XContentType.JSON).v2();
        Map<String, Object> document = new LinkedHashMap<>(XContentHelper.convertToMap(source, true, XContentType.JSON).v2());
        String field = (String) payload.get("field");
        boolean alreadyMarked = Boolean.TRUE.equals(document.get(field));
        document.put(field, true);
        if (payload.get("at_field") instanceof String atField && alreadyMarked == false) {
            document.put(atField, payload.get("at"));
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            return BytesReference.bytes(builder.map(document));
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value) {
        return (Map<String, Object>) value;
    }
}

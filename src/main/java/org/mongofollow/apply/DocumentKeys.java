package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.common.xcontent.support.XContentMapValues;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.xcontent.XContentType;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.Map;
import java.util.Objects;

/**
 * Whether a delete's document key names the document the follower holds under its {@code _id}.
 * <p>
 * On a sharded collection a delete's document key is {@code {shard key values..., _id}}, and the same {@code _id} can name
 * two documents for a moment: an update of the shard key value that moves a document to another shard is a transaction
 * across the two shards, the old shard's delete and the new shard's insert, and each shard logs its commit at its own
 * time, in no set order (a change stream through mongos gives them in that order too: SERVER-60543). Applied by time, the
 * old shard's delete may come after the new shard's insert. It deletes only the document as it was on the old shard: the
 * primary skips a delete whose shard key values contradict the document it holds (the moved one), and deletes otherwise,
 * also where it cannot tell (the document is not there, a field is not indexed).
 */
public final class DocumentKeys {

    private DocumentKeys() {}

    /** The document key's fields besides {@code _id} as JSON, under the BSON to JSON mapping; empty when there are none. */
    public static BytesReference json(@Nullable BsonDocument keyFields) throws IOException {
        if (keyFields == null || keyFields.isEmpty()) {
            return BytesArray.EMPTY;
        }
        try {
            return BsonToJson.source(keyFields);
        } catch (RejectedDocumentException e) {
            return BytesArray.EMPTY; // a value the mapping refuses: nothing to compare, so the delete is unconditional
        }
    }

    /**
     * Whether the held {@code source} has a value under one of {@code keyFields}'s names (a dotted name is a path) that differs
     * from the key's: another document than the one the delete removed.
     */
    public static boolean contradicts(BytesReference source, BytesReference keyFields) {
        if (keyFields.length() == 0) {
            return false;
        }
        Map<String, Object> key = XContentHelper.convertToMap(keyFields, false, XContentType.JSON).v2();
        Map<String, Object> held = XContentHelper.convertToMap(source, false, XContentType.JSON).v2();
        for (Map.Entry<String, Object> field : key.entrySet()) {
            Object value = held.containsKey(field.getKey()) ? held.get(field.getKey()) : XContentMapValues.extractValue(field.getKey(), held);
            // scalars only: an object or array shard key value may be held in part (field selection), so it cannot tell
            if (scalar(value) && scalar(field.getValue()) && same(value, field.getValue()) == false) {
                return true;
            }
        }
        return false;
    }

    private static boolean scalar(Object value) {
        return value != null && value instanceof Map<?, ?> == false && value instanceof java.util.List<?> == false;
    }

    /** Equal values, numbers by value (MongoDB's shard key compares 5 and 5.0 as one). */
    private static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) == 0;
        }
        return Objects.equals(a, b);
    }
}

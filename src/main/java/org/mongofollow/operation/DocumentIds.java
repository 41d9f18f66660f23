package org.mongofollow.operation;

import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

import java.math.BigDecimal;

/**
 * The Elasticsearch {@code _id} of a MongoDB document (DESIGN.md section 7).
 *
 * <ul>
 *   <li>ObjectId: its 24 lower-case hex digits;</li>
 *   <li>String: as it is;</li>
 *   <li>Int32, Int64, and a Double with an integral value: its decimal digits ({@code 5}, {@code -7},
 *       {@code 5.0 -> "5"}, {@code -0.0 -> "0"}, {@code 1e20 -> "100000000000000000000"});</li>
 *   <li>anything else (a non-integral or non-finite Double, Decimal128, documents, arrays, binary,
 *       dates, ...): its relaxed Extended JSON as the MongoDB Java driver writes it, for example
 *       {@code {"a": 1}}, {@code 1.5}, {@code {"$numberDecimal": "5"}}, {@code {"$date": "2024-05-01T12:00:00Z"}}.</li>
 * </ul>
 * A string and a number with the same digits share an {@code _id}. Elasticsearch refuses ids longer
 * than 512 bytes; such a document is refused at write time (dead-letter index).
 */
public final class DocumentIds {

    private static final JsonWriterSettings RELAXED = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();
    private static final String WRAPPER_PREFIX = "{\"_id\": ";

    private DocumentIds() {}

    /** The Elasticsearch {@code _id} for the MongoDB {@code _id} value {@code id}. */
    public static String toElasticsearchId(BsonValue id) {
        if (id == null) {
            throw new IllegalArgumentException("a document id is required");
        }
        switch (id.getBsonType()) {
            case OBJECT_ID:
                return id.asObjectId().getValue().toHexString();
            case STRING:
                return id.asString().getValue();
            case INT32:
                return Integer.toString(id.asInt32().getValue());
            case INT64:
                return Long.toString(id.asInt64().getValue());
            case DOUBLE: {
                double d = id.asDouble().getValue();
                if (Double.isFinite(d) && d == Math.rint(d)) {
                    if (d == 0) {
                        return "0";
                    }
                    return new BigDecimal(d).toPlainString();
                }
                return relaxedJson(id);
            }
            default:
                return relaxedJson(id);
        }
    }

    private static String relaxedJson(BsonValue value) {
        String json = new BsonDocument("_id", value).toJson(RELAXED);
        assert json.startsWith(WRAPPER_PREFIX) && json.endsWith("}") : json;
        return json.substring(WRAPPER_PREFIX.length(), json.length() - 1);
    }

}

package org.mongofollow.apply;

import org.bson.BsonBinary;
import org.bson.BsonBinarySubType;
import org.bson.BsonDbPointer;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonJavaScriptWithScope;
import org.bson.BsonRegularExpression;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.UuidRepresentation;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one mapping of BSON values to JSON values, as plain Java objects for
 * {@code XContentBuilder.map(...)}: {@link LinkedHashMap} (field order kept), {@link List}, String,
 * Integer, Long, Double, Boolean and null. The table with examples is {@code docs/bson-mapping.md}:
 *
 * <pre>
 * Double              Double (-0.0 kept); NaN, +-Infinity: rejected (RejectedDocumentException)
 * String, Symbol      String
 * JavaScript          String (the code)
 * JavaScriptWithScope {"code": String, "scope": {..}}
 * Document            LinkedHashMap; field names checked (see below)
 * Array               ArrayList
 * Binary subtype 4    canonical UUID string when 16 bytes long (RFC 4122 byte order)
 * Binary subtype 3    UUID string of the 16 bytes in stored order (the Python-legacy reading)
 * Binary other        standard base64 with padding (the data bytes only; subtype not kept)
 * Undefined, Null     null
 * ObjectId            24 lower-case hex digits
 * Boolean             Boolean
 * DateTime            "uuuu-MM-dd'T'HH:mm:ss.SSS'Z'" in UTC; years -9999..9999 parse with Elasticsearch's
 *                     strict_date_optional_time; later years are written "+10000-01-01T00:00:00.000Z",
 *                     which a date field refuses (the document then goes to the dead-letter index)
 * RegularExpression   {"pattern": String, "options": String}
 * DBPointer           {"$ref": namespace, "$id": 24 hex digits}
 * Int32               Integer
 * Timestamp           {"t": Long seconds, "i": Long increment}
 * Int64               Long (exact above 2^53)
 * Decimal128          String (Decimal128.toString(): "1.10", "-0", "NaN", "Infinity", "1E+6144")
 * MinKey / MaxKey     {"$minKey": 1} / {"$maxKey": 1}
 * </pre>
 *
 * <p>Field names: a document (at any depth) with a field name Elasticsearch rejects or reads
 * ambiguously is rejected as a whole ({@link RejectedDocumentException}, the dead-letter index), never
 * renamed: the empty name, a name of only whitespace, a name starting or ending with {@code .}, a name
 * with an empty segment ({@code a..b}), and at the top level a name of an Elasticsearch metadata field
 * ({@link #METADATA_FIELDS}; the top-level {@code _id} is the document id and is left out of
 * {@code _source}). Inner names such as {@code a.b} (read by Elasticsearch as a path), {@code $x}, and
 * {@code _id} inside a sub-document are kept.
 */
public final class BsonToJson {

    /** Top-level names Elasticsearch reserves for metadata fields (its built-in set and {@code _tier}). */
    public static final Set<String> METADATA_FIELDS = Set.of(
        "_id", "_index", "_index_mode", "_routing", "_source", "_ignored", "_ignored_source", "_nested_path",
        "_version", "_seq_no", "_primary_term", "_doc_count", "_data_stream_timestamp", "_field_names",
        "_tsid", "_ts_routing_hash", "_tier"
    );

    private static final DateTimeFormatter DATE_FORMAT =
        DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private BsonToJson() {}

    /**
     * The {@code _source} of a MongoDB document: all its fields except the top-level {@code _id}, in
     * their order.
     *
     * @throws RejectedDocumentException if a value or a field name cannot be taken (see the class doc)
     */
    public static Map<String, Object> toSource(BsonDocument document) {
        Map<String, Object> source = new LinkedHashMap<>();
        for (Map.Entry<String, BsonValue> e : document.entrySet()) {
            String name = e.getKey();
            if (name.equals("_id")) {
                continue;
            }
            checkFieldName(name, true, name);
            source.put(name, toJsonValue(e.getValue(), name));
        }
        return source;
    }

    /** A JSON object for a nested document (no {@code _id} removal, inner-name rules). */
    public static Map<String, Object> toJsonObject(BsonDocument document) {
        return toJsonObject(document, "");
    }

    /** The JSON value of one BSON value; {@code path} (dotted) is only used in error messages. */
    public static Object toJsonValue(BsonValue value, String path) {
        switch (value.getBsonType()) {
            case DOUBLE: {
                double d = value.asDouble().getValue();
                if (Double.isFinite(d) == false) {
                    throw new RejectedDocumentException(path, "non-finite double [" + d + "] cannot be indexed");
                }
                return d;
            }
            case STRING:
                return value.asString().getValue();
            case SYMBOL:
                return value.asSymbol().getSymbol();
            case JAVASCRIPT:
                return value.asJavaScript().getCode();
            case JAVASCRIPT_WITH_SCOPE:
            case REGULAR_EXPRESSION:
            case DB_POINTER:
            case TIMESTAMP:
            case MIN_KEY:
            case MAX_KEY:
                return toJsonObject(mappedObject(value), path);
            case DOCUMENT:
                return toJsonObject(value.asDocument(), path);
            case ARRAY: {
                List<BsonValue> values = value.asArray().getValues();
                List<Object> list = new ArrayList<>(values.size());
                for (int i = 0; i < values.size(); i++) {
                    list.add(toJsonValue(values.get(i), join(path, Integer.toString(i))));
                }
                return list;
            }
            case BINARY:
                return binary(value.asBinary());
            case UNDEFINED:
            case NULL:
                return null;
            case OBJECT_ID:
                return value.asObjectId().getValue().toHexString();
            case BOOLEAN:
                return value.asBoolean().getValue();
            case DATE_TIME:
                return formatDate(value.asDateTime().getValue());
            case INT32:
                return value.asInt32().getValue();
            case INT64:
                return value.asInt64().getValue();
            case DECIMAL128:
                return value.asDecimal128().getValue().toString();
            default:
                throw new RejectedDocumentException(path, "unsupported BSON type " + value.getBsonType());
        }
    }

    /**
     * The document a value of a type mapped to a JSON object (JavaScriptWithScope, RegularExpression, DBPointer,
     * Timestamp, MinKey, MaxKey) is mapped as, or null for a value of another type. {@link FieldSelection} sees these
     * values as the objects {@code _source} holds, so that selecting BSON and selecting the JSON agree.
     */
    static BsonDocument mappedObject(BsonValue value) {
        switch (value.getBsonType()) {
            case JAVASCRIPT_WITH_SCOPE: {
                BsonJavaScriptWithScope code = value.asJavaScriptWithScope();
                return new BsonDocument("code", new BsonString(code.getCode())).append("scope", code.getScope());
            }
            case REGULAR_EXPRESSION: {
                BsonRegularExpression regex = value.asRegularExpression();
                return new BsonDocument("pattern", new BsonString(regex.getPattern())).append("options", new BsonString(regex.getOptions()));
            }
            case DB_POINTER: {
                BsonDbPointer pointer = value.asDBPointer();
                return new BsonDocument("$ref", new BsonString(pointer.getNamespace()))
                    .append("$id", new BsonString(pointer.getId().toHexString()));
            }
            case TIMESTAMP: {
                BsonTimestamp ts = value.asTimestamp();
                return new BsonDocument("t", new BsonInt64(Integer.toUnsignedLong(ts.getTime())))
                    .append("i", new BsonInt64(Integer.toUnsignedLong(ts.getInc())));
            }
            case MIN_KEY:
                return new BsonDocument("$minKey", new BsonInt32(1));
            case MAX_KEY:
                return new BsonDocument("$maxKey", new BsonInt32(1));
            default:
                return null;
        }
    }

    /** ISO-8601 UTC with milliseconds of a BSON date (milliseconds since the epoch). */
    public static String formatDate(long epochMillis) {
        return DATE_FORMAT.format(Instant.ofEpochMilli(epochMillis));
    }

    /**
     * Checks a field name against the field-name rule (see the class doc).
     *
     * @param topLevel whether the name is a field of the document itself (metadata names are refused there)
     * @param path     the dotted path for the error message
     */
    public static void checkFieldName(String name, boolean topLevel, String path) {
        if (name.isEmpty()) {
            throw new RejectedDocumentException(path, "empty field name");
        }
        if (name.isBlank()) {
            throw new RejectedDocumentException(path, "field name of only whitespace");
        }
        if (name.startsWith(".") || name.endsWith(".")) {
            throw new RejectedDocumentException(path, "field name starting or ending with [.]");
        }
        if (name.contains("..")) {
            throw new RejectedDocumentException(path, "field name with an empty path segment");
        }
        if (topLevel && METADATA_FIELDS.contains(name)) {
            throw new RejectedDocumentException(path, "field name [" + name + "] is an Elasticsearch metadata field");
        }
    }

    private static Map<String, Object> toJsonObject(BsonDocument document, String path) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (Map.Entry<String, BsonValue> e : document.entrySet()) {
            String fieldPath = join(path, e.getKey());
            checkFieldName(e.getKey(), false, fieldPath);
            map.put(e.getKey(), toJsonValue(e.getValue(), fieldPath));
        }
        return map;
    }

    private static Object binary(BsonBinary binary) {
        byte type = binary.getType();
        if (binary.getData().length == 16) {
            if (type == BsonBinarySubType.UUID_STANDARD.getValue()) {
                return binary.asUuid().toString();
            }
            if (type == BsonBinarySubType.UUID_LEGACY.getValue()) {
                return binary.asUuid(UuidRepresentation.PYTHON_LEGACY).toString();
            }
        }
        return Base64.getEncoder().encodeToString(binary.getData());
    }

    static String join(String path, String name) {
        return path == null || path.isEmpty() ? name : path + "." + name;
    }
}

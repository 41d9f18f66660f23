package org.mongofollow.apply;

import org.bson.BsonBinary;
import org.bson.BsonBinaryReader;
import org.bson.BsonBinarySubType;
import org.bson.BsonDbPointer;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonJavaScriptWithScope;
import org.bson.BsonRegularExpression;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonType;
import org.bson.BsonValue;
import org.bson.RawBsonDocument;
import org.bson.UuidRepresentation;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.json.JsonXContent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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

    /**
     * Writes the {@code _source} of a MongoDB document into {@code builder}: exactly what
     * {@code builder.map(toSource(document))} writes (same bytes, same rejections), without building the
     * intermediate Java map. On a rejection part of the document may have been written: discard the builder.
     *
     * @throws RejectedDocumentException if a value or a field name cannot be taken (see the class doc)
     */
    public static void writeSource(XContentBuilder builder, BsonDocument document) throws IOException {
        builder.startObject();
        for (Map.Entry<String, BsonValue> e : document.entrySet()) {
            String name = e.getKey();
            if (name.equals("_id")) {
                continue;
            }
            checkFieldName(name, true, name);
            builder.field(name);
            writeValue(builder, e.getValue(), name);
        }
        builder.endObject();
    }

    /**
     * The JSON {@code _source} of a document still in its BSON bytes, read straight from them: the same bytes
     * as {@link #writeSource} writes for it, or null when this fast path does not take the document (a
     * repeated field name, a rejection, a less common BSON type, malformed BSON); the caller then takes
     * {@link #writeSource}, which decides (and names the path of a rejection).
     */
    public static BytesReference rawSourceOrNull(RawBsonDocument document) throws IOException {
        // the JSON is rarely longer than the BSON: one buffer of that size, no growing copies. A builder given up half
        // way is left unclosed (it holds only that buffer): closing it with an open object would throw
        XContentBuilder builder = new XContentBuilder(JsonXContent.jsonXContent, new ByteArrayOutputStream(document.getByteBuffer().remaining() + 64));
        try (BsonBinaryReader reader = new BsonBinaryReader(document.getByteBuffer().asNIO())) {
            if (writeRawDocument(builder, reader, true) == false) {
                return null;
            }
        } catch (RuntimeException e) {
            return null;
        }
        return BytesReference.bytes(builder);
    }

    /** One document from {@code reader}; false (stop) on anything {@link #rawSourceOrNull} leaves to the general path. */
    private static boolean writeRawDocument(XContentBuilder builder, BsonBinaryReader reader, boolean topLevel) throws IOException {
        reader.readStartDocument();
        builder.startObject();
        // a BsonDocument keeps one entry per name (the first position, the last value): leave repeats to it
        Set<String> names = new HashSet<>();
        while (reader.readBsonType() != BsonType.END_OF_DOCUMENT) {
            String name = reader.readName();
            if (names.add(name) == false) {
                return false;
            }
            if (topLevel && name.equals("_id")) {
                reader.skipValue();
                continue;
            }
            checkFieldName(name, topLevel, name);
            builder.field(name);
            if (writeRawValue(builder, reader) == false) {
                return false;
            }
        }
        reader.readEndDocument();
        builder.endObject();
        return true;
    }

    /** The current value of {@code reader}, as {@link #writeValue} writes it; false for types left to the general path. */
    private static boolean writeRawValue(XContentBuilder builder, BsonBinaryReader reader) throws IOException {
        switch (reader.getCurrentBsonType()) {
            case DOUBLE: {
                double d = reader.readDouble();
                if (Double.isFinite(d) == false) {
                    return false;
                }
                builder.value(d);
                return true;
            }
            case STRING:
                builder.value(reader.readString());
                return true;
            case DOCUMENT:
                return writeRawDocument(builder, reader, false);
            case ARRAY:
                reader.readStartArray();
                builder.startArray();
                while (reader.readBsonType() != BsonType.END_OF_DOCUMENT) {
                    if (writeRawValue(builder, reader) == false) {
                        return false;
                    }
                }
                reader.readEndArray();
                builder.endArray();
                return true;
            case NULL:
                reader.readNull();
                builder.nullValue();
                return true;
            case OBJECT_ID:
                builder.value(reader.readObjectId().toHexString());
                return true;
            case BOOLEAN:
                builder.value(reader.readBoolean());
                return true;
            case DATE_TIME:
                builder.value(formatDate(reader.readDateTime()));
                return true;
            case INT32:
                builder.value(reader.readInt32());
                return true;
            case INT64:
                builder.value(reader.readInt64());
                return true;
            default:
                return false;
        }
    }

    /**
     * Writes the JSON value of one BSON value, as {@code builder.value(toJsonValue(value, path))} would;
     * {@code path} (dotted) is only used in error messages.
     */
    private static void writeValue(XContentBuilder builder, BsonValue value, String path) throws IOException {
        switch (value.getBsonType()) {
            case DOCUMENT: {
                builder.startObject();
                for (Map.Entry<String, BsonValue> e : value.asDocument().entrySet()) {
                    String fieldPath = join(path, e.getKey());
                    checkFieldName(e.getKey(), false, fieldPath);
                    builder.field(e.getKey());
                    writeValue(builder, e.getValue(), fieldPath);
                }
                builder.endObject();
                return;
            }
            case ARRAY: {
                List<BsonValue> values = value.asArray().getValues();
                builder.startArray();
                for (int i = 0; i < values.size(); i++) {
                    writeValue(builder, values.get(i), join(path, Integer.toString(i)));
                }
                builder.endArray();
                return;
            }
            case STRING:
                builder.value(value.asString().getValue());
                return;
            case INT32:
                builder.value(value.asInt32().getValue());
                return;
            case INT64:
                builder.value(value.asInt64().getValue());
                return;
            case BOOLEAN:
                builder.value(value.asBoolean().getValue());
                return;
            default:
                // the other types through the one mapping; their values are leaves or small maps
                writeObject(builder, toJsonValue(value, path));
        }
    }

    /** A value {@link #toJsonValue} returned, as {@code XContentBuilder.map} writes it. */
    private static void writeObject(XContentBuilder builder, Object value) throws IOException {
        if (value instanceof Map<?, ?> map) {
            builder.startObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                builder.field((String) e.getKey());
                writeObject(builder, e.getValue());
            }
            builder.endObject();
        } else if (value instanceof List<?> list) {
            builder.startArray();
            for (Object element : list) {
                writeObject(builder, element);
            }
            builder.endArray();
        } else if (value instanceof Double d) {
            builder.value(d.doubleValue());
        } else if (value instanceof Integer i) {
            builder.value(i.intValue());
        } else if (value instanceof Long l) {
            builder.value(l.longValue());
        } else if (value instanceof Boolean b) {
            builder.value(b.booleanValue());
        } else if (value == null) {
            builder.nullValue();
        } else {
            builder.value(Objects.requireNonNull((String) value));
        }
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
        if (epochMillis < 0 || epochMillis >= FAST_DATES_END) {
            return DATE_FORMAT.format(Instant.ofEpochMilli(epochMillis));
        }
        // 1970 to 9999, the common case, without the formatter: the same characters (BsonToJsonTests compares them)
        long days = epochMillis / MILLIS_PER_DAY;
        int millisOfDay = (int) (epochMillis - days * MILLIS_PER_DAY);
        LocalDate date = LocalDate.ofEpochDay(days);
        char[] out = new char[24];
        digits(out, 0, date.getYear(), 4);
        out[4] = '-';
        digits(out, 5, date.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, date.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, millisOfDay / 3_600_000, 2);
        out[13] = ':';
        digits(out, 14, millisOfDay / 60_000 % 60, 2);
        out[16] = ':';
        digits(out, 17, millisOfDay / 1000 % 60, 2);
        out[19] = '.';
        digits(out, 20, millisOfDay % 1000, 3);
        out[23] = 'Z';
        return new String(out);
    }

    private static final long MILLIS_PER_DAY = 86_400_000L;
    /** 10000-01-01T00:00:00Z: from there on the year takes more than four digits. */
    private static final long FAST_DATES_END = 253_402_300_800_000L;

    private static void digits(char[] out, int at, int value, int width) {
        for (int i = at + width - 1; i >= at; i--) {
            out[i] = (char) ('0' + value % 10);
            value /= 10;
        }
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

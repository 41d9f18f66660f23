package org.mongofollow.apply;

import org.bson.BsonBinary;
import org.bson.BsonBinaryReader;
import org.bson.BsonBinarySubType;
import org.bson.BsonDbPointer;
import org.bson.BsonDocument;
import org.bson.BsonDocumentReader;
import org.bson.BsonReader;
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
import org.bson.codecs.BsonDocumentCodec;
import org.bson.codecs.BsonValueCodec;
import org.bson.codecs.DecoderContext;
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
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one BSON to JSON writer: every document the follow, the copy and the look-ups index ({@link #source}) and every
 * value an update sets ({@link #toJsonValue}) is written by the one walk of a {@link BsonReader} below, into a
 * {@link JsonSink} (the {@code _source} bytes, or Java objects: {@link java.util.LinkedHashMap} with the field order kept,
 * {@link java.util.ArrayList}, String, Integer, Long, Double, Boolean and null). A document still in its BSON bytes is
 * read straight from them, a decoded one through {@link BsonDocumentReader}. The table with examples is
 * {@code docs/bson-mapping.md}:
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
     * The JSON {@code _source} of a MongoDB document: all its fields except the top-level {@code _id}, in their order. A
     * document still in its BSON bytes (read from the oplog or a collection) is read straight from them.
     *
     * @throws RejectedDocumentException if a value or a field name cannot be taken (see the class doc)
     */
    public static BytesReference source(BsonDocument document) throws IOException {
        if (document instanceof RawBsonDocument raw) {
            // the JSON is rarely longer than the BSON: one buffer of that size, no growing copies
            XContentBuilder builder = new XContentBuilder(JsonXContent.jsonXContent, new ByteArrayOutputStream(raw.getByteBuffer().remaining() + 64));
            try (BsonBinaryReader reader = new BsonBinaryReader(raw.getByteBuffer().asNIO())) {
                writeDocument(reader, JsonSink.of(builder), true, true);
                return BytesReference.bytes(builder);
            } catch (RepeatedName | Rejection e) {
                // a repeated name (a BsonDocument keeps its first position and its last value), or a rejection that a
                // repeat's last value may undo: decide on the decoded document. A builder given up half way is left
                // unclosed (it holds only that buffer): closing it with an open object would throw
                document = raw.decode(DOCUMENT_CODEC);
            }
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            writeDocument(new BsonDocumentReader(document), JsonSink.of(builder), true, false);
            return BytesReference.bytes(builder);
        } catch (Rejection e) {
            throw e.under("");
        }
    }

    /**
     * The {@code _source} of a MongoDB document as Java objects ({@link JsonSink.Tree}): what {@link #source} writes, as
     * {@code XContentBuilder.map(...)} takes it.
     *
     * @throws RejectedDocumentException if a value or a field name cannot be taken (see the class doc)
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> toSource(BsonDocument document) {
        JsonSink.Tree tree = new JsonSink.Tree();
        BsonDocument decoded = document instanceof RawBsonDocument raw ? raw.decode(DOCUMENT_CODEC) : document;
        try {
            writeDocument(new BsonDocumentReader(decoded), tree, true, false);
        } catch (Rejection e) {
            throw e.under("");
        } catch (IOException e) {
            throw new AssertionError("a tree does not do I/O", e);
        }
        return (Map<String, Object>) tree.result();
    }

    /**
     * The JSON value of one BSON value as a Java object ({@link JsonSink.Tree}); {@code path} (dotted) is only used in
     * error messages.
     *
     * @throws RejectedDocumentException if the value or a field name in it cannot be taken (see the class doc)
     */
    public static Object toJsonValue(BsonValue value, String path) {
        JsonSink.Tree tree = new JsonSink.Tree();
        // a reader reads documents: the value as the one field of one
        try (BsonDocumentReader reader = new BsonDocumentReader(new BsonDocument("v", value))) {
            reader.readStartDocument();
            reader.readBsonType();
            reader.skipName();
            writeValue(reader, tree, false);
        } catch (Rejection e) {
            throw e.under(path);
        } catch (IOException e) {
            throw new AssertionError("a tree does not do I/O", e);
        }
        return tree.result();
    }

    private static final BsonDocumentCodec DOCUMENT_CODEC = new BsonDocumentCodec();
    private static final BsonValueCodec VALUE_CODEC = new BsonValueCodec();
    private static final DecoderContext DECODER_CONTEXT = DecoderContext.builder().build();

    /**
     * The document at {@code reader}: every field but a top-level {@code _id}, names checked.
     *
     * @param checkRepeats whether to look for a repeated name (raw BSON may hold one; a decoded document cannot)
     */
    private static void writeDocument(BsonReader reader, JsonSink out, boolean topLevel, boolean checkRepeats) throws IOException {
        reader.readStartDocument();
        out.startObject();
        Set<String> names = checkRepeats ? new HashSet<>() : null;
        while (reader.readBsonType() != BsonType.END_OF_DOCUMENT) {
            String name = reader.readName();
            if (names != null && names.add(name) == false) {
                throw RepeatedName.INSTANCE;
            }
            if (topLevel && name.equals("_id")) {
                reader.skipValue();
                continue;
            }
            try {
                String problem = fieldNameProblem(name, topLevel);
                if (problem != null) {
                    throw new Rejection(problem);
                }
                out.field(name);
                writeValue(reader, out, checkRepeats);
            } catch (Rejection e) {
                throw e.in(name);
            }
        }
        reader.readEndDocument();
        out.endObject();
    }

    /** The current value of {@code reader}, under the mapping of the class doc. */
    private static void writeValue(BsonReader reader, JsonSink out, boolean checkRepeats) throws IOException {
        switch (reader.getCurrentBsonType()) {
            case DOUBLE: {
                double d = reader.readDouble();
                if (Double.isFinite(d) == false) {
                    throw new Rejection("non-finite double [" + d + "] cannot be indexed");
                }
                out.value(d);
                return;
            }
            case STRING:
                out.value(reader.readString());
                return;
            case DOCUMENT:
                writeDocument(reader, out, false, checkRepeats);
                return;
            case ARRAY:
                writeArray(reader, out, checkRepeats);
                return;
            case NULL:
                reader.readNull();
                out.nullValue();
                return;
            case OBJECT_ID:
                out.value(reader.readObjectId().toHexString());
                return;
            case BOOLEAN:
                out.value(reader.readBoolean());
                return;
            case DATE_TIME:
                out.value(formatDate(reader.readDateTime()));
                return;
            case INT32:
                out.value(reader.readInt32());
                return;
            case INT64:
                out.value(reader.readInt64());
                return;
            default:
                writeOtherValue(reader, out);
        }
    }

    private static void writeArray(BsonReader reader, JsonSink out, boolean checkRepeats) throws IOException {
        reader.readStartArray();
        out.startArray();
        int index = 0;
        while (reader.readBsonType() != BsonType.END_OF_DOCUMENT) {
            try {
                writeValue(reader, out, checkRepeats);
            } catch (Rejection e) {
                throw e.in(Integer.toString(index));
            }
            index++;
        }
        reader.readEndArray();
        out.endArray();
    }

    /** The less common types, apart so that the common ones stay a method the JIT inlines. */
    private static void writeOtherValue(BsonReader reader, JsonSink out) throws IOException {
        switch (reader.getCurrentBsonType()) {
            case UNDEFINED:
                reader.readUndefined();
                out.nullValue();
                return;
            case SYMBOL:
                out.value(reader.readSymbol());
                return;
            case JAVASCRIPT:
                out.value(reader.readJavaScript());
                return;
            case DECIMAL128:
                out.value(reader.readDecimal128().toString());
                return;
            case BINARY:
                out.value(binary(reader.readBinaryData()));
                return;
            case JAVASCRIPT_WITH_SCOPE:
            case REGULAR_EXPRESSION:
            case DB_POINTER:
            case TIMESTAMP:
            case MIN_KEY:
            case MAX_KEY:
                // the types mapped to a JSON object: that object, written as a document
                writeDocument(new BsonDocumentReader(mappedObject(VALUE_CODEC.decode(reader, DECODER_CONTEXT))), out, false, false);
                return;
            default:
                throw new Rejection("unsupported BSON type " + reader.getCurrentBsonType());
        }
    }

    /** Thrown where a raw document repeats a field name: {@link #source} then reads it decoded. */
    private static final class RepeatedName extends RuntimeException {
        static final RepeatedName INSTANCE = new RepeatedName();

        private RepeatedName() {
            super(null, null, false, false);
        }
    }

    /**
     * A rejection on its way out of the walk: thrown where a value or a name is refused, with no path, and given each
     * enclosing field name or array index as it passes, so that the walk builds no path for the documents it takes.
     */
    private static final class Rejection extends RuntimeException {
        private final String reason;
        private final List<String> innermostFirst = new ArrayList<>();

        Rejection(String reason) {
            super(reason, null, false, false);
            this.reason = reason;
        }

        Rejection in(String segment) {
            innermostFirst.add(segment);
            return this;
        }

        RejectedDocumentException under(String base) {
            String path = base;
            for (int i = innermostFirst.size() - 1; i >= 0; i--) {
                path = join(path, innermostFirst.get(i));
            }
            return new RejectedDocumentException(path, reason);
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
        String problem = fieldNameProblem(name, topLevel);
        if (problem != null) {
            throw new RejectedDocumentException(path, problem);
        }
    }

    /** Why Elasticsearch refuses or misreads a field name, or null when it takes it. */
    private static String fieldNameProblem(String name, boolean topLevel) {
        if (name.isEmpty()) {
            return "empty field name";
        }
        if (name.isBlank()) {
            return "field name of only whitespace";
        }
        if (name.startsWith(".") || name.endsWith(".")) {
            return "field name starting or ending with [.]";
        }
        if (name.contains("..")) {
            return "field name with an empty path segment";
        }
        if (topLevel && METADATA_FIELDS.contains(name)) {
            return "field name [" + name + "] is an Elasticsearch metadata field";
        }
        return null;
    }

    private static String binary(BsonBinary binary) {
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

package org.mongofollow.apply;

import org.bson.BsonArray;
import org.bson.BsonBinary;
import org.bson.BsonBinarySubType;
import org.bson.BsonBoolean;
import org.bson.BsonDateTime;
import org.bson.BsonDbPointer;
import org.bson.BsonDecimal128;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonJavaScript;
import org.bson.BsonJavaScriptWithScope;
import org.bson.BsonMaxKey;
import org.bson.BsonMinKey;
import org.bson.BsonNull;
import org.bson.BsonObjectId;
import org.bson.BsonRegularExpression;
import org.bson.BsonString;
import org.bson.BsonSymbol;
import org.bson.BsonTimestamp;
import org.bson.BsonUndefined;
import org.bson.BsonValue;
import org.bson.types.Decimal128;
import org.bson.types.ObjectId;
import org.elasticsearch.common.time.DateFormatter;
import org.elasticsearch.common.time.DateFormatters;
import org.elasticsearch.indices.IndicesModule;
import org.junit.Test;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/** One test per row of docs/bson-mapping.md. */
public class BsonToJsonTests {

    private static Object json(BsonValue value) {
        return BsonToJson.toJsonValue(value, "f");
    }

    private static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            map.put((String) keyValues[i], keyValues[i + 1]);
        }
        return map;
    }

    private static void rejected(BsonValue value, String reasonPart) {
        try {
            json(value);
            fail("expected a rejection for " + value);
        } catch (RejectedDocumentException e) {
            assertTrue(e.reason(), e.reason().contains(reasonPart));
        }
    }

    @Test
    public void doubleIsADouble() {
        assertStrictEquals("", 9.5, json(new BsonDouble(9.5)));
        assertStrictEquals("", 3.0, json(new BsonDouble(3.0)));
        assertStrictEquals("", 1.0E308, json(new BsonDouble(1.0E308)));
    }

    @Test
    public void negativeZeroIsKept() {
        Object value = json(new BsonDouble(-0.0));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double) value));
    }

    @Test
    public void nonFiniteDoublesAreRejected() {
        rejected(new BsonDouble(Double.NaN), "non-finite double [NaN]");
        rejected(new BsonDouble(Double.POSITIVE_INFINITY), "non-finite double [Infinity]");
        rejected(new BsonDouble(Double.NEGATIVE_INFINITY), "non-finite double [-Infinity]");
    }

    @Test
    public void stringIsAString() {
        assertStrictEquals("", "héllo", json(new BsonString("héllo")));
    }

    @Test
    public void symbolIsAString() {
        assertStrictEquals("", "sym", json(new BsonSymbol("sym")));
    }

    @Test
    public void javaScriptIsItsCode() {
        assertStrictEquals("", "function() { return 1; }", json(new BsonJavaScript("function() { return 1; }")));
    }

    @Test
    public void javaScriptWithScopeIsCodeAndScope() {
        Object value = json(new BsonJavaScriptWithScope("return x;", new BsonDocument("x", new BsonInt32(1))));
        assertStrictEquals("", map("code", "return x;", "scope", map("x", 1)), value);
    }

    @Test
    public void documentKeepsFieldOrder() {
        BsonDocument doc = new BsonDocument("z", new BsonInt32(1)).append("a", new BsonInt32(2)).append("m", new BsonDocument());
        assertStrictEquals("", map("z", 1, "a", 2, "m", map()), json(doc));
    }

    @Test
    public void arrayIsAList() {
        BsonArray array = new BsonArray(List.of(new BsonInt32(1), new BsonArray(List.of(new BsonString("x"))), new BsonDocument()));
        assertStrictEquals("", Arrays.asList(1, List.of("x"), map()), json(array));
    }

    @Test
    public void uuidBinaryIsTheCanonicalUuidString() {
        BsonBinary uuid = new BsonBinary(BsonBinarySubType.UUID_STANDARD, java.util.Base64.getDecoder().decode("sqHD1A5fSmuMfZ4PGis8TQ=="));
        assertStrictEquals("", "b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d", json(uuid));
        assertStrictEquals("", "123e4567-e89b-12d3-a456-426614174000", json(new BsonBinary(java.util.UUID.fromString("123e4567-e89b-12d3-a456-426614174000"))));
    }

    @Test
    public void legacyUuidBinaryIsItsBytesInStoredOrder() {
        BsonBinary legacy = new BsonBinary(BsonBinarySubType.UUID_LEGACY, java.util.Base64.getDecoder().decode("sqHD1A5fSmuMfZ4PGis8TQ=="));
        assertStrictEquals("", "b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d", json(legacy));
    }

    @Test
    public void uuidSubtypesOfAnotherLengthAreBase64() {
        assertStrictEquals("", "AAE=", json(new BsonBinary(BsonBinarySubType.UUID_STANDARD, new byte[] { 0, 1 })));
        assertStrictEquals("", "AAE=", json(new BsonBinary(BsonBinarySubType.UUID_LEGACY, new byte[] { 0, 1 })));
    }

    @Test
    public void otherBinaryIsBase64() {
        byte[] data = { 0, 1, 2, 3 };
        for (byte subtype : new byte[] { 0, 1, 2, 5, 6, 7, 8, 9, (byte) 0x80 }) {
            assertStrictEquals("subtype " + subtype, "AAECAw==", json(new BsonBinary(subtype, data)));
        }
        assertStrictEquals("", "", json(new BsonBinary(new byte[0])));
    }

    @Test
    public void undefinedAndNullAreNull() {
        assertNull(json(new BsonUndefined()));
        assertNull(json(BsonNull.VALUE));
    }

    @Test
    public void objectIdIsItsHexDigits() {
        assertStrictEquals("", "6632a1f0c2b5a4e1d0f3a001", json(new BsonObjectId(new ObjectId("6632a1f0c2b5a4e1d0f3a001"))));
    }

    @Test
    public void booleanIsABoolean() {
        assertStrictEquals("", true, json(BsonBoolean.TRUE));
        assertStrictEquals("", false, json(BsonBoolean.FALSE));
    }

    @Test
    public void dateIsIsoUtcWithMilliseconds() {
        assertStrictEquals("", "2024-05-01T12:00:00.123Z", json(new BsonDateTime(1714564800123L)));
        assertStrictEquals("", "1970-01-01T00:00:00.000Z", json(new BsonDateTime(0)));
        assertStrictEquals("", "1969-12-31T23:59:59.999Z", json(new BsonDateTime(-1)));
        assertStrictEquals("", "1968-12-31T23:59:59.999Z", json(new BsonDateTime(-31536000001L)));
        assertStrictEquals("", "0001-01-01T00:00:00.000Z", json(new BsonDateTime(-62135596800000L)));
        assertStrictEquals("", "0000-12-31T23:59:59.999Z", json(new BsonDateTime(-62135596800001L)));
        assertStrictEquals("", "-0001-01-01T00:00:00.000Z", json(new BsonDateTime(-62198755200000L)));
        assertStrictEquals("", "9999-12-31T23:59:59.999Z", json(new BsonDateTime(253402300799999L)));
    }

    @Test
    public void datesAfter9999UseExpandedYears() {
        assertStrictEquals("", "+10000-01-01T00:00:00.000Z", json(new BsonDateTime(253402300800000L)));
        assertStrictEquals("", "+292278994-08-17T07:12:55.807Z", json(new BsonDateTime(Long.MAX_VALUE)));
        assertStrictEquals("", "-292275055-05-16T16:47:04.192Z", json(new BsonDateTime(Long.MIN_VALUE)));
    }

    @Test
    public void datesInFourDigitYearsParseWithElasticsearchDateFormat() {
        DateFormatter formatter = DateFormatter.forPattern("strict_date_optional_time");
        for (long millis : new long[] { 0, -1, 1714564800123L, -31536000001L, -62135596800000L, -62198755200000L,
            253402300799999L, -377705116800000L /* -9999-01-01 */ }) {
            String formatted = (String) json(new BsonDateTime(millis));
            long parsed = DateFormatters.from(formatter.parse(formatted)).toInstant().toEpochMilli();
            assertEquals(formatted, millis, parsed);
        }
    }

    @Test
    public void regularExpressionIsPatternAndOptions() {
        assertStrictEquals("", map("pattern", "^a.*z$", "options", "im"), json(new BsonRegularExpression("^a.*z$", "mi")));
    }

    @Test
    public void dbPointerIsRefAndId() {
        Object value = json(new BsonDbPointer("test.other", new ObjectId("6632a1f0c2b5a4e1d0f3a002")));
        assertStrictEquals("", map("$ref", "test.other", "$id", "6632a1f0c2b5a4e1d0f3a002"), value);
    }

    @Test
    public void int32IsAnInteger() {
        assertStrictEquals("", Integer.MIN_VALUE, json(new BsonInt32(Integer.MIN_VALUE)));
        assertStrictEquals("", 5, json(new BsonInt32(5)));
    }

    @Test
    public void timestampIsSecondsAndIncrement() {
        assertStrictEquals("", map("t", 1714564800L, "i", 7L), json(new BsonTimestamp(1714564800, 7)));
        assertStrictEquals("unsigned", map("t", 4294967295L, "i", 4294967295L), json(new BsonTimestamp(-1, -1)));
    }

    @Test
    public void int64IsAnExactLong() {
        assertStrictEquals("", 9007199254740993L, json(new BsonInt64(9007199254740993L)));
        assertStrictEquals("", Long.MAX_VALUE, json(new BsonInt64(Long.MAX_VALUE)));
        assertStrictEquals("", Long.MIN_VALUE, json(new BsonInt64(Long.MIN_VALUE)));
        assertStrictEquals("", 3L, json(new BsonInt64(3)));
    }

    @Test
    public void decimal128IsAString() {
        assertStrictEquals("", "1.10", json(new BsonDecimal128(Decimal128.parse("1.10"))));
        assertStrictEquals("", "-0", json(new BsonDecimal128(Decimal128.NEGATIVE_ZERO)));
        assertStrictEquals("", "NaN", json(new BsonDecimal128(Decimal128.NaN)));
        assertStrictEquals("", "-Infinity", json(new BsonDecimal128(Decimal128.NEGATIVE_INFINITY)));
        assertStrictEquals("", "1.23E-20", json(new BsonDecimal128(Decimal128.parse("1.23E-20"))));
        assertStrictEquals("", "1E+6111", json(new BsonDecimal128(Decimal128.parse("1E+6111"))));
        assertStrictEquals("", "-1.5", json(new BsonDecimal128(new Decimal128(new BigDecimal("-1.5")))));
    }

    @Test
    public void minAndMaxKeyAreMarkerObjects() {
        assertStrictEquals("", map("$minKey", 1), json(new BsonMinKey()));
        assertStrictEquals("", map("$maxKey", 1), json(new BsonMaxKey()));
    }

    @Test
    public void sourceLeavesOutTopLevelIdOnly() {
        BsonDocument doc = BsonDocument.parse("{a: 1, _id: 5, sub: {_id: 6, b: 'x'}}");
        assertStrictEquals("", map("a", 1, "sub", map("_id", 6, "b", "x")), BsonToJson.toSource(doc));
    }

    @Test
    public void dottedAndDollarNamesAreKept() {
        BsonDocument doc = BsonDocument.parse("{'a.b': 1, '$x': 2, sub: {'c.d': 3, '$y': 4}}");
        assertStrictEquals("", map("a.b", 1, "$x", 2, "sub", map("c.d", 3, "$y", 4)), BsonToJson.toSource(doc));
    }

    @Test
    public void namesElasticsearchRefusesRejectTheDocument() {
        for (String json : List.of("{'': 1}", "{'   ': 1}", "{'.a': 1}", "{'a.': 1}", "{'...': 1}", "{'a..b': 1}",
            "{s: {'': 1}}", "{s: {'.x': 1}}", "{arr: [{'x.': 1}]}", "{_source: 1}", "{_routing: 1}", "{_index: 1}",
            "{_version: 1}", "{_seq_no: 1}", "{_ignored: 1}", "{_field_names: 1}")) {
            try {
                BsonToJson.toSource(BsonDocument.parse(json));
                fail("expected a rejection for " + json);
            } catch (RejectedDocumentException e) {
                assertFalse(e.reason().isBlank());
            }
        }
    }

    @Test
    public void rejectionsNameThePath() {
        try {
            BsonToJson.toSource(BsonDocument.parse("{a: {b: [1, {c: NaN}]}}"));
            fail();
        } catch (RejectedDocumentException e) {
            assertEquals("a.b.1.c", e.path());
            assertTrue(e.reason(), e.reason().contains("[a.b.1.c]"));
        }
    }

    @Test
    public void metadataNamesAreAllowedInsideSubDocuments() {
        BsonDocument doc = BsonDocument.parse("{sub: {_source: 1, _routing: 2, _id: 3}}");
        assertStrictEquals("", map("sub", map("_source", 1, "_routing", 2, "_id", 3)), BsonToJson.toSource(doc));
    }

    @Test
    public void metadataNamesCoverElasticsearchBuiltIns() {
        assertTrue(BsonToJson.METADATA_FIELDS.containsAll(IndicesModule.getBuiltInMetadataFields()));
    }

    @Test
    public void everyTypeOfTheAllTypesCaseConverts() {
        BsonDocument doc = BsonDocument.parse("""
            {"_id": 1, "ts": {"$timestamp": {"t": 1, "i": 2}}, "regex": {"$regularExpression": {"pattern": "a", "options": ""}},
             "min": {"$minKey": 1}, "max": {"$maxKey": 1}, "undef": {"$undefined": true},
             "ptr": {"$dbPointer": {"$ref": "db.c", "$id": {"$oid": "6632a1f0c2b5a4e1d0f3a002"}}},
             "code": {"$code": "x"}, "cws": {"$code": "y", "$scope": {}}, "sym": {"$symbol": "s"},
             "vector": {"$binary": {"base64": "JwAAAIA/AAAAQA==", "subType": "09"}}}""");
        Map<String, Object> source = BsonToJson.toSource(doc);
        assertStrictEquals("", map("ts", map("t", 1L, "i", 2L), "regex", map("pattern", "a", "options", ""),
            "min", map("$minKey", 1), "max", map("$maxKey", 1), "undef", null,
            "ptr", map("$ref", "db.c", "$id", "6632a1f0c2b5a4e1d0f3a002"), "code", "x",
            "cws", map("code", "y", "scope", map()), "sym", "s", "vector", "JwAAAIA/AAAAQA=="), source);
    }

    // ---- the one writer writes the same from raw BSON, from a decoded document, and into Java objects ----

    private static final List<String> SAME_BYTES_CASES = List.of(
        "{_id: 'a', i: 1, l: {'$numberLong': '9007199254740993'}, d: 1.5, nz: -0.0, big: 1e300, s: 'h\\u00e9\\\"\\n', b: true, f: false, n: null,"
            + " date: {'$date': '2024-05-01T10:11:12.345Z'}, far: {'$date': {'$numberLong': '253402300800000'}},"
            + " neg: {'$date': {'$numberLong': '-62135596800001'}}, oid: {'$oid': '6632a1f0c2b5a4e1d0f3a002'},"
            + " sub: {_id: 2, 'a.b': [1, 'x', {c: null}, [], {}], '$y': {z: [[1, 2], [3]]}}, arr: [1, 2.5, 'x', true, null],"
            + " dec: {'$numberDecimal': '1.10'}, uuid: {'$binary': {base64: 'AAECAwQFBgcICQoLDA0ODw==', subType: '04'}},"
            + " bin: {'$binary': {base64: 'AQID', subType: '00'}}, ts: {'$timestamp': {t: 4294967295, i: 7}},"
            + " regex: {'$regularExpression': {pattern: 'a.*', options: 'i'}}, min: {'$minKey': 1}, max: {'$maxKey': 1},"
            + " undef: {'$undefined': true}, ptr: {'$dbPointer': {'$ref': 'db.c', '$id': {'$oid': '6632a1f0c2b5a4e1d0f3a002'}}},"
            + " code: {'$code': 'x'}, cws: {'$code': 'y', '$scope': {q: [1, {r: 2}]}}, sym: {'$symbol': 's'}, deep: [{a: [{b: {'$date': 0}}]}]}",
        "{}", "{_id: 1}", "{a: []}", "{a: {}}", "{a: [[[]]]}", "{x: 1, _id: {k: 2}, y: 'z'}",
        "{'': 1}", "{a: {b: [1, {c: NaN}]}}", "{a: Infinity}", "{_source: 1}", "{s: {'.x': 1}}", "{arr: [{'x.': 1}]}",
        "{a: [1, {b: -Infinity}], c: {'': 1}}", "{a: {'$date': {'$numberLong': '-9223372036854775808'}}}"
    );

    private static String viaMap(BsonDocument document) throws Exception {
        try (org.elasticsearch.xcontent.XContentBuilder builder = org.elasticsearch.xcontent.json.JsonXContent.contentBuilder()) {
            builder.map(BsonToJson.toSource(document));
            return org.elasticsearch.common.Strings.toString(builder);
        } catch (RejectedDocumentException e) {
            return "rejected " + e.path() + ": " + e.reason();
        }
    }

    private static String viaSource(BsonDocument document) throws Exception {
        try {
            return BsonToJson.source(document).utf8ToString();
        } catch (RejectedDocumentException e) {
            return "rejected " + e.path() + ": " + e.reason();
        }
    }

    private static String viaShardOperation(BsonDocument document) throws Exception {
        try {
            return ShardOperation.index("id", 1, document, FieldSelection.ALL).payload().utf8ToString();
        } catch (RejectedDocumentException e) {
            return "rejected " + e.path() + ": " + e.reason();
        }
    }

    private static org.bson.RawBsonDocument raw(BsonDocument document) {
        return new org.bson.RawBsonDocument(document, new org.bson.codecs.BsonDocumentCodec());
    }

    @Test
    public void bytesFromRawAndDecodedDocumentsEqualWhatTheMapWrites() throws Exception {
        for (String json : SAME_BYTES_CASES) {
            BsonDocument document = BsonDocument.parse(json);
            String expected = viaMap(document);
            assertEquals(json, expected, viaSource(document));
            assertEquals(json, expected, viaSource(raw(document)));
            assertEquals(json, expected, viaShardOperation(document));
            assertEquals(json, expected, viaShardOperation(raw(document)));
        }
    }

    @Test
    public void aValueAloneIsWhatItIsInADocument() throws Exception {
        BsonDocument document = BsonDocument.parse(SAME_BYTES_CASES.get(0));
        Map<String, Object> source = BsonToJson.toSource(document);
        for (Map.Entry<String, BsonValue> e : document.entrySet()) {
            if (e.getKey().equals("_id") == false) {
                assertStrictEquals(e.getKey(), source.get(e.getKey()), BsonToJson.toJsonValue(e.getValue(), e.getKey()));
            }
        }
        try {
            BsonToJson.toJsonValue(BsonDocument.parse("{a: [0, {'': 1}]}"), "x.y");
            fail();
        } catch (RejectedDocumentException e) {
            assertEquals("x.y.a.1.", e.path());
        }
    }

    @Test
    public void repeatedNamesInRawBsonKeepTheFirstPositionAndTheLastValue() throws Exception {
        // BSON with a repeated name at the top and inside a sub-document (drivers do not write it, the wire allows it)
        org.bson.io.BasicOutputBuffer out = new org.bson.io.BasicOutputBuffer();
        try (org.bson.BsonBinaryWriter writer = new org.bson.BsonBinaryWriter(out)) {
            writer.writeStartDocument();
            writer.writeDouble("a", Double.NaN);
            writer.writeInt32("b", 2);
            writer.writeStartDocument("s");
            writer.writeInt32("x", 1);
            writer.writeInt32("x", 3);
            writer.writeEndDocument();
            writer.writeInt32("a", 1);
            writer.writeEndDocument();
        }
        org.bson.RawBsonDocument document = new org.bson.RawBsonDocument(out.toByteArray());
        assertEquals("{\"a\":1,\"b\":2,\"s\":{\"x\":3}}", viaSource(document));
        assertEquals(viaMap(document), viaShardOperation(document));
        assertEquals(viaMap(document), viaSource(document));
    }

    @Test
    public void dateFastPathWritesWhatTheFormatterWrites() {
        java.time.format.DateTimeFormatter formatter =
            java.time.format.DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(java.time.ZoneOffset.UTC);
        java.util.Random random = new java.util.Random(42);
        List<Long> cases = new java.util.ArrayList<>(List.of(0L, 1L, 999L, 1000L, 86_399_999L, 86_400_000L, 951_782_400_000L,
            1_709_164_800_000L, 253_402_300_799_999L, 253_402_300_800_000L, -1L, -86_400_000L, Long.MAX_VALUE / 2));
        for (int i = 0; i < 100_000; i++) {
            cases.add(random.nextLong(-100_000_000_000_000L, 300_000_000_000_000L));
        }
        for (long millis : cases) {
            assertEquals(Long.toString(millis), formatter.format(java.time.Instant.ofEpochMilli(millis)), BsonToJson.formatDate(millis));
        }
    }
}

package org.mongofollow.embedded;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.bson.BsonArray;
import org.bson.BsonBinary;
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
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.bson.types.Decimal128;
import org.bson.types.ObjectId;
import org.junit.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

/**
 * Every BSON type, including the deprecated ones and every binary subtype, goes through the embedded
 * server unchanged: inserted by the real driver, stored, returned by find and getMore, and written to (or
 * injected into) the oplog, byte for byte.
 */
public class BsonTypesRoundTripTests {

    /** One field per type and edge value; {@code _id} first, as the server stores it. */
    static BsonDocument everyType(int id) {
        BsonDocument d = new BsonDocument("_id", new BsonInt32(id));
        d.put("double", new BsonDouble(1.5));
        d.put("double_neg_zero", new BsonDouble(-0.0));
        d.put("double_nan", new BsonDouble(Double.NaN));
        d.put("double_inf", new BsonDouble(Double.NEGATIVE_INFINITY));
        d.put("string", new BsonString("h\u00e9llo \u2713"));
        d.put("string_empty", new BsonString(""));
        d.put("document", new BsonDocument("a", new BsonInt32(1)).append("b", new BsonDocument()));
        d.put("array", new BsonArray(List.of(new BsonInt32(1), new BsonArray(), new BsonString("x"))));
        for (int subtype : new int[] {0x00, 0x01, 0x02, 0x05, 0x06, 0x07, 0x08, 0x09, 0x80, 0xff}) {
            d.put(String.format("binary_%02x", subtype), new BsonBinary((byte) subtype, new byte[] {0, 1, (byte) 0xfe}));
        }
        d.put("binary_empty", new BsonBinary(new byte[0]));
        d.put("binary_03", new BsonBinary((byte) 0x03, sixteenBytes()));
        d.put("binary_04", new BsonBinary((byte) 0x04, sixteenBytes()));
        d.put("binary_03_short", new BsonBinary((byte) 0x03, new byte[] {1, 2, 3}));
        d.put("binary_04_short", new BsonBinary((byte) 0x04, new byte[] {1, 2, 3}));
        d.put("undefined", new BsonUndefined());
        d.put("object_id", new BsonObjectId(new ObjectId("6632a1f0c2b5a4e1d0f3a001")));
        d.put("true", BsonBoolean.TRUE);
        d.put("false", BsonBoolean.FALSE);
        d.put("date", new BsonDateTime(1714564800123L));
        d.put("date_before_1970", new BsonDateTime(-31536000001L));
        d.put("date_after_9999", new BsonDateTime(253402300800000L));
        d.put("date_min", new BsonDateTime(Long.MIN_VALUE));
        d.put("date_max", new BsonDateTime(Long.MAX_VALUE));
        d.put("null", BsonNull.VALUE);
        d.put("regex", new BsonRegularExpression("^a.*z$", "imsux"));
        d.put("regex_no_options", new BsonRegularExpression("a\\.b"));
        d.put("db_pointer", new BsonDbPointer("test.other", new ObjectId("6632a1f0c2b5a4e1d0f3a002")));
        d.put("code", new BsonJavaScript("function() { return 1; }"));
        d.put("symbol", new BsonSymbol("sym"));
        d.put("code_with_scope", new BsonJavaScriptWithScope("function() { return x; }",
            new BsonDocument("x", new BsonInt32(1)).append("bin", new BsonBinary((byte) 0x07, new byte[] {7}))));
        d.put("int32_min", new BsonInt32(Integer.MIN_VALUE));
        d.put("int32_max", new BsonInt32(Integer.MAX_VALUE));
        d.put("timestamp", new BsonTimestamp(1714564800, 7));
        d.put("timestamp_max", new BsonTimestamp(-1, -1));
        d.put("int64_min", new BsonInt64(Long.MIN_VALUE));
        d.put("int64_max", new BsonInt64(Long.MAX_VALUE));
        d.put("decimal", new BsonDecimal128(Decimal128.parse("1.10")));
        d.put("decimal_big", new BsonDecimal128(Decimal128.parse("1.000000000000000000000000000000001E+6144")));
        d.put("decimal_nan", new BsonDecimal128(Decimal128.NaN));
        d.put("decimal_neg_zero", new BsonDecimal128(Decimal128.NEGATIVE_ZERO));
        d.put("decimal_inf", new BsonDecimal128(Decimal128.NEGATIVE_INFINITY));
        d.put("min_key", new BsonMinKey());
        d.put("max_key", new BsonMaxKey());
        d.put("deprecated_nested", new BsonArray(List.of(new BsonUndefined(), new BsonSymbol("s"),
            new BsonDocument("p", new BsonDbPointer("a.b", new ObjectId("6632a1f0c2b5a4e1d0f3a003")))
                .append("b", new BsonBinary((byte) 0x80, new byte[] {1})))));
        return d;
    }

    private static byte[] sixteenBytes() {
        byte[] bytes = new byte[16];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (0xa0 + i);
        }
        return bytes;
    }

    @Test
    public void everyTypeSurvivesInsertFindGetMoreAndTheOplog() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<BsonDocument> coll = client.getDatabase("test").getCollection("types", BsonDocument.class);
            List<BsonDocument> inserted = new ArrayList<>();
            for (int id = 1; id <= 5; id++) {
                inserted.add(everyType(id));
            }
            coll.insertOne(inserted.get(0).clone());
            coll.insertMany(cloneAll(inserted.subList(1, inserted.size())));

            assertSameDocument("find", inserted.get(0), coll.find(Filters.eq("_id", 1)).first());
            assertSameBytes(inserted.get(0), coll.withDocumentClass(RawBsonDocument.class).find(Filters.eq("_id", 1)).first());
            List<BsonDocument> batches = coll.find().batchSize(2).into(new ArrayList<>()); // first batch, then getMores
            assertEquals(inserted.size(), batches.size());
            for (int i = 0; i < inserted.size(); i++) {
                assertSameDocument("find with getMore, document " + i, inserted.get(i), batches.get(i));
            }

            // values the library has no class for can still be matched by equality
            assertEquals(5, coll.countDocuments(Filters.eq("symbol", new BsonSymbol("sym"))));
            assertEquals(5, coll.countDocuments(Filters.eq("binary_80", new BsonBinary((byte) 0x80, new byte[] {0, 1, (byte) 0xfe}))));
            assertEquals(0, coll.countDocuments(Filters.eq("binary_80", new BsonBinary(new byte[] {0, 1, (byte) 0xfe}))));

            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
            BsonDocument insertEntry = oplog.find(Filters.and(Filters.eq("op", "i"), Filters.eq("ns", "test.types"),
                Filters.eq("o._id", 1))).first();
            assertSameDocument("oplog insert", inserted.get(0), insertEntry.getDocument("o"));

            // an update that sets a field to a sub-document of every type: the v2 diff carries it
            BsonDocument sub = everyType(0);
            sub.remove("_id");
            coll.updateOne(Filters.eq("_id", 1), Updates.set("copy", sub));
            BsonDocument updated = inserted.get(0).clone().append("copy", sub);
            assertSameDocument("find after update", updated, coll.find(Filters.eq("_id", 1)).first());
            BsonDocument updateEntry = oplog.find(Filters.and(Filters.eq("op", "u"), Filters.eq("ns", "test.types"))).first();
            assertSameDocument("oplog update diff", sub, updateEntry.getDocument("o").getDocument("diff").getDocument("i").getDocument("copy"));
        }
    }

    @Test
    public void everyTypeSurvivesAnInjectedOplogEntry() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().rawOplog(true));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
            BsonDocument entry = new BsonDocument("op", new BsonString("i"))
                .append("ns", new BsonString("test.coll"))
                .append("o", everyType(1))
                .append("ts", new BsonTimestamp(1714614000, 1))
                .append("t", new BsonInt64(1))
                .append("v", new BsonInt64(2))
                .append("wall", new BsonDateTime(1714614000001L));
            oplog.insertOne(entry.clone());
            List<BsonDocument> read = oplog.find().batchSize(1).into(new ArrayList<>());
            assertEquals(1, read.size());
            assertSameDocument("injected entry", entry, read.get(0));
            assertSameBytes(entry, oplog.withDocumentClass(RawBsonDocument.class).find().first());
        }
    }

    private static List<BsonDocument> cloneAll(List<BsonDocument> documents) {
        List<BsonDocument> out = new ArrayList<>();
        documents.forEach(d -> out.add(d.clone()));
        return out;
    }

    /** Field by field (for a readable failure), then as a whole. */
    private static void assertSameDocument(String what, BsonDocument expected, BsonDocument actual) {
        assertEquals(what + ": field names", new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()));
        for (Map.Entry<String, BsonValue> e : expected.entrySet()) {
            BsonValue value = actual.get(e.getKey());
            assertEquals(what + ": type of " + e.getKey(), e.getValue().getBsonType(), value.getBsonType());
            assertEquals(what + ": value of " + e.getKey(), e.getValue(), value);
        }
        assertEquals(what, expected, actual);
    }

    private static void assertSameBytes(BsonDocument expected, RawBsonDocument actual) {
        byte[] expectedBytes = bytes(new RawBsonDocument(expected, new BsonDocumentCodec()));
        assertArrayEquals("the document's BSON bytes", expectedBytes, bytes(actual));
    }

    private static byte[] bytes(RawBsonDocument document) {
        java.nio.ByteBuffer buffer = document.getByteBuffer().asNIO();
        return Arrays.copyOfRange(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.arrayOffset() + buffer.limit());
    }
}

package org.mongofollow.operation;

import org.bson.BsonBinary;
import org.bson.BsonDateTime;
import org.bson.BsonDecimal128;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonNull;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.types.Decimal128;
import org.bson.types.ObjectId;
import org.junit.Test;

import java.util.UUID;

import static org.junit.Assert.assertEquals;

/** DESIGN.md section 7: the Elasticsearch _id of a MongoDB _id. */
public class DocumentIdsTests {

    private static String id(org.bson.BsonValue value) {
        return DocumentIds.toElasticsearchId(value);
    }

    @Test
    public void objectIdIsItsHexDigits() {
        assertEquals("6632a1f0c2b5a4e1d0f3a001", id(new BsonObjectId(new ObjectId("6632a1f0c2b5a4e1d0f3a001"))));
    }

    @Test
    public void stringIsAsIs() {
        assertEquals("user-42", id(new BsonString("user-42")));
        assertEquals("", id(new BsonString("")));
        assertEquals("{\"a\": 1}", id(new BsonString("{\"a\": 1}")));
    }

    @Test
    public void integralNumbersAreDecimalDigits() {
        assertEquals("5", id(new BsonInt32(5)));
        assertEquals("-7", id(new BsonInt32(-7)));
        assertEquals("9007199254740993", id(new BsonInt64(9007199254740993L)));
        assertEquals("-9223372036854775808", id(new BsonInt64(Long.MIN_VALUE)));
        assertEquals("7", id(new BsonDouble(7.0)));
        assertEquals("-3", id(new BsonDouble(-3.0)));
        assertEquals("0", id(new BsonDouble(-0.0)));
        assertEquals("100000000000000000000", id(new BsonDouble(1e20)));
    }

    @Test
    public void otherValuesAreRelaxedExtendedJson() {
        assertEquals("7.5", id(new BsonDouble(7.5)));
        assertEquals("{\"$numberDouble\": \"NaN\"}", id(new BsonDouble(Double.NaN)));
        assertEquals("{\"$numberDouble\": \"Infinity\"}", id(new BsonDouble(Double.POSITIVE_INFINITY)));
        assertEquals("{\"$numberDecimal\": \"5\"}", id(new BsonDecimal128(Decimal128.parse("5"))));
        assertEquals("{\"a\": 1, \"b\": \"x\"}", id(BsonDocument.parse("{a: 1, b: 'x'}")));
        assertEquals("{\"a\": 1}", id(BsonDocument.parse("{a: NumberLong(1)}")));
        assertEquals("{\"$date\": \"2024-05-01T12:00:00Z\"}", id(new BsonDateTime(1714564800000L)));
        assertEquals("{\"$binary\": {\"base64\": \"EjRWeJCrze8SNFZ4kKvN7w==\", \"subType\": \"04\"}}",
            id(new BsonBinary(UUID.fromString("12345678-90ab-cdef-1234-567890abcdef"))));
        assertEquals("null", id(BsonNull.VALUE));
        assertEquals("[1, 2]", id(BsonDocument.parse("{v: [1, 2]}").get("v")));
    }
}

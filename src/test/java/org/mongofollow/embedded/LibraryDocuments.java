package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonValue;

/** Converts simple BSON values (of the conformance cases and the tests' random documents) between the driver's and the library's models. */
public final class LibraryDocuments {

    private LibraryDocuments() {
    }

    public static de.bwaldvogel.mongo.bson.Document of(BsonDocument document) {
        de.bwaldvogel.mongo.bson.Document out = new de.bwaldvogel.mongo.bson.Document();
        for (Map.Entry<String, BsonValue> e : document.entrySet()) {
            out.put(e.getKey(), value(e.getValue()));
        }
        return out;
    }

    private static Object value(BsonValue v) {
        switch (v.getBsonType()) {
            case DOCUMENT: return of(v.asDocument());
            case ARRAY: {
                List<Object> list = new ArrayList<>();
                for (BsonValue element : v.asArray()) {
                    list.add(value(element));
                }
                return list;
            }
            case INT32: return v.asInt32().getValue();
            case INT64: return v.asInt64().getValue();
            case DOUBLE: return v.asDouble().getValue();
            case STRING: return v.asString().getValue();
            case BOOLEAN: return v.asBoolean().getValue();
            case NULL: return null;
            default: throw new IllegalArgumentException("unsupported in tests: " + v);
        }
    }

    public static BsonDocument toBson(de.bwaldvogel.mongo.bson.Document document) {
        BsonDocument out = new BsonDocument();
        for (Map.Entry<String, Object> e : document.entrySet()) {
            out.put(e.getKey(), toBsonValue(e.getValue()));
        }
        return out;
    }

    private static BsonValue toBsonValue(Object v) {
        if (v == null) {
            return BsonNull.VALUE;
        } else if (v instanceof de.bwaldvogel.mongo.bson.Document) {
            return toBson((de.bwaldvogel.mongo.bson.Document) v);
        } else if (v instanceof List) {
            BsonArray array = new BsonArray();
            for (Object element : (List<?>) v) {
                array.add(toBsonValue(element));
            }
            return array;
        } else if (v instanceof Integer) {
            return new BsonInt32((Integer) v);
        } else if (v instanceof Long) {
            return new BsonInt64((Long) v);
        } else if (v instanceof Double) {
            return new BsonDouble((Double) v);
        } else if (v instanceof String) {
            return new BsonString((String) v);
        } else if (v instanceof Boolean) {
            return BsonBoolean.valueOf((Boolean) v);
        }
        throw new IllegalArgumentException("unsupported in tests: " + v);
    }
}

package org.mongofollow.embedded;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonJavaScript;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Decimal128;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.LegacyUUID;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * Helpers over the library's BSON value model ({@link Document}, {@link List}, boxed scalars): exact
 * (type- and order-sensitive) equality as MongoDB's binary comparison sees it, deep copies, and the
 * encoded BSON size of a value (used by the diff calculator, the byte cap of the oplog and the collections'
 * data size). Values the library has no class for are {@link RawBsonValue}s.
 */
final class BsonValues {

    private BsonValues() {
    }

    /** Binary equality: same BSON type, same value, same field order. {@code 3}, {@code 3L} and {@code 3.0} differ. */
    static boolean binaryEquals(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (a instanceof Document && b instanceof Document) {
            Document da = (Document) a;
            Document db = (Document) b;
            if (da.size() != db.size()) {
                return false;
            }
            Iterator<Map.Entry<String, Object>> ia = da.entrySet().iterator();
            Iterator<Map.Entry<String, Object>> ib = db.entrySet().iterator();
            while (ia.hasNext()) {
                Map.Entry<String, Object> ea = ia.next();
                Map.Entry<String, Object> eb = ib.next();
                if (!ea.getKey().equals(eb.getKey()) || !binaryEquals(ea.getValue(), eb.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof List && b instanceof List) {
            List<?> la = (List<?>) a;
            List<?> lb = (List<?>) b;
            if (la.size() != lb.size()) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                if (!binaryEquals(la.get(i), lb.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof BsonRegularExpression && b instanceof BsonRegularExpression) { // it has no equals of its own
            BsonRegularExpression ra = (BsonRegularExpression) a;
            BsonRegularExpression rb = (BsonRegularExpression) b;
            return ra.getPattern().equals(rb.getPattern()) && Objects.equals(ra.getOptions(), rb.getOptions());
        }
        return a.getClass() == b.getClass() && a.equals(b);
    }

    /** A deep copy of documents and arrays; scalars are immutable and shared. */
    static Object deepCopy(Object value) {
        if (value instanceof Document) {
            Document copy = new Document();
            for (Map.Entry<String, Object> e : ((Document) value).entrySet()) {
                copy.put(e.getKey(), deepCopy(e.getValue()));
            }
            return copy;
        }
        if (value instanceof List) {
            List<Object> copy = new ArrayList<>(((List<?>) value).size());
            for (Object element : (List<?>) value) {
                copy.add(deepCopy(element));
            }
            return copy;
        }
        return value;
    }

    static Document deepCopy(Document document) {
        return (Document) deepCopy((Object) document);
    }

    /** The size in bytes of {@code document} encoded as BSON. */
    static int documentSize(Document document) {
        int size = 4 + 1;
        for (Map.Entry<String, Object> e : document.entrySet()) {
            size += 1 + cstringSize(e.getKey()) + valueSize(e.getValue());
        }
        return size;
    }

    /** The size in bytes of {@code value} as a BSON element body (without type byte and name). */
    static int valueSize(Object value) {
        if (value == null) {
            return 0;
        } else if (value instanceof Document) {
            return documentSize((Document) value);
        } else if (value instanceof Map) {
            return documentSize(new Document(castMap(value)));
        } else if (value instanceof List) {
            List<?> list = (List<?>) value;
            int size = 4 + 1;
            for (int i = 0; i < list.size(); i++) {
                size += 1 + cstringSize(Integer.toString(i)) + valueSize(list.get(i));
            }
            return size;
        } else if (value instanceof String) {
            return 4 + ((String) value).getBytes(StandardCharsets.UTF_8).length + 1;
        } else if (value instanceof Integer) {
            return 4;
        } else if (value instanceof Long || value instanceof Double || value instanceof Instant
            || value instanceof BsonTimestamp) {
            return 8;
        } else if (value instanceof Boolean) {
            return 1;
        } else if (value instanceof ObjectId) {
            return 12;
        } else if (value instanceof Decimal128) {
            return 16;
        } else if (value instanceof UUID || value instanceof LegacyUUID) {
            return 4 + 1 + 16;
        } else if (value instanceof BinData) {
            return 4 + 1 + ((BinData) value).getData().length;
        } else if (value instanceof RawBsonValue) {
            return ((RawBsonValue) value).bodySize();
        } else if (value instanceof BsonRegularExpression) {
            BsonRegularExpression regex = (BsonRegularExpression) value;
            return cstringSize(regex.getPattern()) + cstringSize(regex.getOptions() == null ? "" : regex.getOptions());
        } else if (value instanceof BsonJavaScript) {
            return 4 + ((BsonJavaScript) value).getCode().getBytes(StandardCharsets.UTF_8).length + 1;
        }
        return 0; // min and max key
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Object value) {
        return (Map<String, Object>) value;
    }

    private static int cstringSize(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length + 1;
    }
}

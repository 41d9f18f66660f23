package org.mongofollow.embedded;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * A collection's shard key ({@code {field: 1, ...}} or one {@code {field: "hashed"}}): the key of a document, the exact key
 * a query names, and the order of keys, in which chunks hold ranges. A hashed field's key value is a 64-bit hash of the
 * value (numbers by their integral value, so {@code 1} and {@code 1.0} hash alike, as on mongod; the function is this
 * server's, not mongod's, which nothing outside the cluster sees).
 */
final class ShardKeyPattern {

    private final Document pattern;
    private final List<String> fields;
    private final String hashedField;

    private ShardKeyPattern(Document pattern, List<String> fields, String hashedField) {
        this.pattern = pattern;
        this.fields = fields;
        this.hashedField = hashedField;
    }

    /** The key of {@code shardCollection}, refused as mongod refuses it. */
    static ShardKeyPattern parse(Object key) {
        if (!(key instanceof Document pattern) || pattern.isEmpty()) {
            throw new MongoServerError(2, "BadValue", "shard key pattern must be a non-empty object, got " + key);
        }
        List<String> fields = new ArrayList<>();
        String hashed = null;
        for (Map.Entry<String, Object> e : pattern.entrySet()) {
            Object v = e.getValue();
            if ("hashed".equals(v)) {
                if (hashed != null) {
                    throw new MongoServerError(2, "BadValue", "a shard key pattern may have only one hashed field: " + pattern);
                }
                hashed = e.getKey();
            } else if (!(v instanceof Number n) || n.doubleValue() != 1) {
                throw new MongoServerError(2, "BadValue", "Shard key " + pattern + " must have values of 1 or \"hashed\"");
            }
            fields.add(e.getKey());
        }
        return new ShardKeyPattern(new Document(pattern), List.copyOf(fields), hashed);
    }

    Document pattern() {
        return new Document(pattern);
    }

    List<String> fields() {
        return fields;
    }

    boolean hashed() {
        return hashedField != null;
    }

    /** The key of a document: each field's value (null when missing; a hashed field's hash). */
    Document keyOf(Document document) {
        Document key = new Document();
        for (String field : fields) {
            key.put(field, keyValue(field, OplogWriter.valueAt(document, field)));
        }
        return key;
    }

    /** The key a query pins with an equality on every field (top-level {@code field: value} or {@code {$eq: value}}), or null. */
    Document exactKey(Document filter) {
        Document key = new Document();
        for (String field : fields) {
            if (filter == null || filter.containsKey(field) == false) {
                return null;
            }
            Object condition = filter.get(field);
            Object value;
            if (condition instanceof Document d && d.size() == 1 && d.containsKey("$eq")) {
                value = d.get("$eq");
            } else if (condition instanceof Document d && d.keySet().stream().anyMatch(k -> k.startsWith("$"))) {
                return null;
            } else {
                value = condition;
            }
            key.put(field, keyValue(field, value));
        }
        return key;
    }

    private Object keyValue(String field, Object value) {
        return field.equals(hashedField) ? hash(value) : value;
    }

    /** The smallest key: every field MinKey. */
    Document globalMin() {
        Document key = new Document();
        fields.forEach(f -> key.put(f, MinKey.getInstance()));
        return key;
    }

    Document globalMax() {
        Document key = new Document();
        fields.forEach(f -> key.put(f, MaxKey.getInstance()));
        return key;
    }

    /** Keys in chunk order: field by field, in BSON order. */
    int compare(Document a, Document b) {
        for (String field : fields) {
            int c = compareValues(a.get(field), b.get(field));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    static int compareValues(Object a, Object b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : (b instanceof MinKey ? 1 : -1)) : (a instanceof MinKey ? -1 : 1);
        }
        return ValueComparator.asc().compare(a, b);
    }

    /** A 64-bit hash of a value: the first 8 bytes of an MD5 of its type and canonical text. */
    static long hash(Object value) {
        String canonical;
        if (value instanceof Number n && (value instanceof Double || value instanceof Float) == false) {
            canonical = "n:" + n.longValue();
        } else if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9.2e18) {
            canonical = "n:" + d.longValue();
        } else if (value instanceof String s) {
            canonical = "s:" + s;
        } else if (value instanceof ObjectId id) {
            canonical = "o:" + id.getHexData();
        } else {
            canonical = (value == null ? "null" : value.getClass().getSimpleName()) + ":" + value;
        }
        try {
            byte[] digest = MessageDigest.getInstance("MD5").digest(canonical.getBytes(StandardCharsets.UTF_8));
            long h = 0;
            for (int i = 7; i >= 0; i--) {
                h = (h << 8) | (digest[i] & 0xFF);
            }
            return h;
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String toString() {
        return pattern.toString();
    }
}

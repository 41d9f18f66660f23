package org.mongofollow.apply;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.fail;

/** Strict comparison of JSON values as produced by {@link BsonToJson}: field order and Java types count. */
public final class JsonAssert {

    private JsonAssert() {}

    /** Fails unless the two values are equal including map field order and number types (Integer vs Long vs Double). */
    public static void assertStrictEquals(String message, Object expected, Object actual) {
        String difference = difference("", expected, actual);
        if (difference != null) {
            fail(message + ": " + difference + "\n expected: " + describe(expected) + "\n   actual: " + describe(actual));
        }
    }

    /** The first difference, or null. */
    public static String difference(String path, Object expected, Object actual) {
        if (expected instanceof Map<?, ?> e && actual instanceof Map<?, ?> a) {
            List<?> ek = new ArrayList<>(e.keySet());
            List<?> ak = new ArrayList<>(a.keySet());
            if (ek.equals(ak) == false) {
                return "fields at [" + path + "] differ: expected " + ek + " but was " + ak;
            }
            for (Object key : ek) {
                String d = difference(path.isEmpty() ? key.toString() : path + "." + key, e.get(key), a.get(key));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (expected instanceof List<?> e && actual instanceof List<?> a) {
            if (e.size() != a.size()) {
                return "array length at [" + path + "] differs: expected " + e.size() + " but was " + a.size();
            }
            for (int i = 0; i < e.size(); i++) {
                String d = difference(path + "." + i, e.get(i), a.get(i));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (expected == null || actual == null) {
            return expected == actual ? null : "at [" + path + "] expected " + describe(expected) + " but was " + describe(actual);
        }
        if (expected.getClass() != actual.getClass() || expected.equals(actual) == false) {
            return "at [" + path + "] expected " + describe(expected) + " but was " + describe(actual);
        }
        return null;
    }

    /** A value with the Java type of every leaf, for messages. */
    public static String describe(Object value) {
        if (value instanceof Map<?, ?> map) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (sb.length() > 1) {
                    sb.append(", ");
                }
                sb.append('"').append(e.getKey()).append("\": ").append(describe(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (value instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            for (Object o : list) {
                if (sb.length() > 1) {
                    sb.append(", ");
                }
                sb.append(describe(o));
            }
            return sb.append(']').toString();
        }
        if (value instanceof String s) {
            return '"' + s + '"';
        }
        return value == null ? "null" : value + "(" + value.getClass().getSimpleName() + ")";
    }
}

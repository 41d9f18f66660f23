package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Applies a {@code $v:2} delta ({@code o.diff} of an update entry) to a JSON document as produced by
 * {@link BsonToJson}, the way MongoDB's {@code applyDiffToObject} / {@code applyDiffToArray}
 * ({@code document_diff_applier.cpp}) apply it to BSON. New values are converted with
 * {@link BsonToJson}.
 *
 * <p>Document diff {@code {d:{f:false}, u:{f:v}, i:{f:v}, s<f>:D}}:
 * <ul>
 *   <li>{@code d}: {@code f} is removed;</li>
 *   <li>{@code u}: {@code f} is replaced in place, or appended when absent;</li>
 *   <li>{@code i}: {@code f} is removed and appended at the end (this is how field reordering is
 *       logged); appended fields come in diff order, {@code u} before {@code i};</li>
 *   <li>{@code s<f>}: the sub-diff is applied to {@code f}: an object diff to an object, an array diff
 *       ({@code a:true}) to an array; on a value of another type {@code f} becomes null; on a missing
 *       {@code f} nothing happens (as the server: a sub-diff never creates a field; it only meets a
 *       missing or mistyped target when an entry is applied again);</li>
 *   <li>{@code b} (the BSONColumn patch of 8.0 time-series buckets) and unknown sections:
 *       {@link UnapplicableUpdateException}.</li>
 * </ul>
 * Array diff {@code {a:true, l:n, u<i>:v, s<i>:D}}: elements are taken from the old array up to the
 * new length {@code l} (when present), {@code u<i>} replaces element {@code i}, {@code s<i>} applies a
 * sub-diff to it (null when the element is missing or of another type), and the array is padded with
 * null up to {@code l} and up to the last modified index. Indices are applied in numeric order.
 */
public final class DiffApplier {

    /** The largest array index a diff may address: a 16 MB BSON document cannot hold a longer array. */
    static final int MAX_ARRAY_INDEX = 2_000_000;

    private DiffApplier() {}

    /**
     * The document after applying {@code diff}. The input map is not modified (unmodified sub-trees are
     * shared with the result).
     *
     * @throws UnapplicableUpdateException for an unsupported or malformed diff
     * @throws RejectedDocumentException   when a new value or field name cannot be taken
     */
    public static Map<String, Object> apply(Map<String, Object> document, BsonDocument diff) {
        checkSupported(diff); // also the parts that meet no target in this document
        return applyToObject(document, diff, "");
    }

    /**
     * Checks that {@code diff} only uses sections this class applies, without applying it.
     *
     * @throws UnapplicableUpdateException with an explanation otherwise
     */
    public static void checkSupported(BsonDocument diff) {
        ObjectDiff parsed = ObjectDiff.parse(diff, "");
        for (Map.Entry<String, BsonDocument> sub : parsed.subDiffs.entrySet()) {
            checkSub(sub.getValue(), BsonToJson.join("", sub.getKey()));
        }
    }

    private static void checkSub(BsonDocument subDiff, String path) {
        if (isArrayDiff(subDiff)) {
            ArrayDiff parsed = ArrayDiff.parse(subDiff, path);
            for (Map.Entry<Integer, ArrayModification> mod : parsed.modifications.entrySet()) {
                if (mod.getValue().subDiff() != null) {
                    checkSub(mod.getValue().subDiff(), BsonToJson.join(path, Integer.toString(mod.getKey())));
                }
            }
        } else {
            ObjectDiff parsed = ObjectDiff.parse(subDiff, path);
            for (Map.Entry<String, BsonDocument> sub : parsed.subDiffs.entrySet()) {
                checkSub(sub.getValue(), BsonToJson.join(path, sub.getKey()));
            }
        }
    }

    private static Map<String, Object> applyToObject(Map<String, Object> pre, BsonDocument diff, String path) {
        ObjectDiff parsed = ObjectDiff.parse(diff, path);
        Map<String, Object> out = new LinkedHashMap<>();
        Set<String> updatedInPlace = new HashSet<>();
        for (Map.Entry<String, Object> e : pre.entrySet()) {
            String name = e.getKey();
            Section section = parsed.sections.get(name);
            if (section == null) {
                out.put(name, e.getValue());
                continue;
            }
            String fieldPath = BsonToJson.join(path, name);
            switch (section) {
                case DELETE, INSERT -> {
                    // removed; an inserted field is appended below
                }
                case UPDATE -> {
                    out.put(name, BsonToJson.toJsonValue(parsed.updates.get(name), fieldPath));
                    updatedInPlace.add(name);
                }
                case SUB -> out.put(name, applySub(e.getValue(), parsed.subDiffs.get(name), fieldPath));
            }
        }
        for (Map.Entry<String, BsonValue> e : parsed.toAppend.entrySet()) {
            if (updatedInPlace.contains(e.getKey()) == false) {
                String fieldPath = BsonToJson.join(path, e.getKey());
                BsonToJson.checkFieldName(e.getKey(), path.isEmpty(), fieldPath);
                out.put(e.getKey(), BsonToJson.toJsonValue(e.getValue(), fieldPath));
            }
        }
        return out;
    }

    /** A sub-diff applied to an existing value: null when the value's type does not match the diff. */
    @SuppressWarnings("unchecked")
    private static Object applySub(Object value, BsonDocument subDiff, String path) {
        if (isArrayDiff(subDiff)) {
            return value instanceof List<?> list ? applyToArray((List<Object>) list, subDiff, path) : null;
        }
        return value instanceof Map<?, ?> map ? applyToObject((Map<String, Object>) map, subDiff, path) : null;
    }

    private static List<Object> applyToArray(List<Object> pre, BsonDocument diff, String path) {
        ArrayDiff parsed = ArrayDiff.parse(diff, path);
        Integer newSize = parsed.newSize;
        int expected = newSize != null ? newSize : pre.size();
        List<Object> out = new ArrayList<>(Math.max(expected, parsed.modifications.isEmpty() ? 0 : parsed.modifications.lastKey() + 1));
        var mods = parsed.modifications.entrySet().iterator();
        Map.Entry<Integer, ArrayModification> next = mods.hasNext() ? mods.next() : null;
        int idx = 0;
        for (; idx < pre.size() && (newSize == null || idx < newSize); idx++) {
            if (next != null && idx == next.getKey()) {
                out.add(modified(pre.get(idx), true, next.getValue(), BsonToJson.join(path, Integer.toString(idx))));
                next = mods.hasNext() ? mods.next() : null;
            } else {
                out.add(pre.get(idx));
            }
        }
        for (; (newSize != null && idx < newSize) || next != null; idx++) {
            if (next != null && idx == next.getKey()) {
                out.add(modified(null, false, next.getValue(), BsonToJson.join(path, Integer.toString(idx))));
                next = mods.hasNext() ? mods.next() : null;
            } else {
                out.add(null);
            }
        }
        return out;
    }

    private static Object modified(Object preValue, boolean exists, ArrayModification modification, String path) {
        if (modification.subDiff() != null) {
            return exists ? applySub(preValue, modification.subDiff(), path) : null;
        }
        return BsonToJson.toJsonValue(modification.newValue(), path);
    }

    private static boolean isArrayDiff(BsonDocument diff) {
        BsonValue marker = diff.get("a");
        return marker != null && marker.isBoolean() && marker.asBoolean().getValue();
    }

    private static BsonDocument subDiffDocument(BsonValue value, String what, String path) {
        if (value.isDocument() == false) {
            throw new UnapplicableUpdateException("malformed $v:2 diff at [" + path + "]: " + what + " is a "
                + value.getBsonType() + ", not a document");
        }
        return value.asDocument();
    }

    private enum Section { DELETE, UPDATE, INSERT, SUB }

    /** An object diff, parsed into the tables the server builds. */
    private static final class ObjectDiff {
        final Map<String, Section> sections = new LinkedHashMap<>();
        final Map<String, BsonValue> updates = new LinkedHashMap<>();
        final Map<String, BsonValue> toAppend = new LinkedHashMap<>();
        final Map<String, BsonDocument> subDiffs = new LinkedHashMap<>();

        static ObjectDiff parse(BsonDocument diff, String path) {
            ObjectDiff out = new ObjectDiff();
            List<Map.Entry<String, BsonValue>> inserts = new ArrayList<>();
            for (Map.Entry<String, BsonValue> e : diff.entrySet()) {
                String key = e.getKey();
                switch (key) {
                    case "d" -> {
                        for (String name : subDiffDocument(e.getValue(), "section d", path).keySet()) {
                            out.add(name, Section.DELETE, path);
                        }
                    }
                    case "u" -> {
                        for (Map.Entry<String, BsonValue> u : subDiffDocument(e.getValue(), "section u", path).entrySet()) {
                            out.add(u.getKey(), Section.UPDATE, path);
                            out.updates.put(u.getKey(), u.getValue());
                            out.toAppend.put(u.getKey(), u.getValue());
                        }
                    }
                    case "i" -> inserts.addAll(subDiffDocument(e.getValue(), "section i", path).entrySet());
                    case "b" -> throw new UnapplicableUpdateException("$v:2 diff at [" + (path.isEmpty() ? "(root)" : path)
                        + "] has a 'b' section (a binary patch of a compressed BSONColumn, written for 8.0 time-series "
                        + "buckets); following time-series bucket collections is not supported");
                    default -> {
                        if (key.length() > 1 && key.charAt(0) == 's') {
                            String name = key.substring(1);
                            out.add(name, Section.SUB, path);
                            out.subDiffs.put(name, subDiffDocument(e.getValue(), "sub-diff " + key, path));
                        } else {
                            throw new UnapplicableUpdateException("$v:2 diff at [" + (path.isEmpty() ? "(root)" : path)
                                + "] has an unknown section [" + key + "]");
                        }
                    }
                }
            }
            // the server builds its tables d, u, s, then i: inserted fields are appended after updated ones
            for (Map.Entry<String, BsonValue> e : inserts) {
                out.add(e.getKey(), Section.INSERT, path);
                out.toAppend.put(e.getKey(), e.getValue());
            }
            return out;
        }

        private void add(String name, Section section, String path) {
            if (sections.putIfAbsent(name, section) != null) {
                throw new UnapplicableUpdateException("malformed $v:2 diff: duplicate field name ["
                    + BsonToJson.join(path, name) + "] in diff");
            }
        }
    }

    /** One array-diff modification: a new value ({@code u<i>}) or a sub-diff ({@code s<i>}). */
    private record ArrayModification(BsonValue newValue, BsonDocument subDiff) {}

    /** An array diff: the new length (if any) and the modifications by index, in numeric order. */
    private static final class ArrayDiff {
        Integer newSize;
        final TreeMap<Integer, ArrayModification> modifications = new TreeMap<>();

        static ArrayDiff parse(BsonDocument diff, String path) {
            ArrayDiff out = new ArrayDiff();
            for (Map.Entry<String, BsonValue> e : diff.entrySet()) {
                String key = e.getKey();
                BsonValue value = e.getValue();
                if (key.equals("a")) {
                    continue;
                }
                if (key.equals("l")) {
                    if (value.isNumber() == false) {
                        throw new UnapplicableUpdateException("malformed array diff at [" + path + "]: l is a " + value.getBsonType());
                    }
                    out.newSize = checkIndex(value.asNumber().longValue(), path, "l");
                    continue;
                }
                int index = key.length() > 1 && (key.charAt(0) == 'u' || key.charAt(0) == 's') ? parseIndex(key.substring(1)) : -1;
                if (index < 0) {
                    throw new UnapplicableUpdateException("array diff at [" + path + "] has an unknown section [" + key + "]");
                }
                checkIndex(index, path, key);
                ArrayModification modification = key.charAt(0) == 'u'
                    ? new ArrayModification(value, null)
                    : new ArrayModification(null, subDiffDocument(value, "sub-diff " + key, path));
                if (out.modifications.put(index, modification) != null) {
                    throw new UnapplicableUpdateException("malformed array diff at [" + path + "]: index " + index + " modified twice");
                }
            }
            return out;
        }

        private static int checkIndex(long index, String path, String what) {
            if (index < 0 || index > MAX_ARRAY_INDEX) {
                throw new UnapplicableUpdateException("array diff at [" + path + "]: " + what + " = " + index + " is out of range");
            }
            return (int) index;
        }
    }

    /** A non-negative decimal index without sign or leading zeros, or -1. */
    static int parseIndex(String digits) {
        if (digits.isEmpty() || digits.length() > 9 || (digits.length() > 1 && digits.charAt(0) == '0')) {
            return -1;
        }
        for (int i = 0; i < digits.length(); i++) {
            if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
                return -1;
            }
        }
        return Integer.parseInt(digits);
    }
}

package org.mongofollow.apply;

import org.mongofollow.operation.DocumentIds;

import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a {@code $v:1} update entry ({@code o = {$v:1, $set:{path:v}, $unset:{path:true}}}, {@code $v}
 * possibly missing) to a JSON document as produced by {@link BsonToJson}, with MongoDB's update
 * semantics for dotted paths:
 * <ul>
 *   <li>sections and their paths are applied in the order they appear in the entry;</li>
 *   <li>{@code $set}: an existing field is replaced in place, a new one is appended to its object;
 *       missing parents are created as objects; a numeric path part indexes into an array, and writing
 *       past the end pads the array with null (a new element on the way to a deeper field is an
 *       object);</li>
 *   <li>{@code $unset}: the field is removed; on an array element the element becomes null and the
 *       array keeps its length; a missing path is a no-op;</li>
 *   <li>a path that cannot be followed (through a scalar or null, or a non-numeric part on an array) is
 *       ignored, as MongoDB's oplog application ignores it when an entry is applied again to a newer
 *       document ({@code jstests/core/apply_ops_missing_field.js});</li>
 *   <li>any other operator: {@link UnapplicableUpdateException}.</li>
 * </ul>
 */
public final class V1UpdateApplier {

    private V1UpdateApplier() {}

    /**
     * The document after applying the {@code $v:1} update {@code update}. The input map is not modified.
     *
     * @throws UnapplicableUpdateException for an operator other than $set / $unset or a malformed entry
     * @throws RejectedDocumentException   when a new value or field name cannot be taken
     */
    public static Map<String, Object> apply(Map<String, Object> document, BsonDocument update) {
        checkSupported(update);
        Map<String, Object> out = deepCopy(document);
        for (Map.Entry<String, BsonValue> section : update.entrySet()) {
            switch (section.getKey()) {
                case "$set" -> {
                    for (Map.Entry<String, BsonValue> e : section.getValue().asDocument().entrySet()) {
                        set(out, e.getKey(), e.getValue());
                    }
                }
                case "$unset" -> {
                    for (String path : section.getValue().asDocument().keySet()) {
                        unset(out, path);
                    }
                }
                default -> {
                    // $v
                }
            }
        }
        return out;
    }

    /**
     * Checks that {@code update} is a {@code $v:1} update this class applies.
     *
     * @throws UnapplicableUpdateException with an explanation otherwise
     */
    public static void checkSupported(BsonDocument update) {
        for (Map.Entry<String, BsonValue> section : update.entrySet()) {
            switch (section.getKey()) {
                case "$v" -> {
                    BsonValue v = section.getValue();
                    if (v.isNumber() == false || v.asNumber().intValue() != 1) {
                        throw new UnapplicableUpdateException("update entry with $v: " + DocumentIds.toElasticsearchId(v) + " is not a $v:1 update");
                    }
                }
                case "$set", "$unset" -> {
                    if (section.getValue().isDocument() == false) {
                        throw new UnapplicableUpdateException("malformed $v:1 update: " + section.getKey() + " is a "
                            + section.getValue().getBsonType());
                    }
                }
                default -> throw new UnapplicableUpdateException("$v:1 update entry with unsupported field ["
                    + section.getKey() + "]: only $set and $unset are logged by MongoDB");
            }
        }
    }

    /** Sets {@code value} at {@code path} of {@code document}, which is modified. */
    static void set(Map<String, Object> document, String path, BsonValue value) {
        set(document, UpdatePath.dotted(path), value);
    }

    /** Unsets {@code path} of {@code document}, which is modified. */
    static void unset(Map<String, Object> document, String path) {
        unset(document, UpdatePath.dotted(path));
    }

    /**
     * Sets {@code value} at {@code path} of {@code document}, which is modified: missing objects on the way are created,
     * an index past an array's end pads it with null; a path the document's shape cannot follow is ignored.
     */
    @SuppressWarnings("unchecked")
    static void set(Map<String, Object> document, UpdatePath path, BsonValue value) {
        Object container = document;
        for (int i = 0; i < path.length() - 1; i++) {
            UpdatePath.Step step = path.step(i);
            if (container instanceof Map<?, ?> map) {
                if (step.mode() == UpdatePath.Mode.INDEX) {
                    return; // an index into an object: not a path into this document
                }
                Map<String, Object> object = (Map<String, Object>) map;
                if (object.containsKey(step.name()) == false) {
                    BsonToJson.checkFieldName(step.name(), i == 0, path.prefix(i + 1));
                    object.put(step.name(), new LinkedHashMap<String, Object>());
                }
                container = object.get(step.name());
            } else {
                List<Object> list = (List<Object>) container;
                int index = index(step);
                if (index < 0) {
                    return; // not a path into this array
                }
                if (index >= list.size()) {
                    padWithNull(list, index);
                    list.add(new LinkedHashMap<String, Object>());
                }
                container = list.get(index);
            }
            if (container instanceof Map == false && container instanceof List == false) {
                return; // a scalar or null is in the way
            }
        }
        UpdatePath.Step last = path.step(path.length() - 1);
        if (container instanceof Map<?, ?> map) {
            if (last.mode() == UpdatePath.Mode.INDEX) {
                return;
            }
            Map<String, Object> object = (Map<String, Object>) map;
            BsonToJson.checkFieldName(last.name(), path.length() == 1, path.dotted());
            object.put(last.name(), BsonToJson.toJsonValue(value, path.dotted()));
        } else {
            List<Object> list = (List<Object>) container;
            int index = index(last);
            if (index < 0) {
                return;
            }
            Object json = BsonToJson.toJsonValue(value, path.dotted());
            if (index < list.size()) {
                list.set(index, json);
            } else {
                padWithNull(list, index);
                list.add(json);
            }
        }
    }

    /** Unsets {@code path} of {@code document}, which is modified: an array element becomes null; a missing path is a no-op. */
    @SuppressWarnings("unchecked")
    static void unset(Map<String, Object> document, UpdatePath path) {
        Object container = document;
        for (int i = 0; i < path.length(); i++) {
            UpdatePath.Step step = path.step(i);
            boolean last = i == path.length() - 1;
            if (container instanceof Map<?, ?> map) {
                if (step.mode() == UpdatePath.Mode.INDEX) {
                    return;
                }
                Map<String, Object> object = (Map<String, Object>) map;
                if (last) {
                    object.remove(step.name());
                    return;
                }
                container = object.get(step.name());
            } else if (container instanceof List<?> l) {
                List<Object> list = (List<Object>) l;
                int index = index(step);
                if (index < 0 || index >= list.size()) {
                    return;
                }
                if (last) {
                    list.set(index, null);
                    return;
                }
                container = list.get(index);
            } else {
                return; // missing, null or a scalar: nothing to unset
            }
        }
    }

    /** The array index a step names, or -1 when it names none (a field name, or a number out of range). */
    static int index(UpdatePath.Step step) {
        if (step.mode() == UpdatePath.Mode.FIELD) {
            return -1;
        }
        int index = DiffApplier.parseIndex(step.name());
        return index < 0 || index > DiffApplier.MAX_ARRAY_INDEX ? -1 : index;
    }

    private static void padWithNull(List<Object> list, int size) {
        while (list.size() < size) {
            list.add(null);
        }
    }

    /** A deep copy of maps and lists (leaves are immutable values). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> deepCopy(Map<String, Object> map) {
        Map<String, Object> copy = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map.entrySet()) {
            copy.put(e.getKey(), copyValue(e.getValue()));
        }
        return copy;
    }

    @SuppressWarnings("unchecked")
    private static Object copyValue(Object value) {
        if (value instanceof Map<?, ?> map) {
            return deepCopy((Map<String, Object>) map);
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            for (Object element : list) {
                copy.add(copyValue(element));
            }
            return copy;
        }
        return value;
    }
}

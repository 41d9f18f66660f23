package org.mongofollow.apply;

import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Narrows an update to a follow's {@link FieldSelection} so that it can be applied to the follower's
 * selected copy of a document: changes of unselected fields are dropped, new values keep only their
 * selected part, and a new value with no selected part becomes a removal. Applying the narrowed update and
 * selecting again gives exactly the selected part of the document MongoDB has.
 *
 * <p>Below a path that the include list narrows, the selected copy does not say where MongoDB's array
 * elements are (unselected elements are left out), nor whether an object left out had unselected fields:
 * an update that reaches into such an array, or into such a left-out value, cannot be applied to the copy.
 * The narrowing then answers null and the follower indexes the document as MongoDB has it.
 *
 * <p>A {@code $v:1} path that leaves the copy (a missing parent, an index past an array's end) is where MongoDB creates
 * the rest of the path: the narrowed update sets the selected part of what is created there (an emptied object, a
 * padded array element), even when the path's own field is not selected.
 */
final class SelectedUpdates {

    private SelectedUpdates() {}

    /**
     * The update narrowed to {@code selection}, or null when it cannot be applied to {@code stored}.
     *
     * @param stored the follower's current (selected) {@code _source}
     */
    static BsonDocument narrow(FieldSelection selection, ShardOperation.Kind kind, BsonDocument update, Map<String, Object> stored) {
        return switch (kind) {
            case UPDATE_DIFF -> {
                DiffApplier.checkSupported(update);
                yield objectDiff(update, selection.root(), stored);
            }
            case UPDATE_V1 -> {
                V1UpdateApplier.checkSupported(update);
                yield v1(update, selection.root(), stored);
            }
            case INDEX, DELETE, MARK_DELETED, UPDATE_DESCRIPTION -> throw new IllegalArgumentException(kind + " is not narrowed here (see DocumentUpdates)");
        };
    }

    private static BsonDocument objectDiff(BsonDocument diff, FieldSelection.Scope scope, Object stored) {
        Map<?, ?> storedObject = stored instanceof Map<?, ?> map ? map : Map.of();
        BsonDocument out = new BsonDocument();
        BsonDocument removals = new BsonDocument();
        for (Map.Entry<String, BsonValue> section : diff.entrySet()) {
            String key = section.getKey();
            if (key.equals("d")) {
                BsonDocument deletes = selectedNames(section.getValue().asDocument(), scope);
                removals.putAll(deletes);
            } else if (key.equals("u") || key.equals("i")) {
                BsonDocument values = new BsonDocument();
                for (Map.Entry<String, BsonValue> e : section.getValue().asDocument().entrySet()) {
                    FieldSelection.Scope child = scope.child(e.getKey());
                    if (child != null) {
                        BsonValue selected = FieldSelection.selectValue(e.getValue(), child);
                        if (selected == null) {
                            removals.put(e.getKey(), BsonBoolean.FALSE);
                        } else if (key.equals("u") && child.narrowsByInclude() && storedObject.containsKey(e.getKey()) == false) {
                            return null; // replaced in place or appended: the copy cannot tell where MongoDB has the field
                        } else {
                            values.put(e.getKey(), selected);
                        }
                    }
                }
                putIfAny(out, key, values);
            } else {
                String name = key.substring(1); // s<name>: checkSupported let only sub-diffs through
                FieldSelection.Scope child = scope.child(name);
                if (child == null) {
                    continue;
                }
                BsonDocument sub = section.getValue().asDocument();
                BsonDocument narrowed = child.whole() ? sub : subDiff(sub, child, storedObject.get(name));
                if (narrowed == null) {
                    return null;
                }
                out.put(key, narrowed);
            }
        }
        putIfAny(out, "d", removals);
        return out;
    }

    /** A sub-diff below a partly selected path, or null when the copy cannot take it. */
    private static BsonDocument subDiff(BsonDocument sub, FieldSelection.Scope scope, Object stored) {
        boolean array = sub.get("a") instanceof BsonBoolean a && a.getValue();
        if (scope.narrowsByInclude() && (array || stored instanceof Map<?, ?> == false)) {
            return null;
        }
        return array ? arrayDiff(sub, scope, stored) : objectDiff(sub, scope, stored);
    }

    /** An array diff below a path that only the exclude list narrows: elements keep their positions. */
    private static BsonDocument arrayDiff(BsonDocument diff, FieldSelection.Scope scope, Object stored) {
        List<?> storedArray = stored instanceof List<?> list ? list : List.of();
        BsonDocument out = new BsonDocument();
        for (Map.Entry<String, BsonValue> e : diff.entrySet()) {
            String key = e.getKey();
            if (key.charAt(0) == 'u' && key.length() > 1) {
                out.put(key, FieldSelection.selectValue(e.getValue(), scope));
            } else if (key.charAt(0) == 's' && key.length() > 1) {
                int index = DiffApplier.parseIndex(key.substring(1));
                Object element = index < storedArray.size() ? storedArray.get(index) : null;
                out.put(key, subDiff(e.getValue().asDocument(), scope, element));
            } else {
                out.put(key, e.getValue()); // a, l
            }
        }
        return out;
    }

    private static BsonDocument v1(BsonDocument update, FieldSelection.Scope root, Map<String, Object> stored) {
        // the paths of an entry apply one after the other: each is narrowed against the copy as the ones before leave it
        Map<String, Object> copy = V1UpdateApplier.deepCopy(stored);
        BsonDocument out = new BsonDocument();
        BsonDocument sets = new BsonDocument();
        BsonDocument unsets = new BsonDocument();
        for (Map.Entry<String, BsonValue> section : update.entrySet()) {
            switch (section.getKey()) {
                case "$set" -> {
                    for (Map.Entry<String, BsonValue> e : section.getValue().asDocument().entrySet()) {
                        Narrowed narrowed = narrowSet(e.getKey(), e.getValue(), root, copy);
                        if (narrowed == null) {
                            return null;
                        }
                        if (narrowed == Narrowed.NOTHING) {
                            continue;
                        }
                        if (narrowed.value == null) {
                            unsets.put(narrowed.path, BsonBoolean.TRUE);
                            V1UpdateApplier.unset(copy, narrowed.path);
                        } else {
                            sets.put(narrowed.path, narrowed.value);
                            V1UpdateApplier.set(copy, narrowed.path, narrowed.value);
                        }
                    }
                    putIfAny(out, "$set", sets);
                }
                case "$unset" -> {
                    for (String path : section.getValue().asDocument().keySet()) {
                        PathScope target = walk(path, root, copy);
                        if (target.known() == false) {
                            return null;
                        }
                        if (target.scope != null) {
                            unsets.put(path, BsonBoolean.TRUE);
                            V1UpdateApplier.unset(copy, path);
                        }
                    }
                }
                default -> out.put(section.getKey(), section.getValue()); // $v
            }
        }
        putIfAny(out, "$unset", unsets);
        return out;
    }

    /** A narrowed {@code $set}: of {@code value} at {@code path}, or an {@code $unset} of {@code path} (value null). */
    private record Narrowed(String path, BsonValue value) {
        /** The {@code $set} changes nothing selected. */
        static final Narrowed NOTHING = new Narrowed(null, null);
    }

    /**
     * The {@code $set} of {@code value} at {@code path} narrowed for {@code copy}, or null when the copy cannot tell what
     * it does. Where the path leaves the copy (a missing field, an index past an array's end), MongoDB creates the rest
     * of the path (padding the array with null): the copy gets the selected part of what is created there, which may
     * be an empty object or array elements on the way to an unselected field.
     */
    private static Narrowed narrowSet(String path, BsonValue value, FieldSelection.Scope root, Map<String, Object> copy) {
        String[] parts = path.split("\\.", -1);
        FieldSelection.Scope scope = root; // the scope of container
        Object container = copy;
        for (int i = 0; i < parts.length; i++) {
            if (scope.whole()) {
                return new Narrowed(path, value);
            }
            String part = parts[i];
            if (container instanceof List<?> list) {
                if (scope.narrowsByInclude()) {
                    return null; // the copy lacks the array's unselected elements
                }
                int index = DiffApplier.parseIndex(part);
                if (index < 0 || index > DiffApplier.MAX_ARRAY_INDEX) {
                    return Narrowed.NOTHING; // not a path into this array: MongoDB leaves the document alone
                }
                if (index >= list.size()) {
                    return created(parts, i, value, scope);
                }
                container = list.get(index); // elements share their array's scope
            } else if (container instanceof Map<?, ?> map) {
                FieldSelection.Scope child = scope.child(part);
                if (child == null) {
                    return Narrowed.NOTHING;
                }
                if (map.containsKey(part) == false) {
                    if (child.narrowsByInclude()) {
                        return null; // MongoDB may have the field, unselected, in its place among its siblings
                    }
                    return created(parts, i, value, child);
                }
                if (i == parts.length - 1) {
                    BsonValue selected = FieldSelection.selectValue(value, child);
                    return new Narrowed(path, selected);
                }
                container = map.get(part);
                scope = child;
            } else {
                return Narrowed.NOTHING; // a scalar or null in the way: MongoDB leaves the document alone
            }
        }
        // the last part was an existing element of an array
        return new Narrowed(path, FieldSelection.selectValue(value, scope));
    }

    /** The {@code $set} of what MongoDB creates at {@code parts[0..i]} (of scope {@code scope}) to set {@code value}. */
    private static Narrowed created(String[] parts, int i, BsonValue value, FieldSelection.Scope scope) {
        BsonValue created = value;
        for (int j = parts.length - 1; j > i; j--) {
            created = new BsonDocument(parts[j], created);
        }
        return new Narrowed(String.join(".", Arrays.copyOf(parts, i + 1)), FieldSelection.selectValue(created, scope));
    }

    /** The scope a {@code $v:1} path leads to (null: not selected), unless the copy cannot tell ({@code known} false). */
    private record PathScope(FieldSelection.Scope scope, boolean known) {
        static final PathScope UNKNOWN = new PathScope(null, false);
        static final PathScope UNSELECTED = new PathScope(null, true);
    }

    /**
     * Follows an {@code $unset} path through the copy. A numeric part on an array is an element (the array's scope).
     * Below a path the include list narrows, the copy cannot tell where the path leads through an array.
     */
    private static PathScope walk(String path, FieldSelection.Scope root, Map<String, Object> stored) {
        FieldSelection.Scope scope = root;
        Object value = stored;
        for (String part : path.split("\\.", -1)) {
            if (scope.whole()) {
                return new PathScope(scope, true);
            }
            if (value instanceof List<?> list) {
                if (scope.narrowsByInclude()) {
                    return PathScope.UNKNOWN;
                }
                int index = DiffApplier.parseIndex(part);
                if (index >= 0) {
                    value = index < list.size() ? list.get(index) : null;
                    continue;
                }
            }
            scope = scope.child(part);
            if (scope == null) {
                return PathScope.UNSELECTED;
            }
            value = value instanceof Map<?, ?> map ? map.get(part) : null;
        }
        return new PathScope(scope, true);
    }

    private static BsonDocument selectedNames(BsonDocument names, FieldSelection.Scope scope) {
        BsonDocument out = new BsonDocument();
        for (Map.Entry<String, BsonValue> e : names.entrySet()) {
            if (scope.child(e.getKey()) != null) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    private static void putIfAny(BsonDocument out, String key, BsonDocument section) {
        if (section.isEmpty() == false) {
            out.put(key, section);
        }
    }
}

package org.mongofollow.apply;

import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.List;
import java.util.Map;

/**
 * Applies a change event's {@code updateDescription} to a JSON document as produced by {@link BsonToJson}, as MongoDB's
 * own update did to the stored document:
 * <ul>
 *   <li>{@code truncatedArrays} ({@code {field, newSize}}) first: the array keeps its first {@code newSize} elements (a
 *       larger size pads it with null, as the oplog's array resize does);</li>
 *   <li>then {@code removedFields}: the field is removed (an array element becomes null);</li>
 *   <li>then {@code updatedFields}: the value is set at its path, with {@link V1UpdateApplier}'s semantics (missing
 *       objects created, arrays padded with null).</li>
 * </ul>
 * Paths are dotted, read as MongoDB reads them (a numeric part indexes an array, names a field of an object), except
 * those {@code disambiguatedPaths} (MongoDB 6.1 and later) spells out part by part: field names with dots and numeric field
 * names. Before 6.1 MongoDB does not say, and a field name with a dot in it is read as a path. A path the document's shape
 * cannot follow is ignored, as in {@link V1UpdateApplier}.
 */
public final class UpdateDescriptionApplier {

    private UpdateDescriptionApplier() {}

    /**
     * The document after the update; {@code document} is not modified.
     *
     * @throws UnapplicableUpdateException for a malformed description
     * @throws RejectedDocumentException   when a new value or field name cannot be taken
     */
    public static Map<String, Object> apply(Map<String, Object> document, BsonDocument description) {
        checkSupported(description);
        Map<String, Object> out = V1UpdateApplier.deepCopy(document);
        BsonDocument disambiguated = description.getDocument("disambiguatedPaths", new BsonDocument());
        for (BsonValue truncated : description.getArray("truncatedArrays", new BsonArray())) {
            BsonDocument entry = truncated.asDocument();
            String field = entry.getString("field").getValue();
            truncate(out, path(field, disambiguated), entry.get("newSize").asNumber().longValue());
        }
        for (BsonValue removed : description.getArray("removedFields", new BsonArray())) {
            String field = removed.asString().getValue();
            V1UpdateApplier.unset(out, path(field, disambiguated));
        }
        for (Map.Entry<String, BsonValue> updated : description.getDocument("updatedFields", new BsonDocument()).entrySet()) {
            V1UpdateApplier.set(out, path(updated.getKey(), disambiguated), updated.getValue());
        }
        return out;
    }

    /**
     * The same update as a {@code $v:1} update ({@code {$v:1, $unset, $set}}) when it is one (no truncated array, no path
     * that needs disambiguation), else null: a follow with a field selection narrows it as such ({@link SelectedUpdates}).
     */
    static BsonDocument asV1(BsonDocument description) {
        checkSupported(description);
        if (description.getArray("truncatedArrays", new BsonArray()).isEmpty() == false
            || description.getDocument("disambiguatedPaths", new BsonDocument()).isEmpty() == false) {
            return null;
        }
        BsonDocument unset = new BsonDocument();
        for (BsonValue removed : description.getArray("removedFields", new BsonArray())) {
            unset.put(removed.asString().getValue(), BsonBoolean.TRUE);
        }
        BsonDocument v1 = new BsonDocument("$v", new org.bson.BsonInt32(1));
        if (unset.isEmpty() == false) {
            v1.put("$unset", unset);
        }
        BsonDocument set = description.getDocument("updatedFields", new BsonDocument());
        if (set.isEmpty() == false) {
            v1.put("$set", set);
        }
        return v1;
    }

    /**
     * Checks the description's shape.
     *
     * @throws UnapplicableUpdateException with an explanation otherwise
     */
    public static void checkSupported(BsonDocument description) {
        for (Map.Entry<String, BsonValue> field : description.entrySet()) {
            BsonValue value = field.getValue();
            boolean valid = switch (field.getKey()) {
                case "updatedFields" -> value.isDocument();
                case "removedFields" -> value.isArray() && value.asArray().stream().allMatch(BsonValue::isString);
                case "truncatedArrays" -> value.isArray() && value.asArray().stream().allMatch(UpdateDescriptionApplier::isTruncation);
                case "disambiguatedPaths" -> value.isDocument() && value.asDocument().values().stream().allMatch(BsonValue::isArray);
                default -> throw new UnapplicableUpdateException("updateDescription with an unknown field [" + field.getKey() + "]");
            };
            if (valid == false) {
                throw new UnapplicableUpdateException("malformed updateDescription: [" + field.getKey() + "] is a " + value.getBsonType());
            }
        }
    }

    private static boolean isTruncation(BsonValue value) {
        if (value.isDocument() == false) {
            return false;
        }
        BsonValue field = value.asDocument().get("field");
        BsonValue size = value.asDocument().get("newSize");
        return field != null && field.isString() && size != null && size.isNumber() && size.asNumber().longValue() >= 0;
    }

    private static UpdatePath path(String field, BsonDocument disambiguated) {
        BsonValue parts = disambiguated.get(field);
        return parts == null ? UpdatePath.dotted(field) : UpdatePath.disambiguated(field, parts.asArray());
    }

    @SuppressWarnings("unchecked")
    private static void truncate(Map<String, Object> document, UpdatePath path, long newSize) {
        Object container = document;
        for (int i = 0; i < path.length() && container != null; i++) {
            UpdatePath.Step step = path.step(i);
            if (container instanceof Map<?, ?> map) {
                container = step.mode() == UpdatePath.Mode.INDEX ? null : map.get(step.name());
            } else if (container instanceof List<?> list) {
                int index = V1UpdateApplier.index(step);
                container = index < 0 || index >= list.size() ? null : list.get(index);
            } else {
                return;
            }
        }
        if (container instanceof List<?> list) {
            List<Object> array = (List<Object>) list;
            if (array.size() > newSize) {
                array.subList((int) newSize, array.size()).clear();
            } else if (newSize <= DiffApplier.MAX_ARRAY_INDEX) {
                while (array.size() < newSize) {
                    array.add(null); // as the oplog's array resize does (MongoDB lists shrinking arrays only)
                }
            }
        }
    }
}

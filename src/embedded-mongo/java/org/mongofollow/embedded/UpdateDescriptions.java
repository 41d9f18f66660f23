package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.bson.Document;

/**
 * An update event's {@code updateDescription}, derived from the oplog entry as mongod derives it
 * ({@code change_stream_document_diff_parser.cpp}): from a {@code $v:2} diff, in each document diff first its {@code u} then
 * its {@code i} entries as updated fields, its {@code d} entries as removed fields, then its sub-diffs in order; an array
 * sub-diff's new length ({@code l}) as a truncated array before its {@code u<index>} entries. With
 * {@code showExpandedEvents}, {@code disambiguatedPaths} lists every path that a dotted string cannot tell apart: one
 * with a field name holding a dot, or a numeric field name that is not an array index (after the first component).
 * A {@code $v:1} entry ({@code $set}/{@code $unset}) gives its paths as written, without truncated arrays.
 */
final class UpdateDescriptions {

    private final Document updatedFields = new Document();
    private final List<String> removedFields = new ArrayList<>();
    private final List<Document> truncatedArrays = new ArrayList<>();
    private final Document disambiguatedPaths = new Document();

    private UpdateDescriptions() {}

    /** The description of an update entry's {@code o}, or null when it is not a modifier update (a replacement). */
    static Document of(Document o, boolean expanded) {
        UpdateDescriptions description = new UpdateDescriptions();
        if (o.get("$v") instanceof Number v && v.intValue() == 2 && o.get("diff") instanceof Document diff) {
            description.document(diff, new ArrayList<>());
        } else if (o.containsKey("$set") || o.containsKey("$unset")) {
            if (o.get("$set") instanceof Document set) {
                description.updatedFields.putAll(set);
            }
            if (o.get("$unset") instanceof Document unset) {
                description.removedFields.addAll(unset.keySet());
            }
            return new Document("updatedFields", description.updatedFields).append("removedFields", description.removedFields);
        } else {
            return null;
        }
        Document result = new Document("updatedFields", description.updatedFields)
            .append("removedFields", description.removedFields)
            .append("truncatedArrays", description.truncatedArrays);
        if (expanded) {
            result.append("disambiguatedPaths", description.disambiguatedPaths);
        }
        return result;
    }

    private void document(Document diff, List<Object> path) {
        for (String section : new String[] { "u", "i" }) {
            if (diff.get(section) instanceof Document entries) {
                for (Map.Entry<String, Object> entry : entries.entrySet()) {
                    updatedFields.put(path(path, entry.getKey()), entry.getValue());
                }
            }
        }
        if (diff.get("d") instanceof Document deleted) {
            for (String field : deleted.keySet()) {
                removedFields.add(path(path, field));
            }
        }
        for (Map.Entry<String, Object> entry : diff.entrySet()) {
            String key = entry.getKey();
            if (key.startsWith("s") && entry.getValue() instanceof Document sub) {
                List<Object> child = new ArrayList<>(path);
                child.add(key.substring(1));
                subDiff(sub, child);
            }
        }
    }

    private void subDiff(Document sub, List<Object> path) {
        if (Boolean.TRUE.equals(sub.get("a"))) {
            array(sub, path);
        } else {
            document(sub, path);
        }
    }

    private void array(Document diff, List<Object> path) {
        if (diff.get("l") instanceof Number length) {
            truncatedArrays.add(new Document("field", dotted(path)).append("newSize", length.intValue()));
            noteAmbiguity(path);
        }
        for (Map.Entry<String, Object> entry : diff.entrySet()) {
            String key = entry.getKey();
            if (key.equals("a") || key.equals("l") || key.length() < 2) {
                continue;
            }
            List<Object> child = new ArrayList<>(path);
            child.add(Integer.parseInt(key.substring(1)));
            if (key.charAt(0) == 'u') {
                updatedFields.put(dotted(child), entry.getValue());
                noteAmbiguity(child);
            } else if (key.charAt(0) == 's' && entry.getValue() instanceof Document sub) {
                subDiff(sub, child);
            }
        }
    }

    private String path(List<Object> parent, String field) {
        List<Object> path = new ArrayList<>(parent);
        path.add(field);
        noteAmbiguity(path);
        return dotted(path);
    }

    private static String dotted(List<Object> path) {
        StringBuilder dotted = new StringBuilder();
        for (int i = 0; i < path.size(); i++) {
            if (i > 0) {
                dotted.append('.');
            }
            dotted.append(path.get(i));
        }
        return dotted.toString();
    }

    /** A path is listed once one of its components is a field name with a dot, or a numeric field name past the first. */
    private void noteAmbiguity(List<Object> path) {
        for (int i = 0; i < path.size(); i++) {
            if (path.get(i) instanceof String name && (name.contains(".") || (i > 0 && isNumeric(name)))) {
                disambiguatedPaths.put(dotted(path), new ArrayList<>(path));
                return;
            }
        }
    }

    private static boolean isNumeric(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isDigit(name.charAt(i)) == false) {
                return false;
            }
        }
        return true;
    }
}

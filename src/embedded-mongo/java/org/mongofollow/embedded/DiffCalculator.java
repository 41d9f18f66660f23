package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import de.bwaldvogel.mongo.bson.Document;

/**
 * Computes MongoDB 5.0+ {@code $v:2} delta diffs ({@code document_diff_serialization.cpp} format) from a
 * document's pre-image and post-image.
 *
 * <p>Two styles, as the real server has two producers:
 * <ul>
 *   <li>{@link #operatorDiff} mirrors what the update driver logs for modifier updates: it always
 *   recurses into sub-documents ({@code s<field>}), appends to arrays as {@code u<n>}, rewrites a
 *   shrunk or shifted array whole ({@code u}), and treats the paths that whole-value operators
 *   ({@code $set}, {@code $inc}, {@code $pull}, {@code $addToSet}, {@code $push} with modifiers, ...)
 *   targeted as atomic (logged with {@code u}/{@code i}, never diffed below).</li>
 *   <li>{@link #calculatorDiff} mirrors {@code doc_diff::computeOplogDiff} (pipeline updates): a
 *   sub-diff is used only when it is smaller than the new value, and shrinking arrays use {@code l}.</li>
 * </ul>
 *
 * <p>Sections are emitted in the server's order: {@code d}, {@code u}, {@code i}, then {@code s<field>}.
 * Fields whose relative order changed are removed and re-appended through {@code i}, which is how
 * {@code $v:2} expresses re-ordering. Values are compared by BSON type and value, so type-only changes
 * are logged.
 */
public final class DiffCalculator {

    private final boolean calculatorStyle;
    private final Set<String> atomicPaths;

    private DiffCalculator(boolean calculatorStyle, Set<String> atomicPaths) {
        this.calculatorStyle = calculatorStyle;
        this.atomicPaths = atomicPaths;
    }

    /** The diff a modifier update logs; {@code atomicPaths} are dotted paths that are logged whole. */
    public static Document operatorDiff(Document before, Document after, Set<String> atomicPaths) {
        return new DiffCalculator(false, atomicPaths).documentDiff(before, after, "");
    }

    /** The diff {@code computeOplogDiff} would log for a pipeline update. */
    public static Document calculatorDiff(Document before, Document after) {
        return new DiffCalculator(true, Set.of()).documentDiff(before, after, "");
    }

    /** Returns the diff, empty when the documents are binary-equal. */
    private Document documentDiff(Document before, Document after, String path) {
        Map<String, Integer> oldIndex = new HashMap<>();
        int n = 0;
        for (String key : before.keySet()) {
            oldIndex.put(key, n++);
        }

        // Longest prefix of `after` whose fields existed before, in their old relative order: those stay in place.
        List<String> kept = new ArrayList<>();
        List<String> appended = new ArrayList<>();
        int last = -1;
        boolean inPrefix = true;
        for (String key : after.keySet()) {
            Integer idx = oldIndex.get(key);
            if (inPrefix && idx != null && idx > last) {
                kept.add(key);
                last = idx;
            } else {
                inPrefix = false;
                appended.add(key);
            }
        }

        Document deleted = new Document();
        for (String key : before.keySet()) {
            if (!after.containsKey(key)) {
                deleted.put(key, Boolean.FALSE);
            }
        }

        Document updated = new Document();
        Document subDiffs = new Document();
        for (String key : kept) {
            Object oldValue = before.get(key);
            Object newValue = after.get(key);
            if (BsonValues.binaryEquals(oldValue, newValue)) {
                continue;
            }
            String childPath = path.isEmpty() ? key : path + "." + key;
            Document sub = nestedDiff(oldValue, newValue, childPath);
            if (sub != null) {
                subDiffs.put("s" + key, sub);
            } else {
                updated.put(key, BsonValues.deepCopy(newValue));
            }
        }

        Document inserted = new Document();
        for (String key : appended) {
            inserted.put(key, BsonValues.deepCopy(after.get(key)));
        }

        Document diff = new Document();
        if (!deleted.isEmpty()) {
            diff.put("d", deleted);
        }
        if (!updated.isEmpty()) {
            diff.put("u", updated);
        }
        if (!inserted.isEmpty()) {
            diff.put("i", inserted);
        }
        diff.putAll(subDiffs);
        return diff;
    }

    /** A sub-diff for a changed value, or null when the new value must be logged whole. */
    private Document nestedDiff(Object oldValue, Object newValue, String path) {
        if (atomicPaths.contains(path)) {
            return null;
        }
        Document sub;
        if (oldValue instanceof Document && newValue instanceof Document) {
            sub = documentDiff((Document) oldValue, (Document) newValue, path);
        } else if (oldValue instanceof List && newValue instanceof List) {
            sub = arrayDiff((List<?>) oldValue, (List<?>) newValue, path);
        } else {
            return null;
        }
        if (sub == null) {
            return null;
        }
        if (calculatorStyle && BsonValues.documentSize(sub) >= BsonValues.valueSize(newValue)) {
            return null;
        }
        return sub;
    }

    /** An array diff ({@code a:true}, {@code l}, {@code u<i>}, {@code s<i>}), or null to log the array whole. */
    private Document arrayDiff(List<?> before, List<?> after, String path) {
        Document diff = new Document("a", Boolean.TRUE);
        if (calculatorStyle) {
            if (after.size() < before.size()) {
                diff.put("l", after.size());
            }
        } else {
            if (before.isEmpty() || after.size() < before.size()) {
                return null;
            }
            if (after.size() > before.size()) {
                for (int i = 0; i < before.size(); i++) {
                    if (!BsonValues.binaryEquals(before.get(i), after.get(i))) {
                        return null; // shifted: $push with $position/$sort, logged whole
                    }
                }
            }
        }
        for (int i = 0; i < after.size(); i++) {
            Object newValue = after.get(i);
            if (i < before.size()) {
                Object oldValue = before.get(i);
                if (BsonValues.binaryEquals(oldValue, newValue)) {
                    continue;
                }
                Document sub = nestedDiff(oldValue, newValue, path + "." + i);
                if (sub != null) {
                    diff.put("s" + i, sub);
                    continue;
                }
            }
            diff.put("u" + i, BsonValues.deepCopy(newValue));
        }
        return diff;
    }
}

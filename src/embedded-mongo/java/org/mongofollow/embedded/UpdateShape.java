package org.mongofollow.embedded;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import de.bwaldvogel.mongo.bson.Document;

/**
 * What the update driver needs to know about an update specification: whether it is a replacement, a
 * pipeline, or modifiers, and which paths the modifiers write as whole values (see {@link DiffCalculator}).
 */
final class UpdateShape {

    /** Operators whose target is logged whole ({@code u} or {@code i}) by the 5.0 update driver. */
    private static final Set<String> WHOLE_VALUE_OPERATORS = Set.of(
        "$set", "$setOnInsert", "$inc", "$mul", "$min", "$max", "$currentDate", "$bit",
        "$pull", "$pullAll", "$addToSet", "$pop");

    enum Kind { REPLACEMENT, MODIFIERS, PIPELINE }

    final Kind kind;
    final Set<String> atomicPaths;

    private UpdateShape(Kind kind, Set<String> atomicPaths) {
        this.kind = kind;
        this.atomicPaths = atomicPaths;
    }

    static final UpdateShape UNKNOWN = new UpdateShape(Kind.MODIFIERS, Set.of());
    static final UpdateShape PIPELINE = new UpdateShape(Kind.PIPELINE, Set.of());

    static UpdateShape of(Object update) {
        if (update instanceof List) {
            return new UpdateShape(Kind.PIPELINE, Set.of());
        }
        if (!(update instanceof Document)) {
            return UNKNOWN;
        }
        Document spec = (Document) update;
        boolean modifiers = !spec.isEmpty() && spec.keySet().iterator().next().startsWith("$");
        if (!modifiers) {
            return new UpdateShape(Kind.REPLACEMENT, Set.of());
        }
        Set<String> atomic = new HashSet<>();
        for (Map.Entry<String, Object> op : spec.entrySet()) {
            if (!(op.getValue() instanceof Document)) {
                continue;
            }
            Document targets = (Document) op.getValue();
            for (Map.Entry<String, Object> target : targets.entrySet()) {
                String path = target.getKey();
                if (path.contains("$")) {
                    continue; // positional paths resolve per document; the structural diff handles them
                }
                if (WHOLE_VALUE_OPERATORS.contains(op.getKey())) {
                    atomic.add(path);
                } else if (op.getKey().equals("$push") && hasPushModifiers(target.getValue())) {
                    atomic.add(path);
                } else if (op.getKey().equals("$rename") && target.getValue() instanceof String) {
                    atomic.add((String) target.getValue());
                }
            }
        }
        return new UpdateShape(Kind.MODIFIERS, atomic);
    }

    private static boolean hasPushModifiers(Object value) {
        if (!(value instanceof Document)) {
            return false;
        }
        Document d = (Document) value;
        return d.containsKey("$slice") || d.containsKey("$sort") || d.containsKey("$position");
    }
}

package org.mongofollow.apply;

import org.bson.BsonArray;
import org.bson.BsonValue;

import java.util.ArrayList;
import java.util.List;

/**
 * A path into a document, step by step, as an update names it. A dotted path ({@code $v:1}'s {@code $set}, a change
 * event's {@code updatedFields}) is read as MongoDB reads it: each part is a field of an object, or, when the value there
 * is an array, the index of an element. A change event's {@code disambiguatedPaths} (MongoDB 6.1 and later) names a path
 * whose parts would be misread so (a field name with a dot, a numeric field name): each part is then a field name (a
 * string) or an array index (a number), whatever the document holds.
 */
record UpdatePath(List<Step> steps, String dotted) {

    enum Mode {
        /** A field of an object, or the index of an array's element (MongoDB's reading of a dotted path). */
        FIELD_OR_INDEX,
        /** Only a field of an object. */
        FIELD,
        /** Only the index of an array's element. */
        INDEX
    }

    record Step(String name, Mode mode) {}

    /** The path {@code a.b.0}. */
    static UpdatePath dotted(String path) {
        List<Step> steps = new ArrayList<>();
        for (String part : path.split("\\.", -1)) {
            steps.add(new Step(part, Mode.FIELD_OR_INDEX));
        }
        return new UpdatePath(List.copyOf(steps), path);
    }

    /**
     * A path of {@code disambiguatedPaths}: strings are field names, numbers array indexes.
     *
     * @throws UnapplicableUpdateException for a part that is neither
     */
    static UpdatePath disambiguated(String path, BsonArray parts) {
        List<Step> steps = new ArrayList<>();
        for (BsonValue part : parts) {
            if (part.isString()) {
                steps.add(new Step(part.asString().getValue(), Mode.FIELD));
            } else if (part.isInt32() || part.isInt64()) {
                steps.add(new Step(Long.toString(part.asNumber().longValue()), Mode.INDEX));
            } else {
                throw new UnapplicableUpdateException("disambiguatedPaths of [" + path + "] has a part of type " + part.getBsonType());
            }
        }
        if (steps.isEmpty()) {
            throw new UnapplicableUpdateException("disambiguatedPaths of [" + path + "] is empty");
        }
        return new UpdatePath(List.copyOf(steps), path);
    }

    /** The dotted form of the first {@code count} steps, for messages. */
    String prefix(int count) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                out.append('.');
            }
            out.append(steps.get(i).name());
        }
        return out.toString();
    }

    int length() {
        return steps.size();
    }

    Step step(int i) {
        return steps.get(i);
    }
}

package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.elasticsearch.common.bytes.BytesArray;
import org.junit.Test;

import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/**
 * Updates applied to a selected copy give the selected part of the updated document, or ask for the document
 * (null) where the copy cannot tell.
 */
public class SelectedUpdatesTests {

    private static Map<String, Object> json(String document) {
        return BsonToJson.toSource(BsonDocument.parse(document));
    }

    /** The update applied to the selected copy of {@code before}: null when the document must be looked up. */
    private static Map<String, Object> applySelected(FieldSelection selection, ShardOperation.Kind kind, Map<String, Object> before, BsonDocument update) {
        ShardOperation operation = new ShardOperation(kind, "1", 1, bytes(update));
        return DocumentUpdates.apply(operation, selection.select(before), selection);
    }

    private static BytesArray bytes(BsonDocument document) {
        java.nio.ByteBuffer buffer = new org.bson.RawBsonDocument(document, new org.bson.codecs.BsonDocumentCodec()).getByteBuffer().asNIO();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new BytesArray(bytes);
    }

    /** Checks that updating the copy gives the selection of the updated document. */
    private static void check(FieldSelection selection, ShardOperation.Kind kind, String before, String update) {
        Map<String, Object> full = json(before);
        BsonDocument parsed = BsonDocument.parse(update);
        Map<String, Object> updated = kind == ShardOperation.Kind.UPDATE_DIFF ? DiffApplier.apply(full, parsed) : V1UpdateApplier.apply(full, parsed);
        Map<String, Object> result = applySelected(selection, kind, full, parsed);
        assertTrue("the copy can take " + update, result != null);
        assertStrictEquals(update, selection.select(updated), result);
    }

    /**
     * Checks the document the follower has after the update, the copy made as the follower makes it (the BSON selection
     * of the document, then the mapping), against the selection of the updated document {@code after}.
     */
    private static void checkCopy(FieldSelection selection, ShardOperation.Kind kind, String before, String update, String after) {
        Map<String, Object> copy = BsonToJson.toSource(selection.select(BsonDocument.parse(before)));
        ShardOperation operation = new ShardOperation(kind, "1", 1, bytes(BsonDocument.parse(update)));
        Map<String, Object> result = DocumentUpdates.apply(operation, copy, selection);
        assertTrue("the copy can take " + update, result != null);
        assertStrictEquals(update, BsonToJson.toSource(selection.select(BsonDocument.parse(after))), result);
    }

    private static void lookedUp(FieldSelection selection, ShardOperation.Kind kind, String before, String update) {
        assertNull(update, applySelected(selection, kind, json(before), BsonDocument.parse(update)));
    }

    private static FieldSelection include(String... paths) {
        return new FieldSelection(List.of(paths), List.of());
    }

    private static FieldSelection exclude(String... paths) {
        return new FieldSelection(List.of(), List.of(paths));
    }

    private static final ShardOperation.Kind DIFF = ShardOperation.Kind.UPDATE_DIFF;
    private static final ShardOperation.Kind V1 = ShardOperation.Kind.UPDATE_V1;

    @Test
    public void changesOfUnselectedFieldsAreDropped() {
        BsonDocument narrowed = SelectedUpdates.narrow(exclude("secret", "secret2", "secret3"), DIFF,
            BsonDocument.parse("{u: {secret: 1, a: 2}, ssecret2: {u: {x: 1}}, d: {secret3: false}}"), json("{a: 1}"));
        assertEquals(BsonDocument.parse("{u: {a: 2}}"), narrowed);
        check(exclude("secret"), DIFF, "{a: 1, secret: {x: 0}}", "{u: {secret: 1, a: 2}}");
        check(include("name"), DIFF, "{name: 'n', details: {x: 1}}", "{sdetails: {u: {x: 2}}, u: {name: 'm'}}");
    }

    @Test
    public void aNewValueKeepsItsSelectedPart() {
        check(include("a.x"), DIFF, "{a: {x: 1, y: 1}}", "{u: {a: {x: 2, y: 2, z: 3}}}");
        check(exclude("a.s"), DIFF, "{a: {s: 1}}", "{i: {a: {s: 2, t: 3}}}");
    }

    @Test
    public void aNewValueWithNothingSelectedRemovesTheField() {
        check(include("a.x"), DIFF, "{a: {x: 1}, b: 1}", "{u: {a: {y: 1}}}");
        check(include("a.x"), V1, "{a: {x: 1}, b: 1}", "{$set: {a: {y: 1}}}");
    }

    @Test
    public void subDiffsBelowAnIncludedPathApplyToTheCopy() {
        check(include("a.x", "a.y"), DIFF, "{a: {x: 1, y: 2, z: 3}}", "{sa: {u: {x: 5, z: 0}, d: {y: false}}}");
        check(include("a"), DIFF, "{a: [1, {b: 2}], c: 1}", "{sa: {a: true, u0: 7, s1: {u: {b: 3}}}}");
    }

    @Test
    public void removingTheLastSelectedFieldLeavesTheObjectOut() {
        check(include("a.x"), DIFF, "{a: {x: 1, y: 2}}", "{sa: {d: {x: false}}}");
    }

    @Test
    public void arrayDiffsBelowAnExcludedPathKeepPositions() {
        check(exclude("a.s"), DIFF, "{a: [{s: 1, t: 1}, 2, {s: 3}]}", "{sa: {a: true, s0: {u: {s: 9, t: 2}}, u1: {s: 1, t: 5}, s2: {d: {s: false}, i: {v: 1}}}}");
        check(exclude("a.s"), DIFF, "{a: [{s: 1, t: 1}, 2, {s: 3}]}", "{sa: {a: true, l: 1}}");
    }

    @Test
    public void whereTheCopyCannotTellTheDocumentIsLookedUp() {
        // an object all of whose fields are unselected is not in the copy: a sub-diff into it may add a selected field
        lookedUp(include("a.x"), DIFF, "{a: {y: 1}}", "{sa: {i: {x: 5}}}");
        // the copy of an array below an include is missing its unselected elements
        lookedUp(include("a.x"), DIFF, "{a: [{y: 1}, {x: 1}]}", "{sa: {a: true, s1: {u: {x: 2}}}}");
        lookedUp(include("a.x"), V1, "{a: [{y: 1}, {x: 1}]}", "{$set: {'a.1.x': 2}}");
        lookedUp(include("a.x"), V1, "{a: [{y: 1}]}", "{$set: {'a.0.x': 2}}");
        // a field the copy lacks below an include may be in MongoDB's document, unselected, in its place: a new value goes there
        lookedUp(include("a.x"), DIFF, "{a: {y: 1}, b: 1}", "{u: {a: {x: 1}}}");
        lookedUp(include("a.x"), V1, "{a: {y: 1}, b: 1}", "{$set: {'a.x': 1}}");
    }

    @Test
    public void v1PathsFollowTheSelection() {
        check(exclude("secret", "a.s"), V1, "{a: {s: 1, t: 1}, secret: 1}", "{$set: {secret: 2, 'a.s': 3, 'a.t': 4}, $unset: {'a.u': true}}");
        check(include("a.x"), V1, "{a: {q: 1, x: 0}, b: 1}", "{$set: {'a.x.y': 2, 'a.z': 3}}");
        check(exclude("a.s"), V1, "{a: [{s: 1, t: 1}]}", "{$set: {'a.0.s': 2, 'a.0.t': 3, 'a.2': {s: 1, u: 1}}}");
        check(include("a"), V1, "{a: [{s: 1}], b: 1}", "{$set: {'a.0.s': 2, b: 3}, $unset: {'a.0': true}}");
    }

    @Test
    public void v1SetOfAnUnselectedFieldStillCreatesItsSelectedParents() {
        // MongoDB creates the missing parents of a set path: they stay (emptied) in the selection
        checkCopy(exclude("a.b"), V1, "{c: 1}", "{$set: {'a.b': 1}}", "{c: 1, a: {b: 1}}");
        checkCopy(exclude("a.b.c"), V1, "{c: 1}", "{$set: {'a.b.c': 1}}", "{c: 1, a: {b: {c: 1}}}");
        checkCopy(new FieldSelection(List.of("a"), List.of("a.b")), V1, "{c: 1}", "{$set: {'a.b': 1}}", "{c: 1, a: {b: 1}}");
        // and pads an array past its end up to a new element
        checkCopy(exclude("a.b"), V1, "{a: [{b: 1}]}", "{$set: {'a.2.b': 2}}", "{a: [{b: 1}, null, {b: 2}]}");
        // the paths of an entry apply in order: a later path goes through the parents an earlier one created
        checkCopy(exclude("a.b"), V1, "{c: 1}", "{$set: {'a.c': 1, 'a.b': 2}}", "{c: 1, a: {c: 1, b: 2}}");
        checkCopy(exclude("a.b"), V1, "{c: 1}", "{$set: {'a.b': 2, 'a.c': 1}}", "{c: 1, a: {b: 2, c: 1}}");
        checkCopy(exclude("a.b"), V1, "{a: []}", "{$set: {'a.0.b': 2, 'a.0.c': 1}}", "{a: [{b: 2, c: 1}]}");
    }

    @Test
    public void v1PathsBlockedByAScalarChangeNothing() {
        checkCopy(exclude("a.b"), V1, "{a: null}", "{$set: {'a.b': 1, 'a.c': 1}}", "{a: null}");
        checkCopy(exclude("a.b"), V1, "{a: [1]}", "{$set: {'a.0.c': 1, 'a.x': 1}}", "{a: [1]}");
    }

    @Test
    public void nullValuesStayInTheCopy() {
        checkCopy(exclude("s"), DIFF, "{a: null, s: 1, l: [null, 1]}", "{u: {b: 1}}", "{a: null, l: [null, 1], b: 1}");
        checkCopy(exclude("s"), V1, "{a: null, s: 1, l: [null, 1]}", "{$set: {b: 1}}", "{a: null, l: [null, 1], b: 1}");
        checkCopy(include("a.x", "b"), DIFF, "{a: {x: null, y: 1}}", "{u: {b: 1}}", "{a: {x: null, y: 1}, b: 1}");
    }

    @Test
    public void valuesMappedToObjectsAreSelectedAsTheObjects() {
        // a timestamp is {"t": .., "i": ..} in _source: the selection is the same on the copy and on the updated copy
        checkCopy(exclude("ts.t"), DIFF, "{ts: {$timestamp: {t: 5, i: 7}}, n: 1}", "{u: {n: 2}}",
            "{ts: {$timestamp: {t: 5, i: 7}}, n: 2}");
        checkCopy(exclude("ts.t"), V1, "{n: 1}", "{$set: {ts: {$timestamp: {t: 5, i: 7}}}}", "{n: 1, ts: {$timestamp: {t: 5, i: 7}}}");
        checkCopy(include("r.pattern"), DIFF, "{r: {$regularExpression: {pattern: 'x', options: 'i'}}, n: 1}", "{u: {n: 2}}",
            "{r: {$regularExpression: {pattern: 'x', options: 'i'}}}");
    }
}

package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.junit.Test;

import java.util.Map;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/** $v:1 ($set / $unset with dotted paths) rules, one test each. */
public class V1UpdateApplierTests {

    private static Map<String, Object> doc(String json) {
        return BsonToJson.toSource(BsonDocument.parse(json));
    }

    private static void check(String before, String update, String after) {
        Map<String, Object> pre = doc(before);
        Map<String, Object> preCopy = doc(before);
        assertStrictEquals(update, doc(after), V1UpdateApplier.apply(pre, BsonDocument.parse(update)));
        assertStrictEquals("the input is not modified", preCopy, pre);
    }

    @Test
    public void setReplacesInPlaceAndAppendsNewFields() {
        check("{a: 1, b: 2}", "{$v: 1, $set: {a: 5, c: 3}}", "{a: 5, b: 2, c: 3}");
    }

    @Test
    public void setWithoutVersionField() {
        check("{a: 1}", "{$set: {a: 2}}", "{a: 2}");
    }

    @Test
    public void setCreatesMissingParents() {
        check("{a: 1}", "{$v: 1, $set: {'x.y.z': true}}", "{a: 1, x: {y: {z: true}}}");
    }

    @Test
    public void setIntoExistingSubDocument() {
        check("{b: {c: 1, d: 2}}", "{$v: 1, $set: {'b.c': 5, 'b.e': 6}}", "{b: {c: 5, d: 2, e: 6}}");
    }

    @Test
    public void setArrayElement() {
        check("{arr: [1, 2, 3]}", "{$v: 1, $set: {'arr.1': 20}}", "{arr: [1, 20, 3]}");
    }

    @Test
    public void setPastTheEndPadsWithNull() {
        check("{arr: [1]}", "{$v: 1, $set: {'arr.3': 4}}", "{arr: [1, null, null, 4]}");
        check("{arr: [1]}", "{$v: 1, $set: {'arr.1': 2}}", "{arr: [1, 2]}");
    }

    @Test
    public void setDeepPastTheEndCreatesAnObjectElement() {
        check("{arr: []}", "{$v: 1, $set: {'arr.2.b': 1}}", "{arr: [null, null, {b: 1}]}");
    }

    @Test
    public void setInsideArrayElement() {
        check("{items: [{q: 1}, {q: 2}]}", "{$v: 1, $set: {'items.1.q': 5, 'items.0.n': 'x'}}", "{items: [{q: 1, n: 'x'}, {q: 5}]}");
    }

    @Test
    public void setWholeArray() {
        check("{arr: [1, 2, 1]}", "{$v: 1, $set: {arr: [2]}}", "{arr: [2]}");
    }

    @Test
    public void numericPartOnObjectIsAFieldName() {
        check("{o: {x: 1}}", "{$v: 1, $set: {'o.0': 'zero'}}", "{o: {x: 1, '0': 'zero'}}");
    }

    @Test
    public void missingParentWithNumericNameIsAnObject() {
        check("{a: 1}", "{$v: 1, $set: {'x.0.y': 1}}", "{a: 1, x: {'0': {y: 1}}}");
    }

    @Test
    public void pathThroughScalarOrNullIsIgnored() {
        check("{a: 'scalar', n: null, b: 1}", "{$v: 1, $set: {'a.x': 1, 'n.y': 1, b: 2}}", "{a: 'scalar', n: null, b: 2}");
    }

    @Test
    public void nonNumericPartOnArrayIsIgnored() {
        check("{arr: [1, 2]}", "{$v: 1, $set: {'arr.x': 1, 'arr.01': 1}}", "{arr: [1, 2]}");
    }

    @Test
    public void unsetRemovesField() {
        check("{a: 1, b: {c: 1, d: 2}}", "{$v: 1, $unset: {a: true, 'b.c': true}}", "{b: {d: 2}}");
    }

    @Test
    public void unsetOfArrayElementSetsNullAndKeepsLength() {
        check("{arr: [1, 2, 3]}", "{$v: 1, $unset: {'arr.1': true}}", "{arr: [1, null, 3]}");
        check("{arr: [{x: 1, y: 2}]}", "{$v: 1, $unset: {'arr.0.x': true}}", "{arr: [{y: 2}]}");
    }

    @Test
    public void unsetOfMissingPathIsANoop() {
        check("{a: {b: 1}, arr: [1]}", "{$v: 1, $unset: {zz: true, 'a.zz': true, 'q.r': true, 'a.b.c': true, 'arr.5': true, 'arr.x': true}}",
            "{a: {b: 1}, arr: [1]}");
    }

    @Test
    public void sectionsAppliedInEntryOrder() {
        check("{a: 1, gone: 2}", "{$v: 1, $unset: {gone: true}, $set: {a: 2, b: 'x'}}", "{a: 2, b: 'x'}");
    }

    @Test
    public void valuesUseTheMapping() {
        check("{a: 1}", "{$v: 1, $set: {a: NumberLong(5), d: {$date: '2024-05-01T12:00:00Z'}}}",
            "{a: NumberLong(5), d: '2024-05-01T12:00:00.000Z'}");
    }

    @Test
    public void rejectedValuesAndNames() {
        for (String update : new String[] { "{$set: {a: NaN}}", "{$set: {'o.x': -Infinity}}", "{$set: {_routing: 1}}",
            "{$set: {'_source.x': 1}}" }) {
            try {
                V1UpdateApplier.apply(doc("{a: 1}"), BsonDocument.parse(update));
                fail("expected a rejection: " + update);
            } catch (RejectedDocumentException e) {
                // expected
            }
        }
    }

    @Test
    public void otherOperatorsAreUnapplicable() {
        for (String update : new String[] { "{$v: 1, $inc: {a: 1}}", "{$v: 1, $push: {a: 1}}", "{$v: 3, $set: {a: 1}}",
            "{$set: 5}" }) {
            try {
                V1UpdateApplier.apply(doc("{a: 1}"), BsonDocument.parse(update));
                fail("expected unapplicable: " + update);
            } catch (UnapplicableUpdateException e) {
                assertTrue(e.getMessage().isBlank() == false);
            }
        }
    }
}

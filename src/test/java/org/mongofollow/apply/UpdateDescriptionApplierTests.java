package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.junit.Test;

import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/**
 * A change event's updateDescription applied to the stored document, with the descriptions MongoDB writes for the updates
 * named in each test (MongoDB 6.1+ with showExpandedEvents, so ambiguous paths come with disambiguatedPaths).
 */
public class UpdateDescriptionApplierTests {

    private static Map<String, Object> doc(String json) {
        return BsonToJson.toSource(BsonDocument.parse(json));
    }

    private static void check(String before, String description, String after) {
        Map<String, Object> pre = doc(before);
        Map<String, Object> preCopy = doc(before);
        assertStrictEquals(description, doc(after), UpdateDescriptionApplier.apply(pre, BsonDocument.parse(description)));
        assertStrictEquals("the input is not modified", preCopy, pre);
    }

    @Test
    public void updatedAndRemovedFields() {
        // {$set: {a: 5, 'n.x': 1}, $unset: {b: ''}}
        check("{a: 1, b: 2, n: {y: 0}}", "{updatedFields: {a: 5, 'n.x': 1}, removedFields: ['b'], truncatedArrays: []}", "{a: 5, n: {y: 0, x: 1}}");
    }

    @Test
    public void aDottedPathIndexesArraysAndNamesFieldsOfObjects() {
        // {$set: {'arr.1': 'B', 'obj.1': 'b'}}: the same dotted form, an element of an array and a field of an object
        check(
            "{arr: ['a', 'x', 'c'], obj: {'1': 'x'}}",
            "{updatedFields: {'arr.1': 'B', 'obj.1': 'b'}, removedFields: [], truncatedArrays: [], disambiguatedPaths: {'obj.1': ['obj', '1']}}",
            "{arr: ['a', 'B', 'c'], obj: {'1': 'b'}}"
        );
    }

    @Test
    public void disambiguatedPathsNameFieldsWithDots() {
        // a pipeline update that changed c inside the top-level field 'a.b' (not a -> b -> c): only disambiguatedPaths says so
        check(
            "{'a.b': {c: 1}, a: {b: {c: 2}}}",
            "{updatedFields: {'a.b.c': 10}, removedFields: ['a.b.d'], truncatedArrays: [], "
                + "disambiguatedPaths: {'a.b.c': ['a.b', 'c'], 'a.b.d': ['a.b', 'd']}}",
            "{'a.b': {c: 10}, a: {b: {c: 2}}}"
        );
    }

    @Test
    public void anIndexInDisambiguatedPathsIsOnlyAnIndex() {
        // ['m', 0]: element 0 of array m; on an object m (a document the update does not fit) nothing happens
        check("{m: ['x', 'y']}", "{updatedFields: {'m.0': 'z'}, disambiguatedPaths: {'m.0': ['m', 0]}}", "{m: ['z', 'y']}");
        check("{m: {'0': 'x'}}", "{updatedFields: {'m.0': 'z'}, disambiguatedPaths: {'m.0': ['m', 0]}}", "{m: {'0': 'x'}}");
        // ['m', '0']: the field named 0; an array m has none
        check("{m: ['x']}", "{updatedFields: {'m.0': 'z'}, disambiguatedPaths: {'m.0': ['m', '0']}}", "{m: ['x']}");
    }

    @Test
    public void truncatedArraysFirstThenTheirNewElements() {
        // {$pop: {list: 1}} then a $v:2 diff that resizes to 2 and sets element 1
        check("{list: [1, 2, 3, 4]}", "{updatedFields: {'list.1': 20}, removedFields: [], truncatedArrays: [{field: 'list', newSize: 2}]}", "{list: [1, 20]}");
        check("{o: {list: [1, 2, 3]}}", "{updatedFields: {}, removedFields: [], truncatedArrays: [{field: 'o.list', newSize: 0}]}", "{o: {list: []}}");
        // a resize past the end pads with null, as the oplog's array resize ('l') does
        check("{list: [1]}", "{updatedFields: {}, removedFields: [], truncatedArrays: [{field: 'list', newSize: 3}]}", "{list: [1, null, null]}");
    }

    @Test
    public void aRemovedArrayElementBecomesNull() {
        check("{arr: [1, 2, 3]}", "{updatedFields: {}, removedFields: ['arr.1'], truncatedArrays: []}", "{arr: [1, null, 3]}");
    }

    @Test
    public void aMalformedDescriptionIsUnapplicable() {
        assertThrows(UnapplicableUpdateException.class, () -> UpdateDescriptionApplier.apply(doc("{a: 1}"), BsonDocument.parse("{updatedFields: 1}")));
        assertThrows(UnapplicableUpdateException.class, () -> UpdateDescriptionApplier.apply(doc("{a: 1}"), BsonDocument.parse("{removedFields: [1]}")));
        assertThrows(
            UnapplicableUpdateException.class,
            () -> UpdateDescriptionApplier.apply(doc("{a: 1}"), BsonDocument.parse("{truncatedArrays: [{field: 'a'}]}"))
        );
        assertThrows(UnapplicableUpdateException.class, () -> UpdateDescriptionApplier.apply(doc("{a: 1}"), BsonDocument.parse("{what: {}}")));
    }

    @Test
    public void asV1OnlyWhenItIsOne() {
        assertEquals(
            BsonDocument.parse("{$v: 1, $unset: {b: true}, $set: {'a.1': 2}}"),
            UpdateDescriptionApplier.asV1(BsonDocument.parse("{updatedFields: {'a.1': 2}, removedFields: ['b'], truncatedArrays: []}"))
        );
        assertNull(UpdateDescriptionApplier.asV1(BsonDocument.parse("{updatedFields: {}, truncatedArrays: [{field: 'l', newSize: 1}]}")));
        assertNull(UpdateDescriptionApplier.asV1(BsonDocument.parse("{updatedFields: {'a.b': 1}, disambiguatedPaths: {'a.b': ['a.b']}}")));
    }
}

package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/** fields.include / fields.exclude on whole documents, in both models (BSON before the mapping, JSON after it). */
public class FieldSelectionTests {

    private static FieldSelection selection(List<String> includes, List<String> excludes) {
        return new FieldSelection(includes, excludes);
    }

    /** Checks the BSON selection and that selecting the mapped JSON gives the same document. */
    private static void check(FieldSelection selection, String document, String expected) {
        BsonDocument bson = BsonDocument.parse(document);
        BsonDocument selected = selection.select(bson);
        assertEquals(document, BsonDocument.parse(expected), selected);
        assertStrictEquals("field order", BsonToJson.toSource(BsonDocument.parse(expected)), BsonToJson.toSource(selected));
        assertStrictEquals("the JSON model selects alike", BsonToJson.toSource(selected), selection.select(BsonToJson.toSource(bson)));
    }

    @Test
    public void nothingListedSelectsEverything() {
        BsonDocument document = BsonDocument.parse("{_id: 1, a: {b: 1}}");
        assertTrue(FieldSelection.ALL.selectsAll());
        assertSame(document, FieldSelection.ALL.select(document));
    }

    @Test
    public void includeKeepsListedPathsInDocumentOrderAndTheId() {
        check(selection(List.of("c", "a"), List.of()), "{_id: 7, a: 1, b: 2, c: {x: 1}}", "{_id: 7, a: 1, c: {x: 1}}");
    }

    @Test
    public void includeOfANestedPathKeepsOnlyItsPartOfTheParents() {
        check(selection(List.of("a.b"), List.of()), "{_id: 1, a: {z: 0, b: {c: 1}, y: 2}, b: 3}", "{_id: 1, a: {b: {c: 1}}}");
    }

    @Test
    public void includeLeavesOutParentsWithNothingSelected() {
        check(selection(List.of("a.b"), List.of()), "{_id: 1, a: {c: 1}, k: 1}", "{_id: 1}");
        check(selection(List.of("a.b"), List.of()), "{_id: 1, a: 5}", "{_id: 1}");
    }

    @Test
    public void includeThroughArraysKeepsTheSelectedPartOfEachElement() {
        check(
            selection(List.of("a.b"), List.of()),
            "{_id: 1, a: [{b: 1, c: 1}, {c: 2}, 5, [{b: 2}, 6], [], {b: [1, {x: 1}]}]}",
            "{_id: 1, a: [{b: 1}, [{b: 2}], {b: [1, {x: 1}]}]}"
        );
    }

    @Test
    public void excludeRemovesThePathAndKeepsTheRestEvenEmpty() {
        check(selection(List.of(), List.of("a.b", "s")), "{_id: 1, s: 'secret', a: {b: 1}, c: 2}", "{_id: 1, a: {}, c: 2}");
    }

    @Test
    public void excludeThroughArraysKeepsElementPositions() {
        check(
            selection(List.of(), List.of("a.b")),
            "{_id: 1, a: [{b: 1, c: 1}, {b: 2}, 3, [{b: 4, d: 1}]]}",
            "{_id: 1, a: [{c: 1}, {}, 3, [{d: 1}]]}"
        );
    }

    @Test
    public void excludeAppliesAfterInclude() {
        check(selection(List.of("a"), List.of("a.b")), "{_id: 1, a: {b: 1, c: 2}, z: 1}", "{_id: 1, a: {c: 2}}");
        check(selection(List.of("a.b"), List.of("a")), "{_id: 1, a: {b: 1, c: 2}, z: 1}", "{_id: 1}");
    }

    @Test
    public void aListedParentCoversItsChildren() {
        check(selection(List.of("a", "a.b"), List.of()), "{_id: 1, a: {b: 1, c: 2}, z: 1}", "{_id: 1, a: {b: 1, c: 2}}");
        check(selection(List.of(), List.of("a.b", "a")), "{_id: 1, a: {b: 1, c: 2}, z: 1}", "{_id: 1, z: 1}");
    }

    @Test
    public void nullValuesAreKeptLikeOtherScalars() {
        check(selection(List.of(), List.of("c.b")), "{_id: 1, a: null, c: [null, {b: 1}, null]}", "{_id: 1, a: null, c: [null, {}, null]}");
        check(selection(List.of("a.x", "c"), List.of("c.b")), "{_id: 1, a: {x: null, y: 1}, c: [null, {b: 1}]}", "{_id: 1, a: {x: null}, c: [null, {}]}");
        // below an include, a null is a scalar where only fields below it are included
        check(selection(List.of("a.x"), List.of()), "{_id: 1, a: [null, {x: 1}]}", "{_id: 1, a: [{x: 1}]}");
    }

    @Test
    public void valuesMappedToObjectsAreSelectedAsTheObjectsSourceHolds() {
        check(selection(List.of(), List.of("ts.t")), "{_id: 1, ts: {$timestamp: {t: 5, i: 7}}}", "{_id: 1, ts: {i: {$numberLong: '7'}}}");
        check(selection(List.of("ts.t"), List.of()), "{_id: 1, ts: {$timestamp: {t: 5, i: 7}}}", "{_id: 1, ts: {t: {$numberLong: '5'}}}");
        check(selection(List.of("r.pattern", "p.$id", "k"), List.of("k.$minKey")),
            "{_id: 1, r: {$regularExpression: {pattern: 'x', options: 'i'}}, p: {$dbPointer: {'$ref': 'db.c', '$id': {'$oid': '5f0000000000000000000001'}}},"
                + " k: {$minKey: 1}}",
            "{_id: 1, r: {pattern: 'x'}, p: {'$id': '5f0000000000000000000001'}, k: {}}");
        check(selection(List.of(), List.of("c.scope.x")), "{_id: 1, c: {$code: 'f()', $scope: {x: 1, y: 2}}}", "{_id: 1, c: {code: 'f()', scope: {y: 2}}}");
        // whole, or not narrowed, they are left as they are
        check(selection(List.of("ts"), List.of("n")), "{_id: 1, ts: {$timestamp: {t: 5, i: 7}}, n: 1}", "{_id: 1, ts: {$timestamp: {t: 5, i: 7}}}");
        check(selection(List.of("ts.x"), List.of()), "{_id: 1, ts: {$timestamp: {t: 5, i: 7}}}", "{_id: 1}");
    }

    @Test
    public void edgeCasesOfPaths() {
        // a path both included and excluded is left out
        check(selection(List.of("a"), List.of("a")), "{_id: 1, a: {b: 1}, c: 1}", "{_id: 1}");
        // the top-level _id is kept whole whatever is listed below it; a nested _id is an ordinary field
        check(selection(List.of("_id.x", "a"), List.of("a._id")), "{_id: {x: 1, y: 2}, a: {_id: 1, b: 2}}", "{_id: {x: 1, y: 2}, a: {b: 2}}");
        // a numeric part is a field name: array elements share their array's path
        check(selection(List.of(), List.of("a.0")), "{_id: 1, a: [{'0': 1, b: 1}, 5], o: {'0': 1}}", "{_id: 1, a: [{b: 1}, 5], o: {'0': 1}}");
        check(selection(List.of(), List.of("o.0")), "{_id: 1, o: {'0': 1, '1': 2}}", "{_id: 1, o: {'1': 2}}");
        // $ is an ordinary character of a name
        check(selection(List.of("a.$x"), List.of()), "{_id: 1, a: {$x: 1, y: 2}}", "{_id: 1, a: {$x: 1}}");
        // empty objects and arrays: kept when excluding, left out on the way to an include
        check(selection(List.of(), List.of("a.b")), "{_id: 1, a: {}, l: []}", "{_id: 1, a: {}, l: []}");
        check(selection(List.of("a.b", "l.b"), List.of()), "{_id: 1, a: {}, l: [[], {}]}", "{_id: 1}");
    }

    @Test
    public void dottedFieldNamesAreMatchedAsThePathsTheySpell() {
        // Elasticsearch reads {"a.b": 1} as a.b: an excluded path must not reach the index through a dotted name
        check(selection(List.of(), List.of("a.b")), "{_id: 1, 'a.b': 1, 'a.c': 2, a: {b: 3, c: 4}}", "{_id: 1, 'a.c': 2, a: {c: 4}}");
        check(selection(List.of(), List.of("a.b.c")), "{_id: 1, a: {'b.c': 1, 'b.d': 2}, 'a.b': {c: 3, d: 4}}",
            "{_id: 1, a: {'b.d': 2}, 'a.b': {d: 4}}");
        check(selection(List.of("a.b"), List.of()), "{_id: 1, 'a.b': 1, 'a.c': 2, 'a.b.x': 3}", "{_id: 1, 'a.b': 1, 'a.b.x': 3}");
        check(selection(List.of("a"), List.of()), "{_id: 1, 'a.b': 1, 'c.a': 2}", "{_id: 1, 'a.b': 1}");
    }

    @Test
    public void includingIdOnlyKeepsIdentity() {
        check(selection(List.of("_id"), List.of()), "{_id: 1, a: 1}", "{_id: 1}");
    }

    @Test
    public void unselectedFieldsAreNeverMapped() {
        // a value and a field name Elasticsearch refuses, both in unselected fields: the document is taken
        BsonDocument document = BsonDocument.parse("{_id: 1, ok: 1, bad: {'a..b': 1}, n: {$numberDouble: 'NaN'}}");
        assertStrictEquals("", BsonToJson.toSource(BsonDocument.parse("{ok: 1}")),
            BsonToJson.toSource(selection(List.of(), List.of("bad", "n")).select(document)));
    }

    @Test
    public void invalidPathsAreRefusedWithTheReason() {
        refused(List.of(""), List.of(), "[fields.include] paths cannot be empty");
        refused(List.of("a..b"), List.of(), "[fields.include] [a..b] is not a dotted path");
        refused(List.of(), List.of(".a"), "[fields.exclude] [.a] is not a dotted path");
        refused(List.of("a."), List.of(), "[fields.include] [a.] is not a dotted path");
        refused(List.of("a.*"), List.of(), "wildcards are not supported");
        refused(List.of(), List.of("_id"), "[fields.exclude] [_id]: the top-level _id is the document's identity");
        refused(List.of(), List.of("_id.x"), "[fields.exclude] [_id.x]");
        refused(java.util.Collections.nCopies(FieldSelection.MAX_PATHS + 1, "a"), List.of(), "at most 1000");
    }

    private static void refused(List<String> includes, List<String> excludes, String message) {
        try {
            selection(includes, excludes);
            fail("expected a refusal: " + message);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(message));
        }
    }

    @Test
    public void parsesListsAndSinglePathsAndRefusesUnknownKeys() throws IOException {
        assertEquals(selection(List.of("a", "b.c"), List.of("d")), parse("{\"include\": [\"a\", \"b.c\"], \"exclude\": \"d\"}"));
        assertEquals(selection(List.of(), List.of()), parse("{}"));
        try {
            parse("{\"includes\": [\"a\"]}");
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("includes"));
        }
    }

    private static FieldSelection parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, json)) {
            return FieldSelection.fromXContent(parser);
        }
    }

    @Test
    public void travelsOverTheWire() throws IOException {
        FieldSelection selection = selection(List.of("a", "b.c"), List.of("b.c.d"));
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            selection.writeTo(out);
            FieldSelection read = new FieldSelection(out.bytes().streamInput());
            assertEquals(selection, read);
            assertFalse(read.selectsAll());
            check(read, "{_id: 1, a: 1, b: {c: {d: 1, e: 2}, f: 3}, g: 4}", "{_id: 1, a: 1, b: {c: {e: 2}}}");
        }
    }
}

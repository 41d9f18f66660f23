package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.junit.Test;

import java.util.Map;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/** $v:2 diff rules, one test each (document_diff_applier.cpp semantics). */
public class DiffApplierTests {

    private static Map<String, Object> doc(String json) {
        return BsonToJson.toSource(BsonDocument.parse(json));
    }

    private static void check(String before, String diff, String after) {
        Map<String, Object> pre = doc(before);
        Map<String, Object> preCopy = doc(before);
        Map<String, Object> result = DiffApplier.apply(pre, BsonDocument.parse(diff));
        assertStrictEquals(diff, doc(after), result);
        assertStrictEquals("the input is not modified", preCopy, pre);
    }

    private static void unapplicable(String diff, String messagePart) {
        for (Runnable r : new Runnable[] {
            () -> DiffApplier.apply(doc("{a: 1, arr: [1], o: {x: 1}}"), BsonDocument.parse(diff)),
            () -> DiffApplier.checkSupported(BsonDocument.parse(diff)) }) {
            try {
                r.run();
                fail("expected unapplicable: " + diff);
            } catch (UnapplicableUpdateException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(messagePart));
            }
        }
    }

    @Test
    public void deleteRemovesField() {
        check("{a: 1, b: 2, c: 3}", "{d: {b: false}}", "{a: 1, c: 3}");
    }

    @Test
    public void deleteOfMissingFieldIsANoop() {
        check("{a: 1}", "{d: {zz: false}}", "{a: 1}");
    }

    @Test
    public void updateReplacesInPlace() {
        check("{a: 1, b: 2, c: 3}", "{u: {b: 'x'}}", "{a: 1, b: 'x', c: 3}");
    }

    @Test
    public void updateOfAbsentFieldAppends() {
        check("{a: 1, b: 2}", "{u: {n: 1, a: 5}}", "{a: 5, b: 2, n: 1}");
    }

    @Test
    public void insertAppendsAtTheEnd() {
        check("{a: 1}", "{i: {z: 'new', y: 2}}", "{a: 1, z: 'new', y: 2}");
    }

    @Test
    public void insertOfExistingFieldMovesItToTheEnd() {
        check("{a: 1, b: 2, c: 3}", "{i: {a: 1}}", "{b: 2, c: 3, a: 1}");
    }

    @Test
    public void updateAppendedFieldsComeBeforeInsertedOnes() {
        check("{a: 1}", "{i: {y: 1}, u: {x: 2}}", "{a: 1, x: 2, y: 1}");
    }

    @Test
    public void sectionsInServerOrder() {
        check("{a: 1, b: 1, c: 1}", "{d: {b: false}, u: {a: 2}, i: {z: 'new'}}", "{a: 2, c: 1, z: 'new'}");
    }

    @Test
    public void subDiffRecursesIntoObject() {
        check("{o: {p: 1, q: 2, r: 3}, z: 0}", "{so: {d: {p: false}, u: {q: 20}, i: {s: 4}}}", "{o: {q: 20, r: 3, s: 4}, z: 0}");
    }

    @Test
    public void subDiffOnMissingFieldDoesNothing() {
        check("{a: 1}", "{sgone: {u: {x: 1}}}", "{a: 1}");
        check("{a: 1}", "{sgone: {a: true, u0: 1}}", "{a: 1}");
    }

    @Test
    public void subDiffOnMistypedFieldSetsNull() {
        check("{o: 'str', arr: {x: 1}, n: null, k: [1]}", "{so: {u: {x: 1}}, sarr: {a: true, u0: 1}, sn: {u: {x: 1}}, sk: {u: {x: 1}}}",
            "{o: null, arr: null, n: null, k: null}");
    }

    @Test
    public void arrayUpdateInPlace() {
        check("{arr: ['a', 'b', 'c']}", "{sarr: {a: true, u1: 'B'}}", "{arr: ['a', 'B', 'c']}");
    }

    @Test
    public void arrayUpdateAtLengthAppends() {
        check("{arr: [1, 2, 3]}", "{sarr: {a: true, u3: 4}}", "{arr: [1, 2, 3, 4]}");
    }

    @Test
    public void arrayUpdatePastTheEndPadsWithNull() {
        check("{arr: [1]}", "{sarr: {a: true, u3: 4}}", "{arr: [1, null, null, 4]}");
    }

    @Test
    public void arrayTruncate() {
        check("{arr: [1, 2, 3, 4]}", "{sarr: {a: true, l: 2}}", "{arr: [1, 2]}");
        check("{arr: [1, 2]}", "{sarr: {a: true, l: 0}}", "{arr: []}");
    }

    @Test
    public void arrayResizeLargerPadsWithNull() {
        check("{arr: [1, 2]}", "{sarr: {a: true, l: 4}}", "{arr: [1, 2, null, null]}");
    }

    @Test
    public void arrayModifyAndTruncate() {
        check("{arr: ['a', 'b', 'c', 'd']}", "{sarr: {a: true, l: 2, u0: 'X'}}", "{arr: ['X', 'b']}");
        check("{arr: ['a', 'b']}", "{sarr: {a: true, l: 100, u0: 'X'}}",
            "{arr: ['X', 'b'" + ", null".repeat(98) + "]}");
    }

    @Test
    public void arrayIndicesInNumericOrder() {
        check("{arr: [0, 1, 2]}", "{sarr: {a: true, u10: 'ten', u2: 'two'}}",
            "{arr: [0, 1, 'two', null, null, null, null, null, null, null, 'ten']}");
    }

    @Test
    public void arrayElementSubDiff() {
        check("{items: [{q: 1}, {q: 2}]}", "{sitems: {a: true, s1: {u: {q: 3}, i: {n: 'x'}}}}", "{items: [{q: 1}, {q: 3, n: 'x'}]}");
        check("{m: [[1, 2], [3]]}", "{sm: {a: true, s0: {a: true, l: 1}, s1: {a: true, u1: 4}}}", "{m: [[1], [3, 4]]}");
    }

    @Test
    public void arrayElementSubDiffOnMissingOrMistypedElementIsNull() {
        check("{arr: [7, {x: 1}, [1]]}", "{sarr: {a: true, s0: {u: {y: 1}}, s2: {u: {y: 1}}, s4: {u: {y: 1}}}}",
            "{arr: [null, {x: 1}, null, null, null]}");
    }

    @Test
    public void arrayDeleteFromMiddle() {
        check("{arr: ['a', 'b', 'c', 'd']}", "{sarr: {a: true, l: 3, u1: 'c', u2: 'd'}}", "{arr: ['a', 'c', 'd']}");
    }

    @Test
    public void unsetOfArrayElementIsNull() {
        check("{arr: [1, 2, 3]}", "{sarr: {a: true, u1: null}}", "{arr: [1, null, 3]}");
    }

    @Test
    public void deepNesting() {
        check("{a: {b: [{c: {d: 1}}]}}", "{sa: {sb: {a: true, s0: {sc: {u: {d: 2}, i: {e: true}}}}}}", "{a: {b: [{c: {d: 2, e: true}}]}}");
    }

    @Test
    public void newValuesUseTheMapping() {
        Map<String, Object> result = DiffApplier.apply(doc("{a: 1}"), BsonDocument.parse(
            "{u: {a: NumberLong(2)}, i: {d: {$date: '2024-05-01T12:00:00Z'}, o: ObjectId('6632a1f0c2b5a4e1d0f3a001'), x: undefined}}"));
        assertStrictEquals("", doc("{a: NumberLong(2), d: '2024-05-01T12:00:00.000Z', o: '6632a1f0c2b5a4e1d0f3a001', x: null}"), result);
    }

    @Test
    public void rejectedValuesAndNames() {
        for (String diff : new String[] { "{u: {a: NaN}}", "{i: {'': 1}}", "{i: {_source: 1}}", "{so: {i: {'.x': 1}}}",
            "{sarr: {a: true, u0: Infinity}}" }) {
            try {
                DiffApplier.apply(doc("{a: 1, o: {}, arr: [1]}"), BsonDocument.parse(diff));
                fail("expected a rejection: " + diff);
            } catch (RejectedDocumentException e) {
                // expected
            }
        }
        // metadata names are fine below the top level
        check("{o: {}}", "{so: {i: {_source: 1}}}", "{o: {_source: 1}}");
    }

    @Test
    public void binaryColumnPatchIsUnapplicable() {
        unapplicable("{sdata: {b: {t: {o: 0, d: {$binary: {base64: 'AA==', subType: '00'}}}}}}", "time-series");
        unapplicable("{b: {t: {o: 0}}}", "'b' section");
    }

    @Test
    public void unknownSectionsAreUnapplicable() {
        unapplicable("{x: {a: 1}}", "unknown section [x]");
        unapplicable("{sarr: {a: true, x1: 1}}", "unknown section [x1]");
        unapplicable("{sarr: {a: true, u01: 1}}", "unknown section [u01]");
        unapplicable("{sarr: {a: true, 'u-1': 1}}", "unknown section [u-1]");
    }

    @Test
    public void malformedDiffsAreUnapplicable() {
        unapplicable("{u: 5}", "section u");
        unapplicable("{so: 5}", "sub-diff so");
        unapplicable("{u: {a: 1}, d: {a: false}}", "duplicate field name [a]");
        unapplicable("{sarr: {a: true, l: 'x'}}", "l is a STRING");
        unapplicable("{sarr: {a: true, u999999999: 1}}", "out of range");
    }
}

#!/usr/bin/env python3
"""Writes the project's own conformance cases to src/test/resources/conformance/project/.

Each case follows the format of ../shared/OPLOG-FORMAT.md (name, namespace, before, oplog, after,
expect, notes; canonical Extended JSON v2). The cases are written from the rules in OPLOG-FORMAT.md;
where a detail is inferred the notes say so. Run it again after editing: it rewrites every file it owns.
"""
import json
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "conformance", "project")

UI = {"$binary": {"base64": "sqHD1A5fSmuMfZ4PGis8TQ==", "subType": "04"}}
UI_OTHER = {"$binary": {"base64": "7BzHcwJpRGWJm2Mfv1sTqA==", "subType": "04"}}
LSID_A = {"id": {"$binary": {"base64": "bxwuPUtaSWiHdqW0w9Lh8A==", "subType": "04"}},
          "uid": {"$binary": {"base64": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "subType": "00"}}}
LSID_B = {"id": {"$binary": {"base64": "Xq3b2m2nQ0OeX9xKx0b1cw==", "subType": "04"}},
          "uid": {"$binary": {"base64": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "subType": "00"}}}
NULL_OPTIME = {"ts": {"$timestamp": {"t": 0, "i": 0}}, "t": {"$numberLong": "-1"}}


def I(n): return {"$numberInt": str(n)}
def L(n): return {"$numberLong": str(n)}
def D(x): return {"$numberDouble": x}
def OID(h): return {"$oid": h}
def DATE(ms): return {"$date": {"$numberLong": str(ms)}}
def DEC(s): return {"$numberDecimal": s}
def BIN(b64, sub): return {"$binary": {"base64": b64, "subType": sub}}
def TS(t, i): return {"$timestamp": {"t": t, "i": i}}


class Case:
    """Builds one case; entries get increasing timestamps."""
    base = 1714600000

    def __init__(self, number, name, namespace="test.coll"):
        self.name = f"p{number:03d}_{name}"
        self.namespace = namespace
        self.before = []
        self.oplog = []
        self.after = []
        self.expect = "documents"
        self.notes = ""
        self.seconds = Case.base + number * 100
        self.inc = 0

    def ts(self):
        self.inc += 1
        return TS(self.seconds, self.inc)

    def optime(self, ts):
        return {"ts": ts, "t": L(1)}

    def entry(self, op, ns=None, o=None, o2=None, ui=UI, session=None, extra=None, v=L(2), h=None):
        e = {}
        if session:
            e["lsid"] = session[0]
            e["txnNumber"] = L(session[1])
        e["op"] = op
        e["ns"] = self.namespace if ns is None else ns
        if ui is not None:
            e["ui"] = ui
        e["o"] = o
        if o2 is not None:
            e["o2"] = o2
        ts = self.ts()
        e["ts"] = ts
        e["t"] = L(1)
        if h is not None:
            e["h"] = h
        e["v"] = v
        e["wall"] = DATE(ts["$timestamp"]["t"] * 1000 + ts["$timestamp"]["i"])
        if extra:
            e.update(extra)
        self.oplog.append(e)
        return e

    def i(self, doc, **kw): return self.entry("i", o=doc, **kw)
    def d(self, key, **kw): return self.entry("d", o=key, **kw)
    def u(self, o, key, **kw): return self.entry("u", o=o, o2=key, **kw)
    def diff(self, key, diff, **kw): return self.u({"$v": I(2), "diff": diff}, key, **kw)
    def v1(self, key, o, **kw): return self.u(dict([("$v", I(1))] + list(o.items())), key, **kw)
    def cmd(self, o, db="test", o2=None, ui=UI, **kw): return self.entry("c", ns=db + ".$cmd", o=o, o2=o2, ui=ui, **kw)

    def txn(self, ops, session, prev=NULL_OPTIME, o_extra=None, extra=None):
        o = {"applyOps": ops}
        if o_extra:
            o.update(o_extra)
        x = {"prevOpTime": prev}
        if extra:
            x.update(extra)
        return self.entry("c", ns="admin.$cmd", o=o, ui=None, session=session, extra=x)

    def inner(self, op, o, o2=None, ns=None):
        e = {"op": op, "ns": self.namespace if ns is None else ns, "ui": UI, "o": o}
        if o2 is not None:
            e["o2"] = o2
        return e

    def write(self):
        doc = {"name": self.name, "namespace": self.namespace, "before": self.before, "oplog": self.oplog,
               "after": None if self.expect == "fatal" else self.after, "expect": self.expect, "notes": self.notes}
        with open(os.path.join(OUT, self.name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def k(n):
    return {"_id": I(n)}


# ---------------------------------------------------------------- CRUD

@case
def _():
    c = Case(1, "insert_6x_o2_document_key_ignored")
    c.i({"_id": I(1), "sk": "eu", "a": I(1)}, o2={"sk": "eu", "_id": I(1)})
    c.after = [{"_id": I(1), "sk": "eu", "a": I(1)}]
    c.notes = "6.0+ inserts carry o2 = document key (shard key first on sharded collections). Ignore o2: o is the document."
    return c


@case
def _():
    c = Case(2, "insert_id_types")
    docs = [{"_id": OID("6632a1f0c2b5a4e1d0f3a0ff"), "k": "oid"},
            {"_id": "user-42", "k": "string"},
            {"_id": L(9007199254740993), "k": "int64 above 2^53"},
            {"_id": D("7.0"), "k": "integral double"},
            {"_id": D("7.5"), "k": "non-integral double"},
            {"_id": {"a": I(1), "b": "x"}, "k": "compound"},
            {"_id": BIN("sqHD1A5fSmuMfZ4PGis8TQ==", "04"), "k": "uuid"},
            {"_id": DATE(1714564800000), "k": "date"}]
    for d in docs:
        c.i(d)
    c.after = docs
    c.notes = ("Elasticsearch _id per DESIGN.md section 7: ObjectId -> hex, string as is, Int32/Int64/integral Double -> "
               "decimal digits ('9007199254740993', '7'), anything else -> relaxed Extended JSON as the Java driver writes "
               "it ('7.5', '{\"a\": 1, \"b\": \"x\"}', '{\"$binary\": ...}', '{\"$date\": \"2024-05-01T12:00:00Z\"}').")
    return c


@case
def _():
    c = Case(3, "delete_missing_document_noop")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.d(k(2))
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "Deleting a document the follower does not have is a no-op (idempotent replay)."
    return c


@case
def _():
    c = Case(4, "delete_sharded_document_key")
    c.before = [{"_id": I(1), "sk": "eu", "a": I(1)}, {"_id": I(2), "sk": "us", "a": I(2)}]
    c.d({"sk": "eu", "_id": I(1)})
    c.after = [{"_id": I(2), "sk": "us", "a": I(2)}]
    c.notes = "On a sharded collection a delete's o is {shard key..., _id}. Match on _id only."
    return c


@case
def _():
    c = Case(5, "replacement_id_not_first")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2)}]
    c.u({"b": I(3), "_id": I(1), "c": "new"}, k(1))
    c.after = [{"_id": I(1), "b": I(3), "c": "new"}]
    c.notes = ("A replacement is recognised by o having _id anywhere (older servers copied the client's field order). "
               "The server stores _id first; _id is not part of _source, so the other fields keep o's order.")
    return c


@case
def _():
    c = Case(6, "replacement_sharded_o2")
    c.before = [{"_id": I(1), "sk": "eu", "a": I(1)}]
    c.u({"_id": I(1), "sk": "eu", "z": True}, {"sk": "eu", "_id": I(1)})
    c.after = [{"_id": I(1), "sk": "eu", "z": True}]
    c.notes = "Update o2 on sharded collections is {shard key..., _id} (shard key first, mongo-es issue #37). Match on _id."
    return c


@case
def _():
    c = Case(7, "update_missing_document_noop_v1_v2")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.diff(k(2), {"u": {"a": I(5)}})
    c.v1(k(3), {"$set": {"a": I(5)}})
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "Updates ($v:2 and $v:1) of a document the follower does not have are no-ops: they never create it."
    return c


@case
def _():
    c = Case(8, "insert_delete_reinsert_same_id")
    c.i({"_id": I(1), "gen": I(1), "x": "a"})
    c.d(k(1))
    c.i({"_id": I(1), "gen": I(2)})
    c.after = [{"_id": I(1), "gen": I(2)}]
    c.notes = "A re-inserted _id gets the new document only (no leftover field x)."
    return c


@case
def _():
    c = Case(9, "replacement_of_pipeline_update")
    c.before = [{"_id": I(1), "a": I(1), "big": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]
    c.u({"_id": I(1), "b": I(2)}, k(1))
    c.after = [{"_id": I(1), "b": I(2)}]
    c.notes = ("A pipeline update ($replaceWith) is logged as a full replacement when the delta would be bigger than the "
               "document (v2_delta_oplog_entries.js); 4.4 logs every pipeline update that way.")
    return c


# ---------------------------------------------------------------- $v:2 diffs

@case
def _():
    c = Case(20, "v2_delete_missing_field_noop")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.diff(k(1), {"d": {"zz": False}})
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "d of a field the document does not have changes nothing."
    return c


@case
def _():
    c = Case(21, "v2_update_absent_field_appends")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2)}]
    c.diff(k(1), {"u": {"a": I(10), "n": "new"}})
    c.after = [{"_id": I(1), "a": I(10), "b": I(2), "n": "new"}]
    c.notes = "u replaces an existing field in place (a keeps its position) and appends an absent one (applyDiffToObject: fieldsToInsert)."
    return c


@case
def _():
    c = Case(22, "v2_update_appends_before_inserts")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2), "c": I(3)}]
    c.diff(k(1), {"u": {"x": I(1)}, "i": {"a": I(9), "y": I(2)}})
    c.after = [{"_id": I(1), "b": I(2), "c": I(3), "x": I(1), "a": I(9), "y": I(2)}]
    c.notes = "Appended fields go in diff order with u-appended ones first, then i; an i field that exists moves to the end."
    return c


@case
def _():
    c = Case(23, "v2_insert_moves_existing_toplevel")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2), "c": I(3)}]
    c.diff(k(1), {"i": {"a": I(1)}})
    c.after = [{"_id": I(1), "b": I(2), "c": I(3), "a": I(1)}]
    c.notes = "i removes then appends, even at the top level and even with an unchanged value (field reordering, 16a/16b)."
    return c


@case
def _():
    c = Case(24, "v2_subdiff_object_d_u_i")
    c.before = [{"_id": I(1), "o": {"p": I(1), "q": I(2), "r": I(3)}, "z": I(0)}]
    c.diff(k(1), {"so": {"d": {"p": False}, "u": {"q": I(20)}, "i": {"s": I(4)}}})
    c.after = [{"_id": I(1), "o": {"q": I(20), "r": I(3), "s": I(4)}, "z": I(0)}]
    c.notes = "s<field> recurses with the full document-diff rules; the sub-document keeps its place."
    return c


@case
def _():
    c = Case(25, "v2_subdiff_missing_field_nothing")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.diff(k(1), {"u": {"a": I(2)}, "sgone": {"u": {"x": I(1)}}})
    c.after = [{"_id": I(1), "a": I(2)}]
    c.notes = ("A sub-diff whose target field is missing leaves it missing: in document_diff_applier.cpp a SubDiff is only "
               "applied while walking the pre-image's fields and is never in fieldsToInsert. This only happens when an "
               "entry is applied again. (OPLOG-FORMAT.md section 4 says 'missing -> null'; the server code does not do that "
               "for document fields, only for missing array elements, case p035.)")
    return c


@case
def _():
    c = Case(26, "v2_subdiff_type_mismatch_null")
    c.before = [{"_id": I(1), "o": "now a string", "arr": {"x": I(1)}, "k": I(1)}]
    c.diff(k(1), {"so": {"u": {"x": I(1)}}, "sarr": {"a": True, "u0": I(1)}})
    c.after = [{"_id": I(1), "o": None, "arr": None, "k": I(1)}]
    c.notes = ("An object diff on a non-object, or an array diff on a non-array, sets the field to null: a later entry "
               "will overwrite it (re-application; document_diff_applier.cpp 'type mismatch').")
    return c


@case
def _():
    c = Case(27, "v2_array_update_in_place")
    c.before = [{"_id": I(1), "arr": ["a", "b", "c"]}]
    c.diff(k(1), {"sarr": {"a": True, "u1": "B"}})
    c.after = [{"_id": I(1), "arr": ["a", "B", "c"]}]
    c.notes = "u<i> replaces element i."
    return c


@case
def _():
    c = Case(28, "v2_array_update_past_end_pads_null")
    c.before = [{"_id": I(1), "arr": [I(1)]}]
    c.diff(k(1), {"sarr": {"a": True, "u3": I(4)}})
    c.after = [{"_id": I(1), "arr": [I(1), None, None, I(4)]}]
    c.notes = "u<i> past the end pads the gap with null ($set 'arr.3' on a one-element array)."
    return c


@case
def _():
    c = Case(29, "v2_array_truncate")
    c.before = [{"_id": I(1), "arr": [I(1), I(2), I(3), I(4)]}]
    c.diff(k(1), {"sarr": {"a": True, "l": I(2)}})
    c.after = [{"_id": I(1), "arr": [I(1), I(2)]}]
    c.notes = "l is the new length ($pop / $slice / pipeline shrink): copy elements with index < l."
    return c


@case
def _():
    c = Case(30, "v2_array_modify_and_truncate")
    c.before = [{"_id": I(1), "arr": ["a", "b", "c", "d"]}]
    c.diff(k(1), {"sarr": {"a": True, "l": I(2), "u0": "X"}})
    c.after = [{"_id": I(1), "arr": ["X", "b"]}]
    c.notes = "Modify and truncate together, as measured on 7.0.37 ({sarr:{a:true,l:100,u0:'X'}} shape)."
    return c


@case
def _():
    c = Case(31, "v2_array_resize_larger_pads_null")
    c.before = [{"_id": I(1), "arr": [I(1), I(2)]}]
    c.diff(k(1), {"sarr": {"a": True, "l": I(5)}})
    c.after = [{"_id": I(1), "arr": [I(1), I(2), None, None, None]}]
    c.notes = "An l larger than the array pads with null (applyDiffToArray's second loop). The calculator emits l only when shrinking; the applier handles both."
    return c


@case
def _():
    c = Case(32, "v2_array_numeric_index_order")
    c.before = [{"_id": I(1), "arr": [I(0), I(1), I(2)]}]
    c.diff(k(1), {"sarr": {"a": True, "u2": "two", "u10": "ten"}})
    c.after = [{"_id": I(1), "arr": [I(0), I(1), "two", None, None, None, None, None, None, None, "ten"]}]
    c.notes = "Indices are numbers, applied in numeric order (u2 before u10), not in lexicographic order."
    return c


@case
def _():
    c = Case(33, "v2_array_element_object_subdiff")
    c.before = [{"_id": I(1), "items": [{"sku": "a", "qty": I(1)}, {"sku": "b", "qty": I(2)}]}]
    c.diff(k(1), {"sitems": {"a": True, "s1": {"u": {"qty": I(3)}, "i": {"note": "x"}}}})
    c.after = [{"_id": I(1), "items": [{"sku": "a", "qty": I(1)}, {"sku": "b", "qty": I(3), "note": "x"}]}]
    c.notes = "s<i> applies a document diff to element i ($set 'items.1.qty', $inc on an array element)."
    return c


@case
def _():
    c = Case(34, "v2_array_of_arrays_subdiff")
    c.before = [{"_id": I(1), "m": [[I(1), I(2)], [I(3), I(4)]]}]
    c.diff(k(1), {"sm": {"a": True, "s0": {"a": True, "l": I(1)}, "s1": {"a": True, "u2": I(5)}}})
    c.after = [{"_id": I(1), "m": [[I(1)], [I(3), I(4), I(5)]]}]
    c.notes = "s<i> with an array diff on a nested array."
    return c


@case
def _():
    c = Case(35, "v2_array_subdiff_missing_or_mistyped_element_null")
    c.before = [{"_id": I(1), "arr": [I(7), {"x": I(1)}]}]
    c.diff(k(1), {"sarr": {"a": True, "s0": {"u": {"y": I(1)}}, "s3": {"u": {"y": I(1)}}}})
    c.after = [{"_id": I(1), "arr": [None, {"x": I(1)}, None, None]}]
    c.notes = "s<i> on a scalar element gives null; s<i> past the end appends null (with null padding) - applyDiffToArray on re-application."
    return c


@case
def _():
    c = Case(36, "v2_array_delete_from_middle")
    c.before = [{"_id": I(1), "arr": ["a", "b", "c", "d"]}]
    c.diff(k(1), {"sarr": {"a": True, "l": I(3), "u1": "c", "u2": "d"}})
    c.after = [{"_id": I(1), "arr": ["a", "c", "d"]}]
    c.notes = "Deleting from the middle ($pull of one element via pipeline) is l plus a rewrite of the tail."
    return c


@case
def _():
    c = Case(37, "v2_unset_array_element_and_push_forms")
    c.before = [{"_id": I(1), "arr": [I(1), I(2), I(3)], "empty": []}]
    c.diff(k(1), {"sarr": {"a": True, "u1": None}})
    c.diff(k(1), {"u": {"empty": ["first"]}})
    c.diff(k(1), {"i": {"fresh": [I(1)]}})
    c.diff(k(1), {"u": {"arr": [I(2), I(3)]}})
    c.after = [{"_id": I(1), "arr": [I(2), I(3)], "empty": ["first"], "fresh": [I(1)]}]
    c.notes = "$unset 'arr.1' -> u1:null; $push onto [] -> u; $push onto a missing field -> i; $push with $slice -> u of the whole array."
    return c


@case
def _():
    c = Case(38, "v2_undefined_and_type_changes")
    c.before = [{"_id": I(1), "a": I(1), "b": D("1.5"), "c": I(3)}]
    c.diff(k(1), {"u": {"a": {"$undefined": True}, "b": L(2), "c": D("3.0")}})
    c.after = [{"_id": I(1), "a": {"$undefined": True}, "b": L(2), "c": D("3.0")}]
    c.notes = ("Type-only changes are logged (20a) and so is undefined (20b). undefined maps to JSON null; Int32/Int64 are "
               "JSON integers, Double 3.0 stays a JSON double.")
    return c


@case
def _():
    c = Case(39, "v2_deep_nesting_object_array_object")
    c.before = [{"_id": I(1), "a": {"b": [{"c": {"d": I(1)}}, {"c": {"d": I(2)}}]}}]
    c.diff(k(1), {"sa": {"sb": {"a": True, "s1": {"sc": {"u": {"d": I(20)}, "i": {"e": True}}}}}})
    c.after = [{"_id": I(1), "a": {"b": [{"c": {"d": I(1)}}, {"c": {"d": I(20), "e": True}}]}}]
    c.notes = "Sub-diffs nest through objects and arrays ($set 'a.b.1.c.d' and 'a.b.1.c.e')."
    return c


@case
def _():
    c = Case(40, "v2_rename_d_plus_i")
    c.before = [{"_id": I(1), "old": "v", "z": I(1)}]
    c.diff(k(1), {"d": {"old": False}, "i": {"new": "v"}})
    c.after = [{"_id": I(1), "z": I(1), "new": "v"}]
    c.notes = "$rename is d + i: the renamed field is appended at the end."
    return c


@case
def _():
    c = Case(41, "v2_binary_column_patch_fatal")
    c.before = [{"_id": I(1), "control": {"version": I(2)}, "data": {"t": BIN("AQ==", "07")}}]
    c.diff(k(1), {"sdata": {"b": {"t": {"o": I(0), "d": BIN("AA==", "00")}}}})
    c.expect = "fatal"
    c.notes = ("b:{f:{o:offset, d:BinData}} patches the bytes of a compressed BSONColumn; only written for 8.0 time-series "
               "buckets (makeBSONColumnDocDiff). The follower does not decompress columns: it stops with an explanation "
               "rather than diverge.")
    return c


@case
def _():
    c = Case(42, "update_unknown_version_fatal")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.u({"$v": I(3), "diff": {"u": {"a": I(2)}}}, k(1))
    c.expect = "fatal"
    c.notes = "An update format the follower does not know ($v:3) stops the follow with an explanation."
    return c


@case
def _():
    c = Case(43, "v2_dotted_and_dollar_field_names_in_values")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.diff(k(1), {"i": {"meta": {"x.y": I(1), "$price": I(2)}}})
    c.after = [{"_id": I(1), "a": I(1), "meta": {"x.y": I(1), "$price": I(2)}}]
    c.notes = ("5.0+ allows '.' and '$' in field names ($setField); they only appear inside values in the diff. Elasticsearch "
               "reads an inner name 'x.y' as a path; _source keeps it as given.")
    return c


@case
def _():
    c = Case(44, "v2_check_existence_for_diff_insert")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2)}]
    c.diff(k(1), {"i": {"a": I(5)}}, extra={"checkExistenceForDiffInsert": True})
    c.diff(k(1), {"i": {"c": I(3)}})
    c.after = [{"_id": I(1), "b": I(2), "a": I(5), "c": I(3)}]
    c.notes = ("Newer servers skip the existence check for insert-only diffs unless checkExistenceForDiffInsert:true. "
               "'Remove then append' is correct either way.")
    return c


@case
def _():
    c = Case(45, "v2_operators_on_nested_paths")
    c.before = [{"_id": I(1), "stats": {"views": I(10), "likes": I(1)}, "tags": ["a", "b"]}]
    c.diff(k(1), {"sstats": {"u": {"views": I(11)}}})
    c.diff(k(1), {"stags": {"a": True, "u2": "c"}})
    c.diff(k(1), {"sstats": {"d": {"likes": False}}})
    c.after = [{"_id": I(1), "stats": {"views": I(11)}, "tags": ["a", "b", "c"]}]
    c.notes = "$inc 'stats.views' -> s; $push tags -> s<arr> u<len>; $unset 'stats.likes' -> s + d."
    return c


# ---------------------------------------------------------------- $v:1

@case
def _():
    c = Case(60, "v1_unset_before_set_4.2_envelope")
    c.before = [{"_id": I(1), "a": I(1), "gone": I(2)}]
    c.u({"$v": I(1), "$unset": {"gone": True}, "$set": {"a": I(2), "b": "x"}}, k(1), v=I(2), h=L(0))
    c.after = [{"_id": I(1), "a": I(2), "b": "x"}]
    c.notes = "The real 4.2 capture has $unset before $set, h: NumberLong(0) and an Int32 v. Sections are applied as listed."
    return c


@case
def _():
    c = Case(61, "v1_set_array_index")
    c.before = [{"_id": I(1), "arr": [I(1), I(2), I(3)]}]
    c.v1(k(1), {"$set": {"arr.1": I(20)}})
    c.after = [{"_id": I(1), "arr": [I(1), I(20), I(3)]}]
    c.notes = "A numeric path part indexes into an array."
    return c


@case
def _():
    c = Case(62, "v1_set_past_end_pads_null")
    c.before = [{"_id": I(1), "arr": [I(1)]}]
    c.v1(k(1), {"$set": {"arr.3": I(4)}})
    c.after = [{"_id": I(1), "arr": [I(1), None, None, I(4)]}]
    c.notes = "Writing past the end of an array pads with null ($push on 4.4 logs $set 'arr.<n>')."
    return c


@case
def _():
    c = Case(63, "v1_unset_array_element_keeps_length")
    c.before = [{"_id": I(1), "arr": [I(1), I(2), I(3)]}]
    c.v1(k(1), {"$unset": {"arr.1": True}})
    c.after = [{"_id": I(1), "arr": [I(1), None, I(3)]}]
    c.notes = "$unset of an array element sets it to null and does not shorten the array."
    return c


@case
def _():
    c = Case(64, "v1_set_creates_missing_parents")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.v1(k(1), {"$set": {"x.y.z": True, "a": I(2)}})
    c.after = [{"_id": I(1), "a": I(2), "x": {"y": {"z": True}}}]
    c.notes = "Missing parents are created as objects and appended; an existing field is replaced in place."
    return c


@case
def _():
    c = Case(65, "v1_set_inside_array_element")
    c.before = [{"_id": I(1), "items": [{"q": I(1)}, {"q": I(2)}]}]
    c.v1(k(1), {"$set": {"items.1.q": I(5), "items.0.new": "n"}})
    c.after = [{"_id": I(1), "items": [{"q": I(1), "new": "n"}, {"q": I(5)}]}]
    c.notes = "Dotted paths through array elements."
    return c


@case
def _():
    c = Case(66, "v1_set_whole_array_from_pull")
    c.before = [{"_id": I(1), "arr": [I(1), I(2), I(1)]}]
    c.v1(k(1), {"$set": {"arr": [I(2)]}})
    c.after = [{"_id": I(1), "arr": [I(2)]}]
    c.notes = "$pull, $addToSet, $pop and $slice are logged on 4.4 as $set of the whole array (pull_node_test.cpp)."
    return c


@case
def _():
    c = Case(67, "v1_without_version_field")
    c.before = [{"_id": I(1), "a": I(1), "b": I(2)}]
    c.u({"$set": {"a": I(5)}, "$unset": {"b": True}}, k(1))
    c.after = [{"_id": I(1), "a": I(5)}]
    c.notes = "$v:1 updates may omit $v (update_oplog_entry_serialization.cpp); without _id and without $v it is a $v:1 update."
    return c


@case
def _():
    c = Case(68, "v1_numeric_part_on_object_is_field_name")
    c.before = [{"_id": I(1), "o": {"x": I(1)}}]
    c.v1(k(1), {"$set": {"o.0": "zero"}})
    c.after = [{"_id": I(1), "o": {"x": I(1), "0": "zero"}}]
    c.notes = "A numeric path part on an object is a field name."
    return c


@case
def _():
    c = Case(69, "v1_path_through_scalar_ignored")
    c.before = [{"_id": I(1), "a": "scalar now", "b": I(1)}]
    c.v1(k(1), {"$set": {"a.x": I(1), "b": I(2)}})
    c.after = [{"_id": I(1), "a": "scalar now", "b": I(2)}]
    c.notes = ("A path that cannot be followed (through a scalar) only happens when an entry is applied again to a newer "
               "document; oplog application ignores that path and applies the others (apply_ops_missing_field.js).")
    return c


@case
def _():
    c = Case(70, "v1_unset_missing_path_noop")
    c.before = [{"_id": I(1), "a": {"b": I(1)}}]
    c.v1(k(1), {"$unset": {"a.zz": True, "q.r": True, "a.b.c": True}})
    c.after = [{"_id": I(1), "a": {"b": I(1)}}]
    c.notes = "$unset of a missing path is a no-op."
    return c


@case
def _():
    c = Case(71, "v1_set_deep_past_end_of_array")
    c.before = [{"_id": I(1), "arr": []}]
    c.v1(k(1), {"$set": {"arr.2.b": I(1)}})
    c.after = [{"_id": I(1), "arr": [None, None, {"b": I(1)}]}]
    c.notes = "A path past the end of an array pads with null and creates the element as an object."
    return c


@case
def _():
    c = Case(72, "v1_rename_and_inc")
    c.before = [{"_id": I(1), "n": I(1), "old": "x"}]
    c.v1(k(1), {"$set": {"n": I(2)}})
    c.v1(k(1), {"$set": {"new": "x"}, "$unset": {"old": True}})
    c.after = [{"_id": I(1), "n": I(2), "new": "x"}]
    c.notes = "$inc becomes $set of the result; $rename becomes $set + $unset."
    return c


@case
def _():
    c = Case(73, "v1_unknown_operator_fatal")
    c.before = [{"_id": I(1), "n": I(1)}]
    c.v1(k(1), {"$inc": {"n": I(1)}})
    c.expect = "fatal"
    c.notes = "MongoDB logs only $set and $unset in $v:1 entries; anything else cannot be applied faithfully."
    return c


# ---------------------------------------------------------------- transactions and batches

def ins(c, doc, ns=None): return c.inner("i", doc, ns=ns)
def upd2(c, key, diff): return c.inner("u", {"$v": I(2), "diff": diff}, o2=key)
def dele(c, key): return c.inner("d", key)


@case
def _():
    c = Case(80, "txn_partial_chain_committed")
    c.before = [{"_id": I(9), "a": I(1)}]
    e1 = c.txn([ins(c, {"_id": I(1), "x": I(1)})], (LSID_A, 3), o_extra={"partialTxn": True})
    c.i({"_id": I(50), "plain": True})
    e2 = c.txn([ins(c, {"_id": I(2), "x": I(2)})], (LSID_A, 3), prev=c.optime(e1["ts"]), o_extra={"partialTxn": True})
    c.txn([upd2(c, k(1), {"u": {"x": I(10)}}), dele(c, k(9))], (LSID_A, 3), prev=c.optime(e2["ts"]), o_extra={"count": L(4)})
    c.after = [{"_id": I(1), "x": I(10)}, {"_id": I(2), "x": I(2)}, {"_id": I(50), "plain": True}]
    c.notes = ("A large unprepared transaction: partialTxn:true entries are buffered; the final entry (with count, prevOpTime "
               "chaining the entries) commits them all at its position. The interleaved plain insert is inferred "
               "(chain entries are normally adjacent).")
    return c


@case
def _():
    c = Case(81, "txn_prepared_committed")
    c.before = [{"_id": I(1), "a": I(1)}]
    p = c.txn([upd2(c, k(1), {"u": {"a": I(2)}}), ins(c, {"_id": I(2), "b": I(1)})], (LSID_A, 5), o_extra={"prepare": True})
    c.i({"_id": I(3), "c": I(1)})
    c.cmd({"commitTransaction": I(1), "commitTimestamp": TS(c.seconds, c.inc)}, db="admin", ui=None,
          session=(LSID_A, 5), extra={"prevOpTime": c.optime(p["ts"])})
    c.after = [{"_id": I(1), "a": I(2)}, {"_id": I(2), "b": I(1)}, {"_id": I(3), "c": I(1)}]
    c.notes = "prepare:true ends a prepared transaction; its operations are applied only at {commitTransaction:1, commitTimestamp}."
    return c


@case
def _():
    c = Case(82, "txn_prepared_aborted")
    c.before = [{"_id": I(1), "a": I(1)}]
    p = c.txn([upd2(c, k(1), {"u": {"a": I(2)}}), dele(c, k(1))], (LSID_A, 6), o_extra={"prepare": True})
    c.cmd({"abortTransaction": I(1)}, db="admin", ui=None, session=(LSID_A, 6), extra={"prevOpTime": c.optime(p["ts"])})
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "{abortTransaction:1} discards the prepared operations."
    return c


@case
def _():
    c = Case(83, "txn_prepared_multi_entry_committed")
    e1 = c.txn([ins(c, {"_id": I(1)})], (LSID_A, 7), o_extra={"partialTxn": True})
    p = c.txn([ins(c, {"_id": I(2)})], (LSID_A, 7), prev=c.optime(e1["ts"]), o_extra={"prepare": True, "count": L(2)})
    c.cmd({"commitTransaction": I(1), "commitTimestamp": TS(c.seconds, c.inc)}, db="admin", ui=None,
          session=(LSID_A, 7), extra={"prevOpTime": c.optime(p["ts"])})
    c.after = [{"_id": I(1)}, {"_id": I(2)}]
    c.notes = "A large prepared transaction: partialTxn entries then the prepare entry; all applied at commitTransaction. Placement of count is inferred."
    return c


@case
def _():
    c = Case(84, "txn_mixed_namespaces_and_create")
    c.txn([c.inner("c", {"create": "coll2", "idIndex": {"v": I(2), "key": {"_id": I(1)}, "name": "_id_"}}, ns="test.$cmd"),
           ins(c, {"_id": I(1), "o": "other"}, ns="test.coll2"),
           ins(c, {"_id": I(1), "o": "mine"}),
           ins(c, {"_id": I(2), "o": "other db"}, ns="other.coll")], (LSID_A, 8))
    c.after = [{"_id": I(1), "o": "mine"}]
    c.notes = "Only the followed namespace's operations are unpacked; a create inside a transaction (4.4+) changes nothing."
    return c


@case
def _():
    c = Case(85, "apply_ops_nested")
    c.txn([c.inner("c", {"applyOps": [ins(c, {"_id": I(1)}), ins(c, {"_id": I(2)})]}, ns="admin.$cmd"),
           dele(c, k(1))], None)
    c.after = [{"_id": I(2)}]
    c.notes = "applyOps may nest applyOps; the inner operations are flattened in order."
    return c


@case
def _():
    c = Case(86, "apply_ops_without_session")
    c.before = [{"_id": I(1), "a": I(1)}]
    e = c.entry("c", ns="admin.$cmd", o={"applyOps": [upd2(c, k(1), {"u": {"a": I(2)}}), ins(c, {"_id": I(2)})]}, ui=None)
    c.after = [{"_id": I(1), "a": I(2)}, {"_id": I(2)}]
    c.notes = "A plain applyOps command (no lsid, mongo-tools 'applyops not transaction') is applied at once."
    return c


@case
def _():
    c = Case(87, "vectored_insert_multiOpType")
    c.txn([ins(c, {"_id": I(1), "v": I(1)}), ins(c, {"_id": I(2), "v": I(2)}), ins(c, {"_id": I(3), "v": I(3)})],
          (LSID_B, 2), extra={"multiOpType": I(1), "stmtId": [I(0), I(1), I(2)]})
    c.after = [{"_id": I(1), "v": I(1)}, {"_id": I(2), "v": I(2)}, {"_id": I(3), "v": I(3)}]
    c.notes = "8.0 batched inserts are an applyOps with multiOpType:1: not a transaction, applied at once even with lsid (mongo-tools meta.go). stmtId placement inferred."
    return c


@case
def _():
    c = Case(88, "txn_same_document_many_times")
    c.txn([ins(c, {"_id": I(1), "n": I(1)}),
           upd2(c, k(1), {"u": {"n": I(2)}}),
           c.inner("u", {"$v": I(2), "diff": {"i": {"m": True}}}, o2=k(1)),
           dele(c, k(1)),
           ins(c, {"_id": I(1), "n": I(5)}),
           upd2(c, k(1), {"i": {"z": I(1)}})], (LSID_A, 9))
    c.after = [{"_id": I(1), "n": I(5), "z": I(1)}]
    c.notes = "Operations sharing one position keep their order inside the entry; the net effect is exactly once."
    return c


@case
def _():
    c = Case(89, "txn_two_sessions_interleaved")
    c.before = [{"_id": I(1), "a": I(1)}]
    pa = c.txn([upd2(c, k(1), {"u": {"a": I(100)}})], (LSID_A, 10), o_extra={"prepare": True})
    pb = c.txn([ins(c, {"_id": I(2), "b": I(1)})], (LSID_B, 10), o_extra={"prepare": True})
    c.cmd({"abortTransaction": I(1)}, db="admin", ui=None, session=(LSID_A, 10), extra={"prevOpTime": c.optime(pa["ts"])})
    c.cmd({"commitTransaction": I(1), "commitTimestamp": TS(c.seconds, c.inc)}, db="admin", ui=None,
          session=(LSID_B, 10), extra={"prevOpTime": c.optime(pb["ts"])})
    c.after = [{"_id": I(1), "a": I(1)}, {"_id": I(2), "b": I(1)}]
    c.notes = "Open transactions are keyed by lsid + txnNumber: two prepared transactions, one aborted, one committed."
    return c


@case
def _():
    c = Case(90, "retryable_findAndModify_needsRetryImage")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.diff(k(1), {"u": {"a": I(2)}}, session=(LSID_A, 20),
           extra={"stmtId": I(0), "prevOpTime": NULL_OPTIME, "needsRetryImage": "postImage"})
    c.d(k(1), session=(LSID_A, 21), extra={"stmtId": I(0), "prevOpTime": NULL_OPTIME, "needsRetryImage": "preImage"})
    c.after = []
    c.notes = "5.1+ retryable findAndModify sets needsRetryImage instead of writing image no-ops; the entries are applied as usual."
    return c


@case
def _():
    c = Case(91, "txn_commit_without_prepare_fatal")
    c.cmd({"commitTransaction": I(1), "commitTimestamp": TS(c.seconds, 1)}, db="admin", ui=None,
          session=(LSID_A, 30), extra={"prevOpTime": {"ts": TS(c.seconds - 1, 1), "t": L(1)}})
    c.expect = "fatal"
    c.notes = ("A commitTransaction whose prepare entry was not read: its operations are unknown, so the follow must stop "
               "(a follower's checkpoint never passes the start of an open transaction, so this means it started too late).")
    return c


@case
def _():
    c = Case(92, "txn_final_entry_without_chain_fatal")
    c.txn([ins(c, {"_id": I(1)})], (LSID_A, 31), prev={"ts": TS(c.seconds - 1, 7), "t": L(1)}, o_extra={"count": L(3)})
    c.expect = "fatal"
    c.notes = "The last entry of a multi-entry transaction whose earlier partialTxn entries were not read: the transaction is incomplete."
    return c


@case
def _():
    c = Case(93, "internal_txn_for_retryable_write")
    lsid = dict(LSID_A)
    lsid["txnNumber"] = L(40)
    lsid["txnUUID"] = BIN("CiM7F8mXTk2tqv0JX1eD2w==", "04")
    c.txn([ins(c, {"_id": I(1), "r": True})], (lsid, 0))
    c.after = [{"_id": I(1), "r": True}]
    c.notes = "6.0+ internal transactions (retryable writes run as transactions on sharded clusters) have an lsid with txnNumber and txnUUID. Shape inferred."
    return c


@case
def _():
    c = Case(94, "retryable_writes_4.4_v1")
    c.i({"_id": I(1), "a": I(1)}, session=(LSID_A, 50), extra={"stmtId": I(0), "prevOpTime": NULL_OPTIME})
    c.v1(k(1), {"$set": {"a": I(2)}}, session=(LSID_A, 51), extra={"stmtId": I(0), "prevOpTime": NULL_OPTIME})
    c.after = [{"_id": I(1), "a": I(2)}]
    c.notes = "Retryable writes are plain entries with session fields; apply them immediately."
    return c


# ---------------------------------------------------------------- commands

@case
def _():
    c = Case(100, "cmd_drop_other_collection_skipped")
    c.before = [{"_id": I(1)}]
    c.cmd({"drop": "coll2"}, o2={"numRecords": I(3)}, ui=UI_OTHER)
    c.cmd({"drop": "coll"}, db="other", o2={"numRecords": I(3)}, ui=UI_OTHER)
    c.after = [{"_id": I(1)}]
    c.notes = "A drop of another collection, or of a same-named collection in another database, changes nothing."
    return c


@case
def _():
    c = Case(101, "cmd_drop_then_recreate")
    c.before = [{"_id": I(1), "old": True}, {"_id": I(2), "old": True}]
    c.cmd({"drop": "coll"}, o2={"numRecords": I(2)})
    c.cmd({"create": "coll", "idIndex": {"v": I(2), "key": {"_id": I(1)}, "name": "_id_"}}, ui=UI_OTHER)
    c.i({"_id": I(3), "new": True}, ui=UI_OTHER)
    c.after = [{"_id": I(3), "new": True}]
    c.notes = "Drop empties the follower; the follow goes on and picks up the re-created collection (new ui)."
    return c


@case
def _():
    c = Case(102, "cmd_drop_database_other_db_skipped")
    c.before = [{"_id": I(1)}]
    c.cmd({"dropDatabase": I(1)}, db="other", ui=None)
    c.after = [{"_id": I(1)}]
    c.notes = "dropDatabase of another database changes nothing."
    return c


@case
def _():
    c = Case(103, "cmd_rename_onto_followed_fatal")
    c.before = [{"_id": I(1)}]
    c.cmd({"renameCollection": "test.staging", "to": "test.coll", "stayTemp": False, "dropTarget": UI},
          o2={"numRecords": I(1)}, ui=UI_OTHER)
    c.expect = "fatal"
    c.notes = ("renameCollection onto the followed namespace (dropTarget: the followed collection is replaced): the new "
               "content is not in the oplog, so the follow stops with an explanation (resync).")
    return c


@case
def _():
    c = Case(104, "cmd_rename_unrelated_skipped")
    c.before = [{"_id": I(1)}]
    c.cmd({"renameCollection": "test.a", "to": "test.b", "stayTemp": False}, ui=UI_OTHER)
    c.i({"_id": I(2)})
    c.after = [{"_id": I(1)}, {"_id": I(2)}]
    c.notes = "Renames between other collections change nothing."
    return c


@case
def _():
    c = Case(105, "cmd_index_and_collmod_commands_skipped")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.cmd({"createIndexes": "coll", "v": I(2), "key": {"a": I(1)}, "name": "a_1"})
    c.cmd({"startIndexBuild": "coll", "indexBuildUUID": BIN("T4u0a1zXQ3Sx8kHc6a1Bvw==", "04"),
           "indexes": [{"v": I(2), "key": {"b": I(1)}, "name": "b_1"}]})
    c.cmd({"commitIndexBuild": "coll", "indexBuildUUID": BIN("T4u0a1zXQ3Sx8kHc6a1Bvw==", "04"),
           "indexes": [{"v": I(2), "key": {"b": I(1)}, "name": "b_1"}]})
    c.cmd({"dropIndexes": "coll", "index": "a_1"}, o2={"v": I(2), "key": {"a": I(1)}, "name": "a_1"})
    c.cmd({"collMod": "coll", "validationLevel": "moderate"},
          o2={"collectionOptions_old": {"uuid": UI}})
    c.u({"$v": I(2), "diff": {"u": {"a": I(2)}}}, k(1))
    c.after = [{"_id": I(1), "a": I(2)}]
    c.notes = "createIndexes, startIndexBuild/commitIndexBuild, dropIndexes and collMod change no document."
    return c


@case
def _():
    c = Case(106, "cmd_unknown_on_followed_collection_fatal")
    c.before = [{"_id": I(1)}]
    c.cmd({"importCollection": "coll", "collectionProperties": {}})
    c.expect = "fatal"
    c.notes = "A command the follower does not know that names the followed collection stops the follow with an explanation (never diverge). The command shape is illustrative."
    return c


@case
def _():
    c = Case(107, "cmd_cross_db_rename_away_is_drop")
    c.before = [{"_id": I(1)}, {"_id": I(2)}]
    c.cmd({"create": "tmpAb12.renameCollection", "temp": True, "idIndex": {"v": I(2), "key": {"_id": I(1)}, "name": "_id_"}},
          db="archive", ui=UI_OTHER)
    c.entry("i", ns="archive.tmpAb12.renameCollection", o={"_id": I(1)}, ui=UI_OTHER)
    c.entry("i", ns="archive.tmpAb12.renameCollection", o={"_id": I(2)}, ui=UI_OTHER)
    c.cmd({"renameCollection": "archive.tmpAb12.renameCollection", "to": "archive.coll", "stayTemp": False},
          db="archive", ui=UI_OTHER)
    c.cmd({"drop": "coll"}, o2={"numRecords": I(2)})
    c.after = []
    c.notes = ("A cross-database rename away from the followed collection appears as copy into a temporary collection of "
               "the target database, a same-db rename there, and a drop of the source: the follower sees a drop (inferred sequence).")
    return c


@case
def _():
    c = Case(108, "cmd_convert_to_capped_fatal")
    c.before = [{"_id": I(1)}]
    c.cmd({"create": "tmpXy9.convertToCapped.coll", "temp": True, "capped": True, "size": L(4096),
           "idIndex": {"v": I(2), "key": {"_id": I(1)}, "name": "_id_"}}, ui=UI_OTHER)
    c.entry("i", ns="test.tmpXy9.convertToCapped.coll", o={"_id": I(1)}, ui=UI_OTHER)
    c.cmd({"renameCollection": "test.tmpXy9.convertToCapped.coll", "to": "test.coll", "stayTemp": False, "dropTarget": UI},
          o2={"numRecords": I(1)}, ui=UI_OTHER)
    c.expect = "fatal"
    c.notes = "convertToCapped copies into a temporary collection and renames it onto the original with dropTarget: a rename onto the followed namespace (inferred sequence)."
    return c


@case
def _():
    c = Case(109, "cmd_drop_database_mid_stream")
    c.before = [{"_id": I(1)}]
    c.i({"_id": I(2)})
    c.cmd({"dropDatabase": I(1)}, ui=None)
    c.i({"_id": I(3)})
    c.after = [{"_id": I(3)}]
    c.notes = "dropDatabase of the followed database empties the follower (even without a preceding per-collection drop), and the follow goes on."
    return c


@case
def _():
    c = Case(110, "cmd_followed_name_becomes_timeseries_fatal")
    c.before = [{"_id": I(1)}]
    c.cmd({"drop": "coll"}, o2={"numRecords": I(1)})
    c.cmd({"create": "system.buckets.coll", "validator": {}, "clusteredIndex": True,
           "timeseries": {"timeField": "t", "granularity": "seconds", "bucketMaxSpanSeconds": I(3600)}}, ui=UI_OTHER)
    c.cmd({"create": "coll", "viewOn": "system.buckets.coll", "pipeline": []}, ui=None)
    c.expect = "fatal"
    c.notes = ("A time-series collection is a view over system.buckets.<name>: its documents never appear under the followed "
               "namespace, so the follow stops with an explanation instead of silently following nothing. Create options are illustrative.")
    return c


# ---------------------------------------------------------------- skips

@case
def _():
    c = Case(120, "skip_other_namespaces")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.entry("i", ns="test.coll2", o={"_id": I(2)}, ui=UI_OTHER)
    c.entry("u", ns="other.coll", o={"$v": I(2), "diff": {"u": {"a": I(9)}}}, o2=k(1), ui=UI_OTHER)
    c.entry("d", ns="test.collection", o=k(1), ui=UI_OTHER)
    c.entry("i", ns="test.system.buckets.coll", o={"_id": OID("6632a1f0c2b5a4e1d0f3a0aa"), "control": {"version": I(1)}}, ui=UI_OTHER)
    c.entry("u", ns="config.transactions", o={"_id": {"id": LSID_A["id"], "uid": LSID_A["uid"]}, "txnNum": L(1)}, o2={"_id": {"id": LSID_A["id"], "uid": LSID_A["uid"]}}, ui=UI_OTHER)
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "Entries of other namespaces (including a same-named collection of another db, a prefix match, time-series buckets and config.transactions) are skipped."
    return c


@case
def _():
    c = Case(121, "skip_from_migrate_on_followed")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.d(k(1), extra={"fromMigrate": True})
    c.i({"_id": I(1), "a": I(1)}, extra={"fromMigrate": True})
    c.entry("c", ns="admin.$cmd", ui=None, o={"applyOps": [dict(ins(c, {"_id": I(7)}), fromMigrate=True)]})
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "fromMigrate:true entries (chunk migration, range deletion) are not user changes: skipped, also inside applyOps."
    return c


@case
def _():
    c = Case(122, "skip_noops_with_user_namespace")
    c.before = [{"_id": I(1), "a": I(1)}]
    c.entry("n", ns="test.coll", o={"_id": I(1), "a": I(999)})
    c.entry("n", ns="", o={"msg": "periodic noop"}, ui=None)
    c.entry("n", ns="test.coll", o={"msg": {"createDatabase": "test"}}, ui=None)
    c.after = [{"_id": I(1), "a": I(1)}]
    c.notes = "Every 'n' entry is skipped, even when o looks like a document of the followed collection."
    return c


@case
def _():
    c = Case(123, "envelope_4.2_int32_v_and_h")
    c.i({"_id": I(1), "a": I(1)}, v=I(2), h=L(0))
    c.d(k(1), v=I(2), h=L(0))
    c.i({"_id": I(2)}, v=I(2), h=L(0))
    c.after = [{"_id": I(2)}]
    c.notes = "4.2 captures add h: NumberLong(0) and an Int32 v; later servers an Int64 v. Both are accepted."
    return c


# ---------------------------------------------------------------- BSON types

@case
def _():
    c = Case(140, "bson_all_types")
    doc = {"_id": I(1),
           "oid": OID("6632a1f0c2b5a4e1d0f3a001"),
           "date": DATE(1714564800123),
           "date_before_1970": DATE(-86400000 * 365 - 1),
           "date_year_1": DATE(-62135596800000),
           "date_after_9999": DATE(253402300800000),
           "ts": TS(1714564800, 7),
           "i32": I(-2147483648),
           "i64_big": L(9007199254740993),
           "i64_max": L(9223372036854775807),
           "dbl": D("1.5"),
           "dbl_int": D("3.0"),
           "neg_zero": D("-0.0"),
           "dec": DEC("1.10"),
           "dec_nan": DEC("NaN"),
           "dec_big": DEC("1.000000000000000000000000000000001E+6144"),
           "bin0": BIN("AAECAw==", "00"),
           "bin1": BIN("AAE=", "01"),
           "bin2": BIN("AAE=", "02"),
           "uuid_legacy": BIN("sqHD1A5fSmuMfZ4PGis8TQ==", "03"),
           "uuid": BIN("sqHD1A5fSmuMfZ4PGis8TQ==", "04"),
           "md5": BIN("1B2M2Y8AsgTpgAmY7PhCfg==", "05"),
           "enc": BIN("AQI=", "06"),
           "column": BIN("AQI=", "07"),
           "sensitive": BIN("AQI=", "08"),
           "vector": BIN("JwAAAIA/AAAAQA==", "09"),
           "user": BIN("AQI=", "80"),
           "regex": {"$regularExpression": {"pattern": "^a.*z$", "options": "im"}},
           "min": {"$minKey": 1},
           "max": {"$maxKey": 1},
           "undef": {"$undefined": True},
           "nul": None,
           "ptr": {"$dbPointer": {"$ref": "test.other", "$id": OID("6632a1f0c2b5a4e1d0f3a002")}},
           "code": {"$code": "function() { return 1; }"},
           "code_scope": {"$code": "function() { return x; }", "$scope": {"x": I(1)}},
           "sym": {"$symbol": "sym"},
           "nested": [[I(1), [I(2), {"deep": [True, False]}]], {"k": []}, {}]}
    c.i(doc)
    c.after = [doc]
    c.notes = ("Every BSON type in one document; the JSON each maps to is the table in docs/bson-mapping.md. Some types "
               "(undefined, DBPointer, Symbol, Code with scope) are deprecated; the embedded server must store them raw. "
               "Binary subtype 2 is stored with its inner length prefix by drivers that write it.")
    return c


@case
def _():
    c = Case(141, "bson_non_finite_double_rejected")
    c.before = [{"_id": I(1), "x": D("1.0")}]
    c.i({"_id": I(2), "x": D("NaN")})
    c.i({"_id": I(3), "x": D("Infinity")})
    c.i({"_id": I(4), "x": D("-Infinity")})
    c.diff(k(1), {"u": {"x": D("NaN")}})
    c.i({"_id": I(5), "x": D("2.0")})
    c.after = [{"_id": I(1), "x": D("NaN")}, {"_id": I(2), "x": D("NaN")}, {"_id": I(3), "x": D("Infinity")},
               {"_id": I(4), "x": D("-Infinity")}, {"_id": I(5), "x": D("2.0")}]
    c.notes = ("JSON cannot hold NaN or +-Infinity and Elasticsearch numbers refuse them: such a document goes to the "
               "dead-letter index and is not (or no longer) in the follower index. Documents of 'after' whose mapping "
               "is rejected are expected to be absent from the index. The follow goes on (document 5).")
    return c


@case
def _():
    c = Case(142, "bson_field_names")
    c.i({"_id": I(1), "a.b": I(1), "$dollar": I(2), "sub": {"_id": I(3), "x.y": I(4)}})
    c.i({"_id": I(2), "": I(1)})
    c.i({"_id": I(3), "_source": I(1)})
    c.i({"_id": I(4), "sub": {".lead": I(1)}})
    c.i({"_id": I(5), "sub": {"trail.": I(1)}})
    c.i({"_id": I(6), "a..b": I(1)})
    c.i({"_id": I(7), "   ": I(1)})
    c.after = [{"_id": I(1), "a.b": I(1), "$dollar": I(2), "sub": {"_id": I(3), "x.y": I(4)}},
               {"_id": I(2), "": I(1)}, {"_id": I(3), "_source": I(1)}, {"_id": I(4), "sub": {".lead": I(1)}},
               {"_id": I(5), "sub": {"trail.": I(1)}}, {"_id": I(6), "a..b": I(1)}, {"_id": I(7), "   ": I(1)}]
    c.notes = ("Field-name rule (docs/bson-mapping.md): dotted names, $-names and _id inside sub-documents are kept; a "
               "document with an empty or whitespace-only name, a name starting or ending with '.', an empty path segment, "
               "or a top-level Elasticsearch metadata name (_source, _routing, ...) is rejected to the dead-letter index "
               "(expected absent from the index).")
    return c


@case
def _():
    c = Case(143, "bson_update_to_rejected_value_removes_document")
    c.before = [{"_id": I(1), "a": I(1)}, {"_id": I(2), "a": I(2)}]
    c.diff(k(1), {"i": {"": I(1)}})
    c.v1(k(2), {"$set": {"b": D("-Infinity")}})
    c.after = [{"_id": I(1), "a": I(1), "": I(1)}, {"_id": I(2), "a": I(2), "b": D("-Infinity")}]
    c.notes = "An update that makes a document unacceptable removes it from the follower (dead-letter index), never keeps a stale version."
    return c


@case
def _():
    c = Case(144, "bson_numbers_edge")
    doc = {"_id": I(1), "i64_min": L(-9223372036854775808), "big_dbl": D("1.0E308"), "tiny": D("5.0E-324"),
           "dec_neg_zero": DEC("-0"), "dec_inf": DEC("-Infinity"), "dec_exp": DEC("1.23E-20")}
    c.i(doc)
    c.after = [doc]
    c.notes = "Int64 extremes are exact JSON integers; Decimal128 (including -0, NaN, Infinity, exponents) is a string."
    return c


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.startswith("p") and name.endswith(".json"):
            os.remove(os.path.join(OUT, name))
    names = set()
    for fn in CASES:
        c = fn()
        assert c.name not in names, c.name
        names.add(c.name)
        c.write()
    print(f"{len(CASES)} cases written to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

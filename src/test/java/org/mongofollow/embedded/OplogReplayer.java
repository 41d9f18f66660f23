package org.mongofollow.embedded;

import java.util.ArrayList;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonNull;
import org.bson.BsonValue;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * An independent oplog replayer for tests, written from OPLOG-FORMAT.md and sharing no code with the
 * server: applies MongoDB 5.0+ entries (i, u as replacement or $v:2 diff, d, c: create/drop/dropDatabase/
 * renameCollection/createIndexes/applyOps, n) to an in-memory state of namespaces, keeping field order.
 */
final class OplogReplayer {

    static final JsonWriterSettings EXACT = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

    /** namespace -> (_id as extended JSON -> document), both in insertion order. */
    final Map<String, LinkedHashMap<String, BsonDocument>> collections = new LinkedHashMap<>();

    void apply(BsonDocument entry) {
        String op = entry.getString("op").getValue();
        String ns = entry.getString("ns").getValue();
        switch (op) {
            case "n" -> {
            }
            case "i" -> {
                BsonDocument doc = entry.getDocument("o").clone();
                collection(ns).put(key(doc.get("_id")), doc);
            }
            case "d" -> {
                LinkedHashMap<String, BsonDocument> c = collections.get(ns);
                if (c != null) {
                    c.remove(key(entry.getDocument("o").get("_id")));
                }
            }
            case "u" -> update(ns, entry);
            case "c" -> command(ns, entry.getDocument("o"));
            default -> throw new AssertionError("unknown op " + op + " in " + entry.toJson());
        }
    }

    private LinkedHashMap<String, BsonDocument> collection(String ns) {
        return collections.computeIfAbsent(ns, k -> new LinkedHashMap<>());
    }

    static String key(BsonValue id) {
        return new BsonDocument("k", id).toJson(EXACT);
    }

    private void update(String ns, BsonDocument entry) {
        LinkedHashMap<String, BsonDocument> c = collections.get(ns);
        String id = key(entry.getDocument("o2").get("_id"));
        if (c == null || !c.containsKey(id)) {
            return; // updating a missing document is a no-op
        }
        BsonDocument o = entry.getDocument("o");
        if (o.containsKey("_id")) {
            c.put(id, o.clone());
        } else if (o.containsKey("$v") && o.get("$v").asNumber().intValue() == 2) {
            applyDiff(c.get(id), o.getDocument("diff"));
        } else {
            throw new AssertionError("not a 5.0+ update: " + entry.toJson());
        }
    }

    /** applyDiffToObject: d, then u (in place or appended), then i (removed and appended), then s<field>. */
    static void applyDiff(BsonDocument doc, BsonDocument diff) {
        if (diff.containsKey("d")) {
            for (String f : diff.getDocument("d").keySet()) {
                doc.remove(f);
            }
        }
        if (diff.containsKey("u")) {
            for (Map.Entry<String, BsonValue> e : diff.getDocument("u").entrySet()) {
                doc.put(e.getKey(), copy(e.getValue())); // LinkedHashMap.put keeps an existing key's position
            }
        }
        if (diff.containsKey("i")) {
            for (Map.Entry<String, BsonValue> e : diff.getDocument("i").entrySet()) {
                doc.remove(e.getKey());
                doc.put(e.getKey(), copy(e.getValue()));
            }
        }
        for (Map.Entry<String, BsonValue> e : diff.entrySet()) {
            String k = e.getKey();
            if (k.length() > 1 && k.charAt(0) == 's') {
                String field = k.substring(1);
                BsonDocument sub = e.getValue().asDocument();
                BsonValue target = doc.get(field);
                if (sub.containsKey("a")) {
                    if (target == null || !target.isArray()) {
                        doc.put(field, BsonNull.VALUE);
                    } else {
                        applyArrayDiff(target.asArray(), sub);
                    }
                } else if (target == null || !target.isDocument()) {
                    doc.put(field, BsonNull.VALUE);
                } else {
                    applyDiff(target.asDocument(), sub);
                }
            } else if (!k.equals("d") && !k.equals("u") && !k.equals("i")) {
                throw new AssertionError("unknown diff section " + k + " in " + diff.toJson());
            }
        }
    }

    private static BsonValue copy(BsonValue v) {
        if (v.isDocument()) {
            return v.asDocument().clone();
        }
        if (v.isArray()) {
            return v.asArray().clone();
        }
        return v;
    }

    static void applyArrayDiff(BsonArray array, BsonDocument diff) {
        if (diff.containsKey("l")) {
            int l = diff.get("l").asNumber().intValue();
            while (array.size() > l) {
                array.remove(array.size() - 1);
            }
            while (array.size() < l) {
                array.add(BsonNull.VALUE);
            }
        }
        for (Map.Entry<String, BsonValue> e : diff.entrySet()) {
            String k = e.getKey();
            if (k.equals("a") || k.equals("l")) {
                continue;
            }
            int index = Integer.parseInt(k.substring(1));
            while (array.size() <= index) {
                array.add(BsonNull.VALUE);
            }
            if (k.charAt(0) == 'u') {
                array.set(index, copy(e.getValue()));
            } else if (k.charAt(0) == 's') {
                BsonValue element = array.get(index);
                BsonDocument sub = e.getValue().asDocument();
                if (sub.containsKey("a")) {
                    if (element.isArray()) {
                        applyArrayDiff(element.asArray(), sub);
                    } else {
                        array.set(index, BsonNull.VALUE);
                    }
                } else if (element.isDocument()) {
                    applyDiff(element.asDocument(), sub);
                } else {
                    array.set(index, BsonNull.VALUE);
                }
            } else {
                throw new AssertionError("unknown array diff field " + k + " in " + diff.toJson());
            }
        }
    }

    private void command(String ns, BsonDocument o) {
        String db = ns.substring(0, ns.indexOf('.'));
        String name = o.getFirstKey();
        switch (name) {
            case "create" -> collection(db + "." + o.getString("create").getValue());
            case "drop" -> collections.remove(db + "." + o.getString("drop").getValue());
            case "dropDatabase" -> collections.keySet().removeIf(k -> k.startsWith(db + "."));
            case "renameCollection" -> {
                String from = o.getString("renameCollection").getValue();
                String to = o.getString("to").getValue();
                LinkedHashMap<String, BsonDocument> c = collections.remove(from);
                collections.put(to, c == null ? new LinkedHashMap<>() : c);
            }
            case "createIndexes", "dropIndexes", "collMod" -> {
            }
            case "applyOps" -> {
                for (BsonValue inner : o.getArray("applyOps")) {
                    apply(inner.asDocument());
                }
            }
            default -> throw new AssertionError("unknown command entry " + o.toJson());
        }
    }

    /** The replayed state of one database: namespace -> documents sorted by _id key. */
    Map<String, List<String>> snapshot(String db) {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        for (Map.Entry<String, LinkedHashMap<String, BsonDocument>> e : collections.entrySet()) {
            if (e.getKey().startsWith(db + ".")) {
                List<String> docs = new ArrayList<>();
                for (BsonDocument d : e.getValue().values()) {
                    docs.add(d.toJson(EXACT));
                }
                docs.sort(null);
                out.put(e.getKey(), docs);
            }
        }
        return out;
    }

}

package org.mongofollow.apply;

import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDbPointer;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonJavaScriptWithScope;
import org.bson.BsonMaxKey;
import org.bson.BsonMinKey;
import org.bson.BsonNull;
import org.bson.BsonRegularExpression;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.types.ObjectId;
import org.elasticsearch.common.bytes.BytesArray;
import org.junit.Test;
import org.mongofollow.embedded.DiffCalculator;
import org.mongofollow.embedded.LibraryDocuments;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.Assert.assertTrue;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/**
 * Randomized properties of field selection: for any document D, update U and selection S, when the update narrowed
 * to S applies to the selected copy (not null), {@code select(apply(U, D)) == select(apply(narrow(U), select(D)))},
 * field order and array positions included; and the BSON and JSON selections agree.
 *
 * <p>The copy is always made as the follower makes it (the BSON selection of the document, then the mapping); the
 * expected document is the selection of the updated document: of the BSON post-image for $v:2 diffs, of the
 * reference applier's JSON result for $v:1 updates.
 */
public class SelectionPropertyTests {

    private static final ShardOperation.Kind DIFF = ShardOperation.Kind.UPDATE_DIFF;
    private static final ShardOperation.Kind V1 = ShardOperation.Kind.UPDATE_V1;

    /** Field names: plain, numeric-looking (an index on an array, a field name on an object), a nested _id. */
    private static final String[] NAMES = { "a", "b", "c", "0", "1", "_id" };
    /** The names of the objects BsonToJson maps some scalars to. */
    private static final String[] SPECIAL_NAMES = { "t", "i", "pattern", "options", "$ref", "$id", "code", "scope", "$minKey" };

    // ---------------------------------------------------------------------------------------------------------------
    // $v:1

    @Test
    public void randomV1UpdatesOfRandomSelectionsMatchTheSelectedUpdatedDocument() {
        int applied = 0;
        int lookedUp = 0;
        for (int seed = 0; seed < 40; seed++) {
            Random random = new Random(7_000_000L + seed);
            for (int round = 0; round < 2500; round++) {
                Gen gen = new Gen(random, random.nextInt(4) == 0);
                BsonDocument before = gen.document(0);
                BsonDocument update = gen.v1Update(before);
                FieldSelection selection = gen.selection();
                Map<String, Object> full = BsonToJson.toSource(before);
                Map<String, Object> copy = BsonToJson.toSource(selection.select(before));
                Map<String, Object> expected = selection.select(V1UpdateApplier.apply(full, update));
                Map<String, Object> result = DocumentUpdates.apply(operation(V1, update), copy, selection);
                if (result == null) {
                    lookedUp++;
                } else {
                    applied++;
                    assertStrictEquals("seed " + seed + " round " + round + ": " + selection + " " + before.toJson() + " " + update.toJson()
                        + " narrowed " + SelectedUpdates.narrow(selection, V1, update, copy), expected, result);
                }
            }
        }
        assertTrue("most $v:1 updates apply to the copy: " + applied + " applied, " + lookedUp + " looked up", applied > lookedUp * 3);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // $v:2

    @Test
    public void randomDiffsOfRandomSelectionsMatchTheSelectedUpdatedDocument() {
        int applied = 0;
        int lookedUp = 0;
        for (int seed = 0; seed < 40; seed++) {
            Random random = new Random(9_000_000L + seed);
            for (int round = 0; round < 1500; round++) {
                Gen gen = new Gen(random, false);
                BsonDocument before = gen.document(0);
                BsonDocument after = gen.mutate(before, 0, true);
                FieldSelection selection = gen.selection();
                de.bwaldvogel.mongo.bson.Document pre = LibraryDocuments.of(before);
                de.bwaldvogel.mongo.bson.Document post = LibraryDocuments.of(after);
                de.bwaldvogel.mongo.bson.Document diff = random.nextBoolean()
                    ? DiffCalculator.calculatorDiff(pre, post)
                    : DiffCalculator.operatorDiff(pre, post, Set.of());
                BsonDocument update = LibraryDocuments.toBson(diff);
                Map<String, Object> full = BsonToJson.toSource(before);
                assertStrictEquals("the calculators' diff reproduces the change", BsonToJson.toSource(after), DiffApplier.apply(full, update));
                Map<String, Object> copy = BsonToJson.toSource(selection.select(before));
                Map<String, Object> expected = BsonToJson.toSource(selection.select(after));
                Map<String, Object> result = DocumentUpdates.apply(operation(DIFF, update), copy, selection);
                if (result == null) {
                    lookedUp++;
                } else {
                    applied++;
                    assertStrictEquals("seed " + seed + " round " + round + ": " + selection + " " + before.toJson() + " " + update.toJson()
                        + " narrowed " + SelectedUpdates.narrow(selection, DIFF, update, copy), expected, result);
                }
            }
        }
        assertTrue("most diffs apply to the copy: " + applied + " applied, " + lookedUp + " looked up", applied > lookedUp * 3);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // BSON and JSON selections

    @Test
    public void theBsonAndJsonSelectionsAgree() {
        for (int seed = 0; seed < 20; seed++) {
            Random random = new Random(11_000_000L + seed);
            for (int round = 0; round < 3000; round++) {
                Gen gen = new Gen(random, true);
                BsonDocument document = gen.document(0);
                FieldSelection selection = gen.selection();
                assertStrictEquals("seed " + seed + " round " + round + ": " + selection + " " + document.toJson(),
                    BsonToJson.toSource(selection.select(document)), selection.select(BsonToJson.toSource(document)));
            }
        }
    }

    @Test
    public void selectingASelectedDocumentChangesNothing() {
        for (int seed = 0; seed < 10; seed++) {
            Random random = new Random(13_000_000L + seed);
            for (int round = 0; round < 3000; round++) {
                Gen gen = new Gen(random, true);
                BsonDocument document = gen.document(0);
                FieldSelection selection = gen.selection();
                BsonDocument once = selection.select(document);
                assertStrictEquals(selection + " " + document.toJson(), BsonToJson.toSource(once), BsonToJson.toSource(selection.select(once)));
                Map<String, Object> json = selection.select(BsonToJson.toSource(document));
                assertStrictEquals(selection + " " + document.toJson(), json, selection.select(json));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // generators

    /** Random documents, selections and updates over a small set of names, so that paths meet often. */
    private static final class Gen {
        private final Random random;
        /** Whether values of the BSON types mapped to JSON objects (timestamps, regular expressions, ...) occur. */
        private final boolean specials;
        private final String[] names;

        Gen(Random random, boolean specials) {
            this.random = random;
            this.specials = specials;
            if (specials) {
                List<String> all = new ArrayList<>(List.of(NAMES));
                all.addAll(List.of(SPECIAL_NAMES));
                this.names = all.toArray(String[]::new);
            } else {
                this.names = NAMES;
            }
        }

        String name(boolean topLevel) {
            while (true) {
                String name = names[random.nextInt(specials && random.nextBoolean() ? names.length : NAMES.length)];
                if (topLevel == false || name.equals("_id") == false) {
                    return name;
                }
            }
        }

        BsonDocument document(int depth) {
            BsonDocument document = new BsonDocument();
            if (depth == 0 && random.nextInt(3) == 0) {
                document.put("_id", new BsonInt32(random.nextInt(100)));
            }
            int fields = random.nextInt(depth == 0 ? 5 : 4);
            for (int i = 0; i < fields; i++) {
                document.put(name(depth == 0), value(depth + 1));
            }
            return document;
        }

        BsonValue value(int depth) {
            int kind = random.nextInt(depth >= 4 ? 3 : 9);
            return switch (kind) {
                case 0 -> new BsonInt32(random.nextInt(5));
                case 1 -> random.nextInt(4) == 0 ? BsonNull.VALUE : new BsonString("s" + random.nextInt(3));
                case 2 -> specials && random.nextBoolean() ? special() : random.nextBoolean() ? new BsonDocument() : new BsonArray();
                case 3, 4, 5 -> document(depth);
                default -> {
                    List<BsonValue> values = new ArrayList<>();
                    int n = random.nextInt(5);
                    for (int i = 0; i < n; i++) {
                        values.add(value(depth + 1));
                    }
                    yield new BsonArray(values);
                }
            };
        }

        BsonValue special() {
            return switch (random.nextInt(6)) {
                case 0 -> new BsonTimestamp(random.nextInt(3), random.nextInt(3));
                case 1 -> new BsonRegularExpression("^x", "i");
                case 2 -> new BsonDbPointer("db.c", new ObjectId("5f0000000000000000000001"));
                case 3 -> new BsonMinKey();
                case 4 -> new BsonMaxKey();
                default -> new BsonJavaScriptWithScope("f()", new BsonDocument("t", new BsonInt32(1)));
            };
        }

        String path() {
            StringBuilder path = new StringBuilder(name(false));
            int depth = random.nextInt(3);
            for (int i = 0; i < depth; i++) {
                path.append('.').append(name(false));
            }
            return path.toString();
        }

        FieldSelection selection() {
            List<String> includes = new ArrayList<>();
            List<String> excludes = new ArrayList<>();
            int n = random.nextInt(3) == 0 ? 0 : random.nextInt(4);
            for (int i = 0; i < n; i++) {
                includes.add(path());
            }
            int m = random.nextInt(3) == 0 ? 0 : random.nextInt(4);
            for (int i = 0; i < m; i++) {
                String path = includes.isEmpty() == false && random.nextInt(4) == 0
                    ? includes.get(random.nextInt(includes.size())) + (random.nextBoolean() ? "" : "." + name(false))
                    : path();
                if (path.equals("_id") == false && path.startsWith("_id.") == false) {
                    excludes.add(path);
                }
            }
            return new FieldSelection(includes, excludes);
        }

        /** A $v:1 update: $set / $unset of paths into, beside and past the document's values, none a prefix of another. */
        BsonDocument v1Update(BsonDocument document) {
            List<String> paths = new ArrayList<>();
            int n = 1 + random.nextInt(4);
            for (int attempt = 0; attempt < 12 && paths.size() < n; attempt++) {
                String path = updatePath(document);
                if (paths.stream().noneMatch(p -> conflict(p, path))) {
                    paths.add(path);
                }
            }
            BsonDocument sets = new BsonDocument();
            BsonDocument unsets = new BsonDocument();
            for (String path : paths) {
                if (random.nextInt(3) == 0) {
                    unsets.put(path, BsonBoolean.TRUE);
                } else {
                    sets.put(path, value(1 + path.split("\\.").length));
                }
            }
            BsonDocument update = new BsonDocument();
            if (random.nextBoolean()) {
                update.put("$v", new BsonInt32(1));
            }
            boolean setFirst = random.nextBoolean();
            if (setFirst && sets.isEmpty() == false) {
                update.put("$set", sets);
            }
            if (unsets.isEmpty() == false) {
                update.put("$unset", unsets);
            }
            if (setFirst == false && sets.isEmpty() == false) {
                update.put("$set", sets);
            }
            return update;
        }

        private static boolean conflict(String a, String b) {
            return a.equals(b) || a.startsWith(b + ".") || b.startsWith(a + ".");
        }

        /** A dotted path that mostly follows the document: existing fields, array indices (some past the end), new names. */
        String updatePath(BsonDocument document) {
            BsonValue current = document;
            List<String> parts = new ArrayList<>();
            int length = 1 + random.nextInt(4);
            for (int i = 0; i < length; i++) {
                String part;
                if (current != null && current.isDocument() && current.asDocument().isEmpty() == false && random.nextInt(4) != 0) {
                    List<String> keys = new ArrayList<>(current.asDocument().keySet());
                    part = keys.get(random.nextInt(keys.size()));
                    if (i == 0 && part.equals("_id")) {
                        part = name(true);
                    }
                } else if (current != null && current.isArray() && random.nextInt(6) != 0) {
                    part = Integer.toString(random.nextInt(current.asArray().size() + 3));
                } else {
                    part = random.nextInt(3) == 0 ? Integer.toString(random.nextInt(4)) : name(i == 0);
                }
                parts.add(part);
                BsonValue next = null;
                if (current != null && current.isDocument()) {
                    next = current.asDocument().get(part);
                } else if (current != null && current.isArray()) {
                    int index = DiffApplier.parseIndex(part);
                    next = index >= 0 && index < current.asArray().size() ? current.asArray().get(index) : null;
                }
                current = next;
            }
            return String.join(".", parts);
        }

        /** A changed copy: values replaced (types changing), removed, moved to the end, emptied, reordered, changed below. */
        BsonDocument mutate(BsonDocument document, int depth, boolean topLevel) {
            BsonDocument out = document.clone();
            int changes = 1 + random.nextInt(3);
            for (int c = 0; c < changes; c++) {
                List<String> keys = new ArrayList<>(out.keySet());
                keys.remove(topLevel ? "_id" : "");
                String name = keys.isEmpty() == false && random.nextInt(3) != 0 ? keys.get(random.nextInt(keys.size())) : name(topLevel);
                BsonValue current = out.get(name);
                switch (random.nextInt(8)) {
                    case 0 -> out.put(name, value(depth + 1));
                    case 1 -> out.remove(name);
                    case 2 -> {
                        if (current != null) {
                            out.remove(name);
                            out.put(name, current);
                        }
                    }
                    case 3 -> out.put(name, switch (random.nextInt(3)) {
                        case 0 -> new BsonDocument();
                        case 1 -> new BsonArray();
                        default -> BsonNull.VALUE;
                    });
                    case 4 -> {
                        if (current != null && current.isDocument()) {
                            out.put(name, shuffled(current.asDocument()));
                        }
                    }
                    default -> {
                        if (current != null && current.isDocument()) {
                            out.put(name, mutate(current.asDocument(), depth + 1, false));
                        } else if (current != null && current.isArray()) {
                            out.put(name, mutateArray(current.asArray(), depth + 1));
                        } else {
                            out.put(name, value(depth + 1));
                        }
                    }
                }
            }
            return out;
        }

        private BsonDocument shuffled(BsonDocument document) {
            List<String> keys = new ArrayList<>(document.keySet());
            Collections.shuffle(keys, random);
            BsonDocument out = new BsonDocument();
            for (String key : keys) {
                out.put(key, document.get(key));
            }
            return out;
        }

        BsonArray mutateArray(BsonArray array, int depth) {
            BsonArray out = array.clone();
            switch (random.nextInt(6)) {
                case 0 -> out.add(value(depth + 1));
                case 1 -> {
                    int keep = out.isEmpty() ? 0 : random.nextInt(out.size());
                    while (out.size() > keep) {
                        out.remove(out.size() - 1);
                    }
                }
                case 2 -> out.add(0, value(depth + 1));
                case 3 -> {
                    if (out.isEmpty() == false) {
                        out.set(random.nextInt(out.size()), value(depth + 1));
                    }
                }
                default -> {
                    if (out.isEmpty() == false) {
                        int i = random.nextInt(out.size());
                        BsonValue element = out.get(i);
                        if (element.isDocument()) {
                            out.set(i, mutate(element.asDocument(), depth + 1, false));
                        } else if (element.isArray()) {
                            out.set(i, mutateArray(element.asArray(), depth + 1));
                        } else {
                            out.set(i, value(depth + 1));
                        }
                    }
                }
            }
            return out;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // plumbing

    private static ShardOperation operation(ShardOperation.Kind kind, BsonDocument update) {
        java.nio.ByteBuffer buffer = new org.bson.RawBsonDocument(update, new org.bson.codecs.BsonDocumentCodec()).getByteBuffer().asNIO();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new ShardOperation(kind, "1", 1, new BytesArray(bytes));
    }
}

package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.apply.DocumentGroups;
import org.mongofollow.apply.DocumentKeys;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.apply.FieldSelection;
import org.mongofollow.apply.RejectedDocumentException;
import org.mongofollow.apply.ShardOperation;
import org.mongofollow.apply.UnapplicableUpdateException;
import org.mongofollow.apply.UpdateRun;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/**
 * Replays every conformance case under {@code src/test/resources/conformance/} (recursively) through the
 * production path without a node: the entries, as the raw BSON a read from MongoDB gives, decoded as the node's feed decodes them
 * ({@link TransactionChains#decode}: a transaction at its commit entry, with its chain looked up by position),
 * each entry's operations grouped by document into writes ({@link ShardOperation#of}) as the shard task sends them, and the
 * writes applied as the follower shard's primary applies them ({@link UpdateRun} on the stored JSON {@code _source}), into
 * an in-memory "index" of {@code _source}s keyed by Elasticsearch id. The result is compared with the case's {@code after}
 * written the same way (field order and JSON number types included). Versions are not compared: every entry is applied.
 * Updates of a document the index lacks are skipped here; the shard task looks them up in MongoDB, which the end-to-end
 * harness ({@code scripts/conformance}) covers.
 *
 * <p>Rules of the replay (the end-to-end harness follows the same ones): {@code before} and
 * {@code after} documents whose mapping is rejected ({@link RejectedDocumentException}) are expected
 * to be absent from the index (they go to the dead-letter index); an operation whose result is
 * rejected removes the document; {@code expect: "fatal"} passes when the decoder returns a fatal
 * decision or an update is unapplicable, with an explanation.
 *
 * <p>For {@code documents} cases it also checks convergence: a state taken after any prefix of the
 * oplog, with the whole oplog applied again over it, ends equal to {@code after} (what an initial copy
 * read while the collection is written relies on, DESIGN.md section 3).
 */
@RunWith(Parameterized.class)
public class ConformanceReplayTests {

    /** As a follow created now versions documents (the cases are MongoDB 4.4 to 8.0 oplogs, after 2004). */
    private static final DocumentVersions VERSIONS = new DocumentVersions(DocumentVersions.DEFAULT_BASE);

    private static final Set<String> FORMAT_FIELDS = Set.of("name", "namespace", "before", "oplog", "shards", "shard_key", "events", "after", "expect", "notes", "modes");

    private final Path file;

    public ConformanceReplayTests(String name, Path file) {
        this.file = file;
    }

    @Parameterized.Parameters(name = "{0}")
    public static Collection<Object[]> cases() throws IOException, URISyntaxException {
        Path root = Paths.get(ConformanceReplayTests.class.getResource("/conformance").toURI());
        List<Object[]> cases = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(p -> p.toString().endsWith(".json")).sorted()
                .forEach(p -> cases.add(new Object[] { root.relativize(p).toString(), p }));
        }
        return cases;
    }

    @Test
    public void replay() throws IOException {
        BsonDocument testCase = BsonDocument.parse(Files.readString(file, StandardCharsets.UTF_8));
        checkFormat(testCase);

        Map<String, BytesReference> index = documentsOf(testCase, "before");
        String fatal = replay(testCase, index);

        String expect = testCase.getString("expect").getValue();
        if (expect.equals("fatal")) {
            assertNotNull("expected a fatal decision", fatal);
            assertFalse("a fatal decision needs an explanation", fatal.isBlank());
            return;
        }
        if (fatal != null) {
            fail("unexpected fatal decision: " + fatal);
        }
        Map<String, BytesReference> expected = documentsOf(testCase, "after");
        assertSameDocuments("", expected, index);

        // Applying the whole oplog again over a state taken after any prefix of it (the state an initial
        // copy may read while the collection is written, DESIGN.md section 3) converges to the same result.
        boolean events = testCase.containsKey("events");
        int size = events ? testCase.getArray("events").size() : history(testCase).size();
        for (int k = 0; k <= size; k++) {
            Map<String, BytesReference> copy = documentsOf(testCase, "before");
            if (events) {
                BsonDocument prefix = testCase.clone();
                prefix.put("events", new BsonArray(testCase.getArray("events").subList(0, k)));
                assertNull(replay(prefix, copy));
            } else {
                assertNull(replay(testCase, copy, k));
            }
            String again = replay(testCase, copy);
            assertNull("replay: " + again, again);
            assertSameDocuments(", copy after " + k + " entries", expected, copy);
        }
    }

    /** The case's documents of {@code field} ("before" or "after") as the follower holds them, by {@code _id}. */
    private static Map<String, BytesReference> documentsOf(BsonDocument testCase, String field) {
        Map<String, BytesReference> index = new LinkedHashMap<>();
        for (BsonValue doc : testCase.getArray(field)) {
            String id = DocumentIds.toElasticsearchId(doc.asDocument().get("_id"));
            try {
                index.put(id, ShardOperation.index(id, 0, raw(doc.asDocument()), FieldSelection.ALL).payload());
            } catch (RejectedDocumentException e) {
                // to the dead-letter index
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        return index;
    }

    /** The document as a read from MongoDB gives it. */
    private static RawBsonDocument raw(BsonDocument document) {
        return new RawBsonDocument(document, new BsonDocumentCodec());
    }

    private static Map<String, Object> parse(BytesReference source) {
        return XContentHelper.convertToMap(source, true, XContentType.JSON).v2();
    }

    private static void assertSameDocuments(String when, Map<String, BytesReference> expected, Map<String, BytesReference> actual) {
        assertEquals("document ids" + when, new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()));
        for (Map.Entry<String, BytesReference> e : expected.entrySet()) {
            assertStrictEquals("document [" + e.getKey() + "]" + when, parse(e.getValue()), parse(actual.get(e.getKey())));
        }
    }

    /**
     * Applies every entry of the case to {@code index}, in oplog order, each decoded as the node's feed decodes it (a
     * transaction at its commit, with its chain looked up by position); returns the fatal explanation, or null.
     */
    private static String replay(BsonDocument testCase, Map<String, BytesReference> index) {
        if (testCase.containsKey("events")) {
            return replayEvents(testCase, index);
        }
        return replay(testCase, index, Integer.MAX_VALUE);
    }

    /** The first {@code limit} entries of the case's oplog history ({@link #history}), as {@link #replay(BsonDocument, Map)}. */
    private static String replay(BsonDocument testCase, Map<String, BytesReference> index, int limit) {
        String[] namespace = testCase.getString("namespace").getValue().split("\\.", 2);
        List<Logged> history = history(testCase);
        Map<String, Map<OplogPosition, BsonDocument>> oplogs = byPosition(history);
        for (Logged logged : history.subList(0, Math.min(limit, history.size()))) {
            BsonDocument entry = raw(logged.entry());
            DecodedEntry decoded;
            try {
                decoded = TransactionChains.decode(entry, oplogs.get(logged.oplog())::get, namespace[0], namespace[1]);
            } catch (TransactionChains.MissingEntryException e) {
                return e.getMessage();
            }
            if (decoded == null) {
                continue; // opens or continues a transaction: decoded with its commit
            }
            assertEquals(position(entry), decoded.position());
            String fatal = apply(decoded, index);
            if (fatal != null) {
                return fatal;
            }
        }
        return null;
    }

    /**
     * Applies every change event of the case to {@code index}, in order, each decoded as the node's change-stream feed
     * decodes it (numbered within its cluster time); returns the fatal explanation, or null.
     */
    private static String replayEvents(BsonDocument testCase, Map<String, BytesReference> index) {
        String namespace = testCase.getString("namespace").getValue();
        OplogPosition previous = null;
        int indexInTime = 0;
        for (BsonValue value : testCase.getArray("events")) {
            BsonDocument event = raw(value.asDocument());
            OplogPosition position = ChangeStreamReader.clusterTime(event);
            indexInTime = position.equals(previous) ? indexInTime + 1 : 0;
            previous = position;
            String fatal = apply(ChangeEventDecoder.decode(event, position, indexInTime, namespace), index, indexInTime);
            if (fatal != null) {
                return fatal;
            }
        }
        return null;
    }

    /** Applies one decoded entry to {@code index}; returns the fatal explanation, or null. */
    private static String apply(DecodedEntry decoded, Map<String, BytesReference> index) {
        return apply(decoded, index, 0);
    }

    /**
     * Applies one decoded entry to {@code index}, whose operations are numbered from {@code firstIndex} (a change event's
     * from its index within its cluster time); returns the fatal explanation, or null.
     */
    private static String apply(DecodedEntry decoded, Map<String, BytesReference> index, int firstIndex) {
        if (decoded.isFatal()) {
            return decoded.reason();
        }
        if (decoded.outcome() != DecodedEntry.Outcome.OPERATIONS) {
            assertNotNull(decoded.reason());
            return null;
        }
        int expectedIndex = firstIndex;
        for (DocumentOperation op : decoded.operations()) {
            assertEquals(decoded.position(), op.position());
            assertEquals(expectedIndex++, op.indexInEntry());
            if (op.kind() == DocumentOperation.Kind.DROP_ALL) {
                assertEquals("a drop is alone in its entry", 1, decoded.operations().size());
                index.clear();
                return null;
            }
        }
        // as the shard task sends a batch
        List<ShardOperation> writes = new ArrayList<>();
        for (DocumentOperation op : DocumentGroups.byDocument(decoded.operations(), DocumentOperation::documentId)) {
            try {
                writes.add(ShardOperation.of(op, FieldSelection.ALL, VERSIONS));
            } catch (RejectedDocumentException e) {
                // to the dead-letter index, and the document leaves the index
                writes.add(new ShardOperation(ShardOperation.Kind.DELETE, op.documentId(), VERSIONS.of(op.position()), BytesArray.EMPTY));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        // as the primary applies it
        for (int next = 0; next < writes.size();) {
            ShardOperation write = writes.get(next);
            switch (write.kind()) {
                case INDEX -> index.put(write.id(), write.payload());
                case DELETE -> {
                    BytesReference current = index.get(write.id());
                    if (current == null || DocumentKeys.contradicts(current, write.payload()) == false) {
                        index.remove(write.id()); // (as the primary does: not the document a move put under the same _id)
                    }
                }
                case UPDATE_DIFF, UPDATE_V1, UPDATE_DESCRIPTION -> {
                    BytesReference current = index.get(write.id());
                    if (current != null) {
                        try {
                            UpdateRun.Written written = UpdateRun.apply(writes, next, current, FieldSelection.ALL);
                            index.put(write.id(), written.source());
                            next += written.count();
                            continue;
                        } catch (RejectedDocumentException e) {
                            index.remove(write.id()); // to the dead-letter index
                        } catch (UnapplicableUpdateException e) {
                            return e.getMessage();
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    }
                }
            }
            next++;
        }
        return null;
    }

    /**
     * As the shard tasks decode: every entry on its own, in any order (here: backwards), a transaction's
     * entries fetched through {@link TransactionChains} at its commit; then applied in oplog order.
     */
    @Test
    public void replayDecodingEachEntryOnItsOwn() throws IOException {
        BsonDocument testCase = BsonDocument.parse(Files.readString(file, StandardCharsets.UTF_8));
        org.junit.Assume.assumeFalse("change events are decoded each on its own in replay()", testCase.containsKey("events"));
        String[] namespace = testCase.getString("namespace").getValue().split("\\.", 2);
        List<Logged> history = history(testCase);
        Map<String, Map<OplogPosition, BsonDocument>> oplogs = byPosition(history);
        // by the entry's place in the history: several shards' entries can share a position
        java.util.TreeMap<Integer, DecodedEntry> decoded = new java.util.TreeMap<>();
        String fatal = null;
        for (int i = history.size() - 1; i >= 0; i--) {
            Logged logged = history.get(i);
            DecodedEntry last;
            try {
                last = TransactionChains.decode(raw(logged.entry()), oplogs.get(logged.oplog())::get, namespace[0], namespace[1]);
            } catch (TransactionChains.MissingEntryException e) {
                fatal = e.getMessage();
                continue;
            }
            if (last != null) {
                decoded.put(i, last);
            }
        }
        Map<String, BytesReference> index = documentsOf(testCase, "before");
        for (DecodedEntry entry : decoded.values()) {
            if (fatal != null) {
                break;
            }
            fatal = apply(entry, index);
        }
        if (testCase.getString("expect").getValue().equals("fatal")) {
            assertNotNull("expected a fatal decision", fatal);
            return;
        }
        assertNull("unexpected fatal decision: " + fatal, fatal);
        Map<String, BytesReference> expected = documentsOf(testCase, "after");
        assertSameDocuments("", expected, index);
    }

    /** An entry of a case's oplog history and the oplog that holds it: "" for a replica set's, else its shard's id. */
    private record Logged(String oplog, BsonDocument entry) {}

    /**
     * The case's oplog entries in the order a follow applies them: a replica set's in order; the shards' ({@code shards}:
     * each shard's oplog by its id) merged by {@code ts}, each shard's own order kept, as the node merges them.
     */
    private static List<Logged> history(BsonDocument testCase) {
        List<Logged> history = new ArrayList<>();
        if (testCase.containsKey("shards")) {
            for (Map.Entry<String, BsonValue> shard : testCase.getDocument("shards").entrySet()) {
                shard.getValue().asArray().forEach(value -> history.add(new Logged(shard.getKey(), value.asDocument())));
            }
            history.sort(java.util.Comparator.comparing(logged -> position(logged.entry()))); // stable
        } else {
            testCase.getArray("oplog").forEach(value -> history.add(new Logged("", value.asDocument())));
        }
        return history;
    }

    /** Each oplog's entries by position: a transaction's earlier entries are looked up in its own shard's oplog. */
    private static Map<String, Map<OplogPosition, BsonDocument>> byPosition(List<Logged> history) {
        Map<String, Map<OplogPosition, BsonDocument>> oplogs = new java.util.HashMap<>();
        for (Logged logged : history) {
            oplogs.computeIfAbsent(logged.oplog(), oplog -> new java.util.HashMap<>()).put(position(logged.entry()), raw(logged.entry()));
        }
        return oplogs;
    }

    private static OplogPosition position(BsonDocument entry) {
        BsonTimestamp ts = entry.getTimestamp("ts");
        return OplogPosition.of(ts.getTime(), ts.getInc());
    }

    /** The case file format of OPLOG-FORMAT.md, so the end-to-end harness can run the same files. */
    private void checkFormat(BsonDocument testCase) {
        assertTrue("unknown fields " + testCase.keySet(), FORMAT_FIELDS.containsAll(testCase.keySet()));
        String name = testCase.getString("name").getValue();
        assertEquals("name matches the file name", file.getFileName().toString(), name + ".json");
        assertTrue(testCase.getString("namespace").getValue().matches("[^.$]+\\.[^$]+"));
        String expect = testCase.getString("expect").getValue();
        assertTrue(expect, expect.equals("documents") || expect.equals("fatal"));
        if (expect.equals("documents")) {
            assertTrue(testCase.get("after").isArray());
        } else {
            assertTrue("after is null for a fatal case", testCase.get("after").isNull());
        }
        assertTrue(testCase.getString("notes").getValue().isBlank() == false);
        Set<String> ids = new TreeSet<>();
        for (BsonValue doc : testCase.getArray("before")) {
            assertTrue("before documents have an _id", doc.asDocument().containsKey("_id"));
            assertTrue("unique _id in before", ids.add(DocumentIds.toElasticsearchId(doc.asDocument().get("_id"))));
        }
        if (testCase.containsKey("events")) {
            assertFalse("oplog or events, not both", testCase.containsKey("oplog"));
            BsonArray events = testCase.getArray("events");
            assertFalse("at least one event", events.isEmpty());
            BsonTimestamp last = null;
            for (BsonValue value : events) {
                BsonDocument event = value.asDocument();
                for (String field : List.of("operationType", "clusterTime")) {
                    assertTrue("event without " + field + ": " + event.toJson(), event.containsKey(field));
                }
                BsonTimestamp time = event.getTimestamp("clusterTime");
                assertTrue("events in cluster time order", last == null || time.compareTo(last) >= 0);
                last = time;
            }
            return;
        }
        if (testCase.containsKey("shards")) {
            assertFalse("oplog or shards, not both", testCase.containsKey("oplog"));
            assertFalse("at least one shard", testCase.getDocument("shards").isEmpty());
            for (Map.Entry<String, BsonValue> shard : testCase.getDocument("shards").entrySet()) {
                assertTrue("shards are named shard0, shard1, shard2: " + shard.getKey(), shard.getKey().matches("shard[0-2]"));
                checkOplog(shard.getValue().asArray());
            }
            return;
        }
        checkOplog(testCase.getArray("oplog"));
    }

    private static void checkOplog(BsonArray oplog) {
        assertFalse("at least one entry", oplog.isEmpty());
        BsonTimestamp last = null;
        for (BsonValue value : oplog) {
            BsonDocument entry = value.asDocument();
            for (String field : List.of("op", "ns", "o", "ts")) {
                assertTrue("entry without " + field + ": " + entry.toJson(), entry.containsKey(field));
            }
            BsonTimestamp ts = entry.getTimestamp("ts");
            assertTrue("entries in increasing ts order", last == null || ts.compareTo(last) > 0);
            last = ts;
        }
    }
}

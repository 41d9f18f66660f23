package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.junit.Test;
import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentOperation.Kind;

import java.util.List;
import java.util.Optional;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

public class OplogEntryDecoderTests {

    private static final String UI = "ui: {$binary: {base64: 'sqHD1A5fSmuMfZ4PGis8TQ==', subType: '04'}}";
    private static final String LSID_A = "lsid: {id: {$binary: {base64: 'bxwuPUtaSWiHdqW0w9Lh8A==', subType: '04'}}, uid: {$binary: {base64: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', subType: '00'}}}";
    private static final String LSID_B = "lsid: {id: {$binary: {base64: 'Xq3b2m2nQ0OeX9xKx0b1cw==', subType: '04'}}, uid: {$binary: {base64: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', subType: '00'}}}";
    private static final String NULL_PREV = "prevOpTime: {ts: Timestamp(0, 0), t: NumberLong(-1)}";

    private final OplogEntryDecoder decoder = new OplogEntryDecoder("test", "coll");

    private static BsonDocument entry(int inc, String fields) {
        return BsonDocument.parse("{" + fields + ", ts: Timestamp(1000, " + inc + "), t: NumberLong(1), v: NumberLong(2), wall: new Date(1000)}");
    }

    private DecodedEntry decode(int inc, String fields) {
        return decoder.decode(entry(inc, fields));
    }

    private static DocumentOperation single(DecodedEntry decoded) {
        assertEquals(decoded.toString(), DecodedEntry.Outcome.OPERATIONS, decoded.outcome());
        assertEquals(1, decoded.operations().size());
        return decoded.operations().get(0);
    }

    private static void assertSkipped(DecodedEntry decoded, String reasonPart) {
        assertEquals(decoded.toString(), DecodedEntry.Outcome.SKIPPED, decoded.outcome());
        assertTrue(decoded.reason(), decoded.reason().contains(reasonPart));
    }

    private static void assertFatal(DecodedEntry decoded, String reasonPart) {
        assertEquals(decoded.toString(), DecodedEntry.Outcome.FATAL, decoded.outcome());
        assertTrue(decoded.reason(), decoded.reason().contains(reasonPart));
        assertTrue(decoded.isFatal());
    }

    private static OplogPosition pos(int inc) {
        return OplogPosition.of(1000, inc);
    }

    // ---- CRUD

    @Test
    public void insertIndexesTheDocumentAndIgnoresO2() {
        DocumentOperation op = single(decode(1, "op: 'i', ns: 'test.coll', " + UI + ", o: {_id: 1, a: 'x'}, o2: {sk: 1, _id: 1}"));
        assertEquals(Kind.INDEX, op.kind());
        assertEquals("1", op.documentId());
        assertEquals(new BsonInt32(1), op.mongoId());
        assertEquals(BsonDocument.parse("{_id: 1, a: 'x'}"), op.payload());
        assertEquals(pos(1), op.position());
        assertEquals(0, op.indexInEntry());
        assertTrue(op.sizeInBytes() > DocumentOperation.OVERHEAD_BYTES);
    }

    @Test
    public void insert42Envelope() {
        DocumentOperation op = single(decode(1, "h: NumberLong(0), op: 'i', ns: 'test.coll', o: {_id: ObjectId('6632a1f0c2b5a4e1d0f3a001')}"));
        assertEquals("6632a1f0c2b5a4e1d0f3a001", op.documentId());
    }

    @Test
    public void insertWithoutIdIsFatal() {
        assertFatal(decode(1, "op: 'i', ns: 'test.coll', o: {a: 1}"), "without _id");
    }

    @Test
    public void deleteMatchesOnIdOfShardedKey() {
        DocumentOperation op = single(decode(1, "op: 'd', ns: 'test.coll', o: {sk: 'eu', _id: 'k1'}"));
        assertEquals(Kind.DELETE, op.kind());
        assertEquals("k1", op.documentId());
        assertEquals(BsonDocument.parse("{sk: 'eu'}"), op.payload()); // the shard key's values, which name the document deleted
        assertNull(single(decode(2, "op: 'd', ns: 'test.coll', o: {_id: 'k1'}")).payload());
    }

    @Test
    public void replacementWhereverIdIs() {
        DocumentOperation op = single(decode(1, "op: 'u', ns: 'test.coll', o: {b: 1, _id: 5, c: 2}, o2: {sk: 1, _id: 5}"));
        assertEquals(Kind.INDEX, op.kind());
        assertEquals("5", op.documentId());
        assertEquals(BsonDocument.parse("{b: 1, _id: 5, c: 2}"), op.payload());
    }

    @Test
    public void deltaUpdate() {
        DocumentOperation op = single(decode(1, "op: 'u', ns: 'test.coll', o: {$v: 2, diff: {u: {a: 2}}}, o2: {sk: 1, _id: 5}"));
        assertEquals(Kind.UPDATE_DIFF, op.kind());
        assertEquals("5", op.documentId());
        assertEquals(BsonDocument.parse("{u: {a: 2}}"), op.payload());
    }

    @Test
    public void v1UpdateWithAndWithoutVersion() {
        DocumentOperation op = single(decode(1, "op: 'u', ns: 'test.coll', o: {$v: 1, $set: {a: 2}}, o2: {_id: 5}"));
        assertEquals(Kind.UPDATE_V1, op.kind());
        assertEquals(BsonDocument.parse("{$v: 1, $set: {a: 2}}"), op.payload());
        op = single(decode(2, "op: 'u', ns: 'test.coll', o: {$unset: {a: true}}, o2: {_id: 5}"));
        assertEquals(Kind.UPDATE_V1, op.kind());
    }

    @Test
    public void unsupportedUpdatesAreFatal() {
        assertFatal(decode(1, "op: 'u', ns: 'test.coll', o: {$v: 3, diff: {}}, o2: {_id: 5}"), "$v: 3");
        assertFatal(decode(2, "op: 'u', ns: 'test.coll', o: {$v: 2}, o2: {_id: 5}"), "without a 'diff'");
        assertFatal(decode(3, "op: 'u', ns: 'test.coll', o: {$v: 2, diff: {sdata: {b: {}}}}, o2: {_id: 5}"), "time-series");
        assertFatal(decode(4, "op: 'u', ns: 'test.coll', o: {$v: 1, $inc: {a: 1}}, o2: {_id: 5}"), "$inc");
        assertFatal(decode(5, "op: 'u', ns: 'test.coll', o: {$v: 2, diff: {u: {a: 1}}}"), "without a document key");
    }

    @Test
    public void unknownOpOnFollowedCollectionIsFatalElsewhereSkipped() {
        assertFatal(decode(1, "op: 'x', ns: 'test.coll', o: {}"), "unknown operation type [x]");
        assertSkipped(decode(2, "op: 'x', ns: 'test.other', o: {}"), "other namespace");
    }

    @Test
    public void malformedEntries() {
        assertFatal(decoder.decode(BsonDocument.parse("{op: 'i', ns: 'test.coll', o: {_id: 1}}")), "without a timestamp");
        assertFatal(decode(1, "ns: 'test.coll', o: {_id: 1}"), "without 'op'");
        assertFatal(decode(2, "op: 'i', ns: 'test.coll', o: 5"), "'o' is not a document");
    }

    // ---- skips

    @Test
    public void noopsAreSkippedEvenOnUserNamespace() {
        assertSkipped(decode(1, "op: 'n', ns: '', o: {msg: 'periodic noop'}"), "no-op");
        assertSkipped(decode(2, LSID_A + ", txnNumber: NumberLong(1), op: 'n', ns: 'test.coll', o: {_id: 1, a: 2}"), "no-op");
    }

    @Test
    public void fromMigrateIsSkipped() {
        assertSkipped(decode(1, "op: 'd', ns: 'test.coll', o: {_id: 1}, fromMigrate: true"), "fromMigrate");
        assertSkipped(decode(2, "op: 'c', ns: 'test.$cmd', o: {drop: 'coll'}, fromMigrate: true"), "fromMigrate");
    }

    @Test
    public void otherNamespacesAreSkipped() {
        for (String ns : List.of("test.coll2", "test.collx", "other.coll", "test.system.buckets.coll", "config.transactions", "tes.tcoll")) {
            assertSkipped(decode(1, "op: 'i', ns: '" + ns + "', o: {_id: 1}"), "other namespace");
        }
    }

    @Test
    public void retryableWritesApplyAtOnce() {
        DocumentOperation op = single(decode(1, LSID_A + ", txnNumber: NumberLong(3), op: 'i', ns: 'test.coll', o: {_id: 1}, stmtId: 0, " + NULL_PREV));
        assertEquals(Kind.INDEX, op.kind());
        op = single(decode(2, LSID_A + ", txnNumber: NumberLong(4), op: 'u', ns: 'test.coll', o: {$v: 2, diff: {u: {a: 1}}}, o2: {_id: 1}, stmtId: 0, needsRetryImage: 'postImage', " + NULL_PREV));
        assertEquals(Kind.UPDATE_DIFF, op.kind());
        assertEquals(0, decoder.openTransactionCount());
    }

    // ---- commands

    @Test
    public void dropOfFollowedCollectionIsDropAll() {
        DocumentOperation op = single(decode(1, "op: 'c', ns: 'test.$cmd', " + UI + ", o: {drop: 'coll'}, o2: {numRecords: 3}"));
        assertEquals(Kind.DROP_ALL, op.kind());
        assertNull(op.documentId());
        assertEquals(pos(1), op.position());
    }

    @Test
    public void dropOfOtherCollectionsIsSkipped() {
        assertSkipped(decode(1, "op: 'c', ns: 'test.$cmd', o: {drop: 'coll2'}"), "another collection");
        assertSkipped(decode(2, "op: 'c', ns: 'other.$cmd', o: {drop: 'coll'}"), "another database");
    }

    @Test
    public void dropDatabase() {
        assertEquals(Kind.DROP_ALL, single(decode(1, "op: 'c', ns: 'test.$cmd', o: {dropDatabase: 1}")).kind());
        assertSkipped(decode(2, "op: 'c', ns: 'other.$cmd', o: {dropDatabase: 1}"), "another database");
    }

    @Test
    public void emptycappedIsDropAll() {
        assertEquals(Kind.DROP_ALL, single(decode(1, "op: 'c', ns: 'test.$cmd', o: {emptycapped: 'coll'}")).kind());
    }

    @Test
    public void renameAwayIsFatal() {
        assertFatal(decode(1, "op: 'c', ns: 'test.$cmd', o: {renameCollection: 'test.coll', to: 'test.coll_renamed', stayTemp: false}"),
            "renamed to [test.coll_renamed]");
    }

    @Test
    public void renameOntoIsFatal() {
        assertFatal(decode(1, "op: 'c', ns: 'test.$cmd', o: {renameCollection: 'test.staging', to: 'test.coll', stayTemp: false, dropTarget: UUID('b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d')}"),
            "replacing the followed collection");
        assertFatal(decode(2, "op: 'c', ns: 'other.$cmd', o: {renameCollection: 'other.x', to: 'test.coll', stayTemp: false}"),
            "renamed onto the followed namespace");
    }

    @Test
    public void unrelatedRenameIsSkipped() {
        assertSkipped(decode(1, "op: 'c', ns: 'test.$cmd', o: {renameCollection: 'test.a', to: 'test.b'}"), "rename of another collection");
    }

    @Test
    public void schemaCommandsAreSkipped() {
        int inc = 1;
        for (String o : List.of("{create: 'coll', idIndex: {v: 2, key: {_id: 1}, name: '_id_'}}", "{createIndexes: 'coll', v: 2, key: {a: 1}, name: 'a_1'}",
            "{startIndexBuild: 'coll', indexBuildUUID: UUID('b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d'), indexes: []}",
            "{commitIndexBuild: 'coll', indexBuildUUID: UUID('b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d'), indexes: []}",
            "{abortIndexBuild: 'coll', indexBuildUUID: UUID('b2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d'), indexes: []}",
            "{dropIndexes: 'coll', index: 'a_1'}", "{collMod: 'coll', validationLevel: 'moderate'}")) {
            assertSkipped(decode(inc++, "op: 'c', ns: 'test.$cmd', o: " + o), "does not change documents");
        }
    }

    @Test
    public void followedNameCreatedAsViewOrTimeSeriesIsFatal() {
        assertFatal(decode(1, "op: 'c', ns: 'test.$cmd', o: {create: 'coll', viewOn: 'system.buckets.coll', pipeline: []}"), "view on");
        assertFatal(decode(2, "op: 'c', ns: 'test.$cmd', o: {create: 'coll', timeseries: {timeField: 't'}}"), "time-series");
        assertSkipped(decode(3, "op: 'c', ns: 'test.$cmd', o: {create: 'coll2', viewOn: 'coll', pipeline: []}"), "does not change documents");
        assertSkipped(decode(4, "op: 'c', ns: 'test.$cmd', o: {create: 'system.buckets.coll', validator: {}, clusteredIndex: true}"), "does not change documents");
    }

    @Test
    public void unknownCommandOnFollowedCollectionIsFatal() {
        assertFatal(decode(1, "op: 'c', ns: 'test.$cmd', o: {importCollection: 'coll'}"), "unsupported command [importCollection]");
        assertSkipped(decode(2, "op: 'c', ns: 'test.$cmd', o: {importCollection: 'coll2'}"), "does not concern");
    }

    // ---- applyOps and transactions

    @Test
    public void operationsOfALargeApplyOpsEntryHoldOnlyTheirOwnBytes() {
        StringBuilder ops = new StringBuilder();
        String pad = "x".repeat(1000);
        for (int i = 0; i < 200; i++) {
            ops.append(i == 0 ? "" : ", ").append("{op: 'i', ns: 'test.coll', o: {_id: ").append(i).append(", pad: '").append(pad).append("'}}");
        }
        BsonDocument parsed = entry(7, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {applyOps: [" + ops + "]}, " + NULL_PREV);
        RawBsonDocument raw = new RawBsonDocument(parsed, new org.bson.codecs.BsonDocumentCodec());
        int entryBytes = raw.getByteBuffer().remaining();
        DecodedEntry decoded = decoder.decode(raw);
        assertEquals(200, decoded.operations().size());
        long counted = 0;
        for (int i = 0; i < 200; i++) {
            DocumentOperation op = decoded.operations().get(i);
            assertEquals(parsed.getDocument("o").getArray("applyOps").get(i).asDocument().getDocument("o"), op.payload());
            assertTrue(op.payload() instanceof RawBsonDocument);
            java.nio.ByteBuffer bytes = ((RawBsonDocument) op.payload()).getByteBuffer().asNIO();
            assertEquals("operation " + i + " keeps only its own bytes, not the " + entryBytes + " of its entry", bytes.remaining(), bytes.array().length);
            counted += op.sizeInBytes();
        }
        assertTrue(counted + " counted for an entry of " + entryBytes, counted >= entryBytes * 0.9 && counted <= entryBytes * 1.2);
    }

    @Test
    public void singleEntryTransactionAppliesInOrderAtItsPosition() {
        DecodedEntry decoded = decode(5, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {applyOps: ["
            + "{op: 'i', ns: 'test.coll', o: {_id: 0, x: 0}},"
            + "{op: 'i', ns: 'test.other', o: {_id: 9}},"
            + "{op: 'u', ns: 'test.coll', o: {$v: 2, diff: {u: {x: 1}}}, o2: {_id: 0}},"
            + "{op: 'd', ns: 'test.coll', o: {_id: 1}}]}, " + NULL_PREV);
        assertEquals(DecodedEntry.Outcome.OPERATIONS, decoded.outcome());
        List<DocumentOperation> ops = decoded.operations();
        assertEquals(List.of(Kind.INDEX, Kind.UPDATE_DIFF, Kind.DELETE), ops.stream().map(DocumentOperation::kind).toList());
        for (int i = 0; i < ops.size(); i++) {
            assertEquals(pos(5), ops.get(i).position());
            assertEquals(i, ops.get(i).indexInEntry());
        }
        assertEquals(0, decoder.openTransactionCount());
    }

    @Test
    public void transactionWithoutOperationsOnTheCollectionIsSkipped() {
        assertSkipped(decode(1, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.other', o: {_id: 1}}]}, " + NULL_PREV),
            "without operations on [test.coll]");
    }

    @Test
    public void partialTransactionChainIsBufferedUntilTheFinalEntry() {
        assertEquals(Optional.empty(), decoder.oldestOpenTransactionPosition());
        DecodedEntry first = decode(1, LSID_A + ", txnNumber: NumberLong(3), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 1}}], partialTxn: true}, " + NULL_PREV);
        assertEquals(DecodedEntry.Outcome.BUFFERED, first.outcome());
        assertEquals(Optional.of(pos(1)), decoder.oldestOpenTransactionPosition());
        assertEquals(Kind.INDEX, single(decode(2, "op: 'i', ns: 'test.coll', o: {_id: 50}")).kind());
        DecodedEntry second = decode(3, LSID_A + ", txnNumber: NumberLong(3), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 2}}], partialTxn: true}, prevOpTime: {ts: Timestamp(1000, 1), t: NumberLong(1)}");
        assertEquals(DecodedEntry.Outcome.BUFFERED, second.outcome());
        assertEquals(Optional.of(pos(1)), decoder.oldestOpenTransactionPosition());
        DecodedEntry last = decode(4, LSID_A + ", txnNumber: NumberLong(3), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'd', ns: 'test.coll', o: {_id: 1}}], count: NumberLong(3)}, prevOpTime: {ts: Timestamp(1000, 3), t: NumberLong(1)}");
        assertEquals(DecodedEntry.Outcome.OPERATIONS, last.outcome());
        assertEquals(List.of("1", "2", "1"), last.operations().stream().map(DocumentOperation::documentId).toList());
        assertEquals(List.of(0, 1, 2), last.operations().stream().map(DocumentOperation::indexInEntry).toList());
        assertTrue(last.operations().stream().allMatch(op -> op.position().equals(pos(4))));
        assertEquals(Optional.empty(), decoder.oldestOpenTransactionPosition());
    }

    @Test
    public void preparedTransactionAppliesAtCommit() {
        assertEquals(DecodedEntry.Outcome.BUFFERED, decode(1, LSID_A + ", txnNumber: NumberLong(5), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 1}}], prepare: true}, " + NULL_PREV).outcome());
        assertEquals(Optional.of(pos(1)), decoder.oldestOpenTransactionPosition());
        DecodedEntry commit = decode(3, LSID_A + ", txnNumber: NumberLong(5), op: 'c', ns: 'admin.$cmd', o: {commitTransaction: 1, commitTimestamp: Timestamp(1000, 2)}, prevOpTime: {ts: Timestamp(1000, 1), t: NumberLong(1)}");
        DocumentOperation op = single(commit);
        assertEquals(pos(3), op.position());
        assertEquals(Optional.empty(), decoder.oldestOpenTransactionPosition());
    }

    @Test
    public void preparedTransactionAbortDiscards() {
        decode(1, LSID_A + ", txnNumber: NumberLong(6), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'd', ns: 'test.coll', o: {_id: 1}}], prepare: true}, " + NULL_PREV);
        assertSkipped(decode(2, LSID_A + ", txnNumber: NumberLong(6), op: 'c', ns: 'admin.$cmd', o: {abortTransaction: 1}, prevOpTime: {ts: Timestamp(1000, 1), t: NumberLong(1)}"),
            "1 buffered operations discarded");
        assertEquals(0, decoder.openTransactionCount());
        assertSkipped(decode(3, LSID_A + ", txnNumber: NumberLong(99), op: 'c', ns: 'admin.$cmd', o: {abortTransaction: 1}"), "no buffered entries");
    }

    @Test
    public void transactionsAreKeyedBySessionAndTxnNumber() {
        decode(1, LSID_A + ", txnNumber: NumberLong(7), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 'a7'}}], prepare: true}, " + NULL_PREV);
        decode(2, LSID_B + ", txnNumber: NumberLong(7), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 'b7'}}], prepare: true}, " + NULL_PREV);
        decode(3, LSID_A + ", txnNumber: NumberLong(8), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 'a8'}}], partialTxn: true}, " + NULL_PREV);
        assertEquals(3, decoder.openTransactionCount());
        assertEquals(Optional.of(pos(1)), decoder.oldestOpenTransactionPosition());
        assertEquals("b7", single(decode(4, LSID_B + ", txnNumber: NumberLong(7), op: 'c', ns: 'admin.$cmd', o: {commitTransaction: 1, commitTimestamp: Timestamp(1000, 3)}")).documentId());
        assertEquals(Optional.of(pos(1)), decoder.oldestOpenTransactionPosition());
        decode(5, LSID_A + ", txnNumber: NumberLong(7), op: 'c', ns: 'admin.$cmd', o: {abortTransaction: 1}");
        assertEquals(Optional.of(pos(3)), decoder.oldestOpenTransactionPosition());
        assertEquals("a8", single(decode(6, LSID_A + ", txnNumber: NumberLong(8), op: 'c', ns: 'admin.$cmd', o: {applyOps: [], count: NumberLong(1)}, prevOpTime: {ts: Timestamp(1000, 3), t: NumberLong(1)}")).documentId());
        assertEquals(0, decoder.openTransactionCount());
    }

    @Test
    public void fatalInsideATransactionCountsOnlyIfItCommits() {
        String bad = "{op: 'u', ns: 'test.coll', o: {$v: 3}, o2: {_id: 1}}";
        decode(1, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {applyOps: [" + bad + "], prepare: true}, " + NULL_PREV);
        assertSkipped(decode(2, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {abortTransaction: 1}"), "discarded");
        decode(3, LSID_A + ", txnNumber: NumberLong(2), op: 'c', ns: 'admin.$cmd', o: {applyOps: [" + bad + "], prepare: true}, " + NULL_PREV);
        assertFatal(decode(4, LSID_A + ", txnNumber: NumberLong(2), op: 'c', ns: 'admin.$cmd', o: {commitTransaction: 1, commitTimestamp: Timestamp(1000, 3)}"), "$v: 3");
    }

    @Test
    public void commitWithoutPrepareIsFatal() {
        assertFatal(decode(1, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {commitTransaction: 1, commitTimestamp: Timestamp(999, 1)}"),
            "prepare entry was not read");
    }

    @Test
    public void finalEntryWithoutItsChainIsFatal() {
        assertFatal(decode(1, LSID_A + ", txnNumber: NumberLong(1), op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 1}}], count: NumberLong(2)}, prevOpTime: {ts: Timestamp(999, 4), t: NumberLong(1)}"),
            "were not read");
    }

    @Test
    public void vectoredInsertAppliesAtOnceEvenWithSession() {
        DecodedEntry decoded = decode(1, LSID_A + ", txnNumber: NumberLong(2), op: 'c', ns: 'admin.$cmd', o: {applyOps: ["
            + "{op: 'i', ns: 'test.coll', o: {_id: 1}}, {op: 'i', ns: 'test.coll', o: {_id: 2}}]}, multiOpType: 1, " + NULL_PREV);
        assertEquals(2, decoded.operations().size());
        assertEquals(0, decoder.openTransactionCount());
    }

    @Test
    public void applyOpsWithoutSessionAppliesAtOnce() {
        DecodedEntry decoded = decode(1, "op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 1}}]}");
        assertEquals(1, decoded.operations().size());
        assertFatal(decode(2, "op: 'c', ns: 'admin.$cmd', o: {applyOps: [], partialTxn: true}"), "without lsid");
    }

    @Test
    public void nestedApplyOpsAreFlattened() {
        DecodedEntry decoded = decode(1, "op: 'c', ns: 'admin.$cmd', o: {applyOps: ["
            + "{op: 'c', ns: 'admin.$cmd', o: {applyOps: [{op: 'i', ns: 'test.coll', o: {_id: 1}}, {op: 'i', ns: 'test.coll', o: {_id: 2}}]}},"
            + "{op: 'n', ns: '', o: {msg: 'x'}},"
            + "{op: 'i', ns: 'test.coll', o: {_id: 3}, fromMigrate: true},"
            + "{op: 'c', ns: 'test.$cmd', o: {create: 'coll'}},"
            + "{op: 'c', ns: 'test.$cmd', o: {drop: 'coll'}},"
            + "{op: 'd', ns: 'test.coll', o: {_id: 1}}]}");
        assertEquals(List.of(Kind.INDEX, Kind.INDEX, Kind.DROP_ALL, Kind.DELETE), decoded.operations().stream().map(DocumentOperation::kind).toList());
        assertEquals(List.of(0, 1, 2, 3), decoded.operations().stream().map(DocumentOperation::indexInEntry).toList());
    }

    @Test
    public void malformedApplyOpsIsFatal() {
        assertFatal(decode(1, "op: 'c', ns: 'admin.$cmd', o: {applyOps: 5}"), "not an array");
        assertFatal(decode(2, "op: 'c', ns: 'admin.$cmd', o: {applyOps: [5]}"), "an operation is a INT32");
    }

    @Test
    public void rawDocumentsAreSupportedAndSizedExactly() {
        BsonDocument parsed = entry(1, "op: 'i', ns: 'test.coll', o: {_id: 1, a: 'xyz'}");
        RawBsonDocument raw = new RawBsonDocument(parsed, new BsonDocumentCodec());
        DocumentOperation op = single(decoder.decode(raw));
        RawBsonDocument o = (RawBsonDocument) raw.getDocument("o");
        assertEquals(DocumentOperation.OVERHEAD_BYTES + 1 + o.getByteBuffer().remaining(), op.sizeInBytes());
    }
}

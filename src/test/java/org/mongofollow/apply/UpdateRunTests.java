package org.mongofollow.apply;

import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentVersions;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;
import org.junit.Test;
import org.mongofollow.operation.DocumentOperation.Kind;
import org.mongofollow.operation.OplogPosition;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

/** The primary's write of updates ({@link UpdateRun}) and of decoded operations ({@link ShardOperation#of}). */
public class UpdateRunTests {

    private static final OplogPosition POS = OplogPosition.of(1000, 1);

    private static ShardOperation write(Kind kind, String id, String payload) throws IOException {
        return ShardOperation.of(DocumentOperation.of(kind, POS, 0, new BsonInt32(Integer.parseInt(id)), payload == null ? null : BsonDocument.parse(payload)), FieldSelection.ALL, DocumentVersions.IDENTITY);
    }

    private static Map<String, Object> parse(BytesReference source) {
        return XContentHelper.convertToMap(source, true, XContentType.JSON).v2();
    }

    private static Map<String, Object> json(String json) {
        return parse(source(json));
    }

    private static BytesReference source(String json) {
        return new BytesArray(json);
    }

    @Test
    public void anUpdateAppliesToTheStoredSource() throws IOException {
        UpdateRun.Written written = UpdateRun.apply(List.of(write(Kind.UPDATE_DIFF, "1", "{u: {a: 2}}")), 0, source("{\"a\":1,\"b\":1}"), FieldSelection.ALL);
        assertEquals(1, written.count());
        assertStrictEquals("", json("{\"a\":2,\"b\":1}"), parse(written.source()));
        written = UpdateRun.apply(List.of(write(Kind.UPDATE_V1, "1", "{$v: 1, $set: {a: 3}}")), 0, source("{\"a\":1}"), FieldSelection.ALL);
        assertStrictEquals("", json("{\"a\":3}"), parse(written.source()));
    }

    @Test
    public void consecutiveUpdatesOfOneDocumentBecomeOneSource() throws IOException {
        List<ShardOperation> operations = List.of(
            write(Kind.UPDATE_DIFF, "1", "{u: {a: 2}}"),
            write(Kind.UPDATE_V1, "1", "{$v: 1, $set: {b: 3}}"),
            write(Kind.UPDATE_DIFF, "2", "{u: {a: 9}}")
        );
        UpdateRun.Written written = UpdateRun.apply(operations, 0, source("{\"a\":1}"), FieldSelection.ALL);
        assertEquals("the run ends at another document", 2, written.count());
        assertStrictEquals("", json("{\"a\":2,\"b\":3}"), parse(written.source()));
    }

    @Test
    public void anUpdateThatCannotBeAppliedEndsTheRunOrFailsItsOwnWrite() throws IOException {
        ShardOperation good = write(Kind.UPDATE_DIFF, "1", "{u: {a: 2}}");
        ShardOperation bad = write(Kind.UPDATE_DIFF, "1", "{sx: 5}"); // a sub-diff that is not a document
        UpdateRun.Written written = UpdateRun.apply(List.of(good, bad), 0, source("{\"a\":1}"), FieldSelection.ALL);
        assertEquals("the bad one is applied on its own next", 1, written.count());
        assertStrictEquals("", json("{\"a\":2}"), parse(written.source()));
        assertThrows(UnapplicableUpdateException.class, () -> UpdateRun.apply(List.of(bad), 0, source("{\"a\":1}"), FieldSelection.ALL));
    }

    @Test
    public void decodedOperationsBecomeWrites() throws IOException {
        ShardOperation index = write(Kind.INDEX, "1", "{b: 1, _id: 1, c: 2}");
        assertEquals(ShardOperation.Kind.INDEX, index.kind());
        assertEquals("1", index.id());
        assertEquals(POS.timestamp(), index.version());
        assertStrictEquals("", json("{\"b\":1,\"c\":2}"), parse(index.payload()));
        ShardOperation delete = write(Kind.DELETE, "1", null);
        assertEquals(0, delete.payload().length());
        ShardOperation shardedDelete = write(Kind.DELETE, "1", "{sk: 'eu', n: {$numberLong: '7'}}"); // a shard key's values
        assertStrictEquals("", json("{\"sk\":\"eu\",\"n\":7}"), parse(shardedDelete.payload()));
        assertThrows(IllegalArgumentException.class, () -> ShardOperation.of(DocumentOperation.dropAll(POS, 0), FieldSelection.ALL, DocumentVersions.IDENTITY));
    }

    @Test
    public void operationShapeIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> new DocumentOperation(Kind.DROP_ALL, POS, 0, "1", null, null, 1));
        assertThrows(IllegalArgumentException.class, () -> new DocumentOperation(Kind.INDEX, POS, 0, "1", new BsonInt32(1), null, 1));
    }

    @Test
    public void atMovesTheOperation() {
        DocumentOperation moved = DocumentOperation.of(Kind.INDEX, POS, 0, new BsonInt32(1), BsonDocument.parse("{_id: 1}")).at(OplogPosition.of(2000, 5), 3);
        assertEquals(OplogPosition.of(2000, 5), moved.position());
        assertEquals(3, moved.indexInEntry());
        assertEquals("1", moved.documentId());
        assertEquals("INDEX[2000:5#3 1]", moved.toString());
    }
}

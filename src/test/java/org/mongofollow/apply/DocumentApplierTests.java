package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.junit.Test;
import org.mongofollow.apply.DocumentOperation.Kind;
import org.mongofollow.source.OplogPosition;

import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.fail;
import static org.mongofollow.apply.JsonAssert.assertStrictEquals;

public class DocumentApplierTests {

    private static final OplogPosition POS = OplogPosition.of(1000, 1);

    private static DocumentOperation op(Kind kind, String payload) {
        return DocumentOperation.of(kind, POS, 0, new BsonInt32(1), payload == null ? null : BsonDocument.parse(payload));
    }

    private static Map<String, Object> doc(String json) {
        return BsonToJson.toSource(BsonDocument.parse(json));
    }

    @Test
    public void indexReplacesWithTheDocumentWithoutId() {
        assertStrictEquals("", doc("{b: 1, c: 2}"), DocumentApplier.apply(doc("{a: 1}"), op(Kind.INDEX, "{b: 1, _id: 1, c: 2}")));
        assertStrictEquals("", doc("{b: 1}"), DocumentApplier.apply(null, op(Kind.INDEX, "{_id: 1, b: 1}")));
    }

    @Test
    public void updatesOfAMissingDocumentAreNoops() {
        assertNull(DocumentApplier.apply(null, op(Kind.UPDATE_DIFF, "{u: {a: 1}}")));
        assertNull(DocumentApplier.apply(null, op(Kind.UPDATE_V1, "{$v: 1, $set: {a: 1}}")));
    }

    @Test
    public void updatesApplyToTheCurrentDocument() {
        assertStrictEquals("", doc("{a: 2}"), DocumentApplier.apply(doc("{a: 1}"), op(Kind.UPDATE_DIFF, "{u: {a: 2}}")));
        assertStrictEquals("", doc("{a: 3}"), DocumentApplier.apply(doc("{a: 1}"), op(Kind.UPDATE_V1, "{$v: 1, $set: {a: 3}}")));
    }

    @Test
    public void deleteGivesNull() {
        assertNull(DocumentApplier.apply(doc("{a: 1}"), op(Kind.DELETE, null)));
    }

    @Test
    public void dropAllIsNotPerDocument() {
        try {
            DocumentApplier.apply(doc("{a: 1}"), DocumentOperation.dropAll(POS, 0));
            fail();
        } catch (IllegalArgumentException e) {
            // expected
        }
    }

    @Test
    public void operationShapeIsChecked() {
        for (Runnable r : new Runnable[] {
            () -> new DocumentOperation(Kind.DROP_ALL, POS, 0, "1", null, null, 1),
            () -> new DocumentOperation(Kind.DELETE, POS, 0, "1", new BsonInt32(1), new BsonDocument(), 1),
            () -> new DocumentOperation(Kind.INDEX, POS, 0, "1", new BsonInt32(1), null, 1) }) {
            try {
                r.run();
                fail();
            } catch (IllegalArgumentException e) {
                // expected
            }
        }
    }

    @Test
    public void atMovesTheOperation() {
        DocumentOperation moved = op(Kind.INDEX, "{_id: 1}").at(OplogPosition.of(2000, 5), 3);
        assertEquals(OplogPosition.of(2000, 5), moved.position());
        assertEquals(3, moved.indexInEntry());
        assertEquals("1", moved.documentId());
        assertEquals("INDEX[2000:5#3 1]", moved.toString());
    }
}

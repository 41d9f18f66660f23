package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.junit.Test;

import java.io.IOException;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

public class DocumentKeysTests {

    private static BytesReference key(String bson) throws IOException {
        return DocumentKeys.json(BsonDocument.parse(bson));
    }

    private static BytesReference held(String json) {
        return new BytesArray(json);
    }

    @Test
    public void aKeyOfIdAloneIsEmptyAndNeverContradicts() throws IOException {
        assertEquals(0, DocumentKeys.json(null).length());
        assertEquals(0, DocumentKeys.json(new BsonDocument()).length());
        assertFalse(DocumentKeys.contradicts(held("{\"k\":1}"), BytesArray.EMPTY));
    }

    @Test
    public void anotherShardKeyValueContradicts() throws IOException {
        assertTrue(DocumentKeys.contradicts(held("{\"k\":500,\"a\":1}"), key("{k: 5}")));
        assertFalse(DocumentKeys.contradicts(held("{\"k\":5,\"a\":1}"), key("{k: 5}")));
        assertTrue(DocumentKeys.contradicts(held("{\"region\":\"us\",\"k\":5}"), key("{region: 'eu', k: 5}"))); // compound
        assertFalse(DocumentKeys.contradicts(held("{\"region\":\"eu\",\"k\":5}"), key("{region: 'eu', k: 5}")));
    }

    @Test
    public void numbersCompareByValue() throws IOException {
        assertFalse(DocumentKeys.contradicts(held("{\"k\":5.0}"), key("{k: 5}")));
        assertFalse(DocumentKeys.contradicts(held("{\"k\":9007199254740993}"), key("{k: {$numberLong: '9007199254740993'}}")));
        assertTrue(DocumentKeys.contradicts(held("{\"k\":9007199254740992}"), key("{k: {$numberLong: '9007199254740993'}}")));
        assertTrue(DocumentKeys.contradicts(held("{\"k\":\"5\"}"), key("{k: 5}")));
    }

    @Test
    public void dottedShardKeysArePaths() throws IOException {
        assertTrue(DocumentKeys.contradicts(held("{\"a\":{\"b\":2}}"), key("{'a.b': 1}")));
        assertFalse(DocumentKeys.contradicts(held("{\"a\":{\"b\":1}}"), key("{'a.b': 1}")));
    }

    @Test
    public void whatCannotBeToldDoesNotContradict() throws IOException {
        assertFalse(DocumentKeys.contradicts(held("{\"a\":1}"), key("{k: 5}"))); // the field is not indexed (field selection)
        assertFalse(DocumentKeys.contradicts(held("{\"k\":null}"), key("{k: 5}")));
        // an object shard key value held in part (fields: include meta.region): it cannot tell
        assertFalse(DocumentKeys.contradicts(held("{\"meta\":{\"region\":\"eu\"}}"), key("{meta: {region: 'eu', zone: 'a'}}")));
    }

    @Test
    public void typedValuesUnderTheMapping() throws IOException {
        // an ObjectId shard key: the same mapping as the indexed document's
        BytesReference oid = key("{k: {$oid: '5f0c6b6e8e0a4b2d9c3e1a2b'}}");
        assertFalse(DocumentKeys.contradicts(BsonToJson.source(BsonDocument.parse("{k: {$oid: '5f0c6b6e8e0a4b2d9c3e1a2b'}, a: 1}")), oid));
        assertTrue(DocumentKeys.contradicts(BsonToJson.source(BsonDocument.parse("{k: {$oid: '5f0c6b6e8e0a4b2d9c3e1a2c'}, a: 1}")), oid));
    }
}

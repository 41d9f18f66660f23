package org.mongofollow.copy;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.codecs.BsonDocumentCodec;
import org.bson.conversions.Bson;
import org.elasticsearch.test.ESTestCase;
import org.mongofollow.metadata.CopyState;

import static org.hamcrest.Matchers.equalTo;

public class IdRangesTests extends ESTestCase {

    private static String json(Bson filter) {
        return filter.toBsonDocument(BsonDocument.class, com.mongodb.MongoClientSettings.getDefaultCodecRegistry()).toJson();
    }

    public void testSingleTypeRangesUsePlainBounds() {
        CopyState.Range first = new CopyState.Range(null, new BsonInt32(10), null, 0, false);
        assertThat(json(IdRanges.nextBatch(first, false)), equalTo("{\"_id\": {\"$lt\": 10}}"));
        CopyState.Range middle = new CopyState.Range(new BsonInt32(10), new BsonInt32(20), null, 0, false);
        assertThat(json(IdRanges.nextBatch(middle, false)), equalTo("{\"$and\": [{\"_id\": {\"$gte\": 10}}, {\"_id\": {\"$lt\": 20}}]}"));
        CopyState.Range resumed = middle.advance(new BsonInt32(15), 5, false);
        assertThat(json(IdRanges.nextBatch(resumed, false)), equalTo("{\"$and\": [{\"_id\": {\"$gt\": 15}}, {\"_id\": {\"$lt\": 20}}]}"));
        CopyState.Range all = new CopyState.Range(null, null, null, 0, false);
        assertThat(json(IdRanges.nextBatch(all, false)), equalTo("{}"));
    }

    public void testMixedTypeRangesAdmitWholeTypeClassesBeyondTheirBounds() {
        CopyState.Range range = new CopyState.Range(new BsonInt32(10), new BsonString("m"), null, 0, false);
        String filter = json(IdRanges.nextBatch(range, true));
        // numbers >= 10, or any class after numbers; strings < "m", or any class before strings
        assertThat(filter, org.hamcrest.Matchers.containsString("{\"_id\": {\"$gte\": 10}}, {\"_id\": {\"$type\": [2, 3, 4, 5, 7, 8, 9, 17, 11, 127]}}"));
        assertThat(filter, org.hamcrest.Matchers.containsString("{\"_id\": {\"$lt\": \"m\"}}, {\"_id\": {\"$type\": [-1, 10, 1, 16, 18, 19]}}"));
        assertThat(IdRanges.typeClass(new BsonInt32(1)), equalTo(IdRanges.typeClass(new org.bson.BsonDouble(1.5))));
        assertNotNull(new BsonDocumentCodec());
    }
}

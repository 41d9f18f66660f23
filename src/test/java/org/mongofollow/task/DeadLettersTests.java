package org.mongofollow.task;

import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.elasticsearch.test.ESTestCase;
import org.mongofollow.operation.OplogPosition;

import java.util.Map;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

public class DeadLettersTests extends ESTestCase {

    private static final OplogPosition T0 = OplogPosition.of(1_700_000_000, 4);
    private static final long V0 = new org.mongofollow.operation.DocumentVersions(1L << 62).of(T0);

    public void testACopyLetterCarriesTheCopysPositionAndTheDocument() {
        BsonDocument document = new BsonDocument("_id", new BsonInt32(6)).append("n", new BsonDouble(Double.NaN));
        DeadLetters.Letter letter = DeadLetters.Letter.copy("items", 1, "db.items", "6", T0, V0, document, "non-finite double [NaN] cannot be indexed at [n]");
        Map<String, Object> source = letter.source();
        assertThat(source.get("operation"), equalTo("copy"));
        assertThat(source.get("position"), equalTo("1700000000:4"));
        assertThat(source.get("version"), equalTo(V0));
        assertThat(V0, equalTo(((1_700_000_000L - (1L << 30)) << 32) | 4));
        assertThat(source.get("shard"), equalTo(1));
        assertThat(source.get("document_id"), equalTo("6"));
        assertThat(source.get("document"), equalTo("{\"_id\": 6, \"n\": {\"$numberDouble\": \"NaN\"}}"));
    }

    public void testACopyBatchWrittenAgainRewritesItsLetters() {
        BsonDocument document = new BsonDocument("_id", new BsonInt32(6));
        DeadLetters.Letter first = DeadLetters.Letter.copy("items", 0, "db.items", "6", T0, V0, document, "refused");
        DeadLetters.Letter again = DeadLetters.Letter.copy("items", 0, "db.items", "6", T0, V0, document, "refused");
        assertThat(again.id(), equalTo(first.id()));
        assertThat(DeadLetters.Letter.copy("items", 0, "db.items", "6", OplogPosition.of(1_700_000_000, 5), V0 + 1, document, "refused").id(), not(equalTo(first.id())));
        // an oplog operation of the same document at the same position (a resync's t0) keeps its own letter
        DeadLetters.Letter logged = new DeadLetters.Letter("items", 0, "db.items", "6", T0, V0, 0, "index", "refused", null);
        assertThat(logged.id(), not(equalTo(first.id())));
    }
}

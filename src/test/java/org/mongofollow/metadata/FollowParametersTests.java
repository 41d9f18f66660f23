package org.mongofollow.metadata;

import org.mongofollow.source.ChangeStreamSource;
import org.mongofollow.source.FullDocumentMode;
import org.mongofollow.source.OplogSource;
import org.mongofollow.source.SourceMode;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.Test;

import java.io.IOException;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** The source mode and full_document options: parsed, validated, kept through the wire and the stored metadata. */
public class FollowParametersTests {

    private static FollowParameters parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, json)) {
            return FollowParameters.fromXContent(parser);
        }
    }

    private static final String BASE = "\"connection\": \"mongodb://127.0.0.1:27017/?replicaSet=rs0\", \"database\": \"shop\", \"collection\": \"orders\"";

    @Test
    public void theSourceDefaultsToTheOplog() throws IOException {
        FollowParameters follow = parse("{" + BASE + "}");
        assertEquals(SourceMode.OPLOG, follow.source());
        assertEquals(FullDocumentMode.DEFAULT, follow.fullDocument());
        assertEquals(OplogSource.INSTANCE, follow.feedSource());
        assertTrue(follow.feedSource().parallelReads());
    }

    @Test
    public void aChangeStreamFollowSurvivesTheWireAndTheStoredMetadata() throws IOException {
        FollowParameters follow = parse("{" + BASE + ", \"source\": \"change_stream\", \"full_document\": \"update_lookup\"}");
        assertEquals(new ChangeStreamSource("shop.orders", FullDocumentMode.UPDATE_LOOKUP), follow.feedSource());
        assertFalse(follow.feedSource().parallelReads());
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            follow.writeTo(out);
            assertEquals(follow, new FollowParameters(out.bytes().streamInput()));
        }
        assertEquals(follow, parse(Strings.toString(follow)));
    }

    @Test
    public void aPipelineSurvivesTheWireAndTheStoredMetadata() throws IOException {
        FollowParameters follow = parse("{" + BASE + ", \"source\": \"change_stream\", \"full_document\": \"update_lookup\", "
            + "\"pipeline\": \"shape\"}");
        assertEquals("shape", follow.pipeline());
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            follow.writeTo(out);
            FollowParameters read = new FollowParameters(out.bytes().streamInput());
            assertEquals(follow, read);
            assertEquals(FullDocumentMode.UPDATE_LOOKUP, read.fullDocument());
        }
        assertEquals(follow, parse(Strings.toString(follow)));
        assertEquals("shape", follow.withSource(SourceMode.CHANGE_STREAM).pipeline());
    }

    @Test
    public void onDeleteSurvivesTheWireAndTheStoredMetadata() throws IOException {
        for (String extra : new String[] { "", ", \"pipeline\": \"shape\"" }) {
            FollowParameters follow = parse("{" + BASE + extra + ", \"on_delete\": {\"mark\": {\"field\": \"deleted\", \"at_field\": \"at\"}}}");
            assertEquals(new org.mongofollow.apply.OnDelete("deleted", "at"), follow.onDelete());
            try (BytesStreamOutput out = new BytesStreamOutput()) {
                follow.writeTo(out);
                assertEquals(follow, new FollowParameters(out.bytes().streamInput()));
            }
            assertEquals(follow, parse(Strings.toString(follow)));
        }
        assertEquals(org.mongofollow.apply.OnDelete.DELETE, parse("{" + BASE + ", \"on_delete\": \"delete\"}").onDelete());
        assertFalse(Strings.toString(parse("{" + BASE + "}")).contains("on_delete"));
    }

    @Test
    public void aFollowWithoutTheNewFieldsWritesTheFirstFormatsBytes() throws IOException {
        FollowParameters without = parse("{" + BASE + "}");
        FollowParameters with = parse("{" + BASE + ", \"pipeline\": \"shape\"}");
        try (BytesStreamOutput a = new BytesStreamOutput(); BytesStreamOutput b = new BytesStreamOutput()) {
            without.writeTo(a);
            with.writeTo(b);
            // the first format ends with full_document's ordinal: the same bytes but that one, then the extension
            byte[] first = org.elasticsearch.common.bytes.BytesReference.toBytes(a.bytes());
            byte[] second = org.elasticsearch.common.bytes.BytesReference.toBytes(b.bytes());
            assertEquals(0, first[first.length - 1]);
            assertEquals(0x40, second[first.length - 1]);
            assertEquals(
                java.util.Arrays.toString(java.util.Arrays.copyOf(first, first.length - 1)),
                java.util.Arrays.toString(java.util.Arrays.copyOf(second, first.length - 1))
            );
            // an extension tag this release does not know is refused, not skipped
            second[first.length] = 9;
            IOException unknown = assertThrows(IOException.class, () -> new FollowParameters(new org.elasticsearch.common.bytes.BytesArray(second).streamInput()));
            assertTrue(unknown.getMessage(), unknown.getMessage().contains("a newer release of mongo-follow"));
        }
        Exception blank = assertThrows(IllegalArgumentException.class, () -> parse("{" + BASE + ", \"pipeline\": \" \"}"));
        assertTrue(blank.getMessage(), blank.getMessage().contains("[pipeline] must name an ingest pipeline"));
    }

    @Test
    public void autoIsDecidedOnce() throws IOException {
        FollowParameters auto = parse("{" + BASE + ", \"source\": \"auto\", \"full_document\": \"update_lookup\"}");
        assertThrows(IllegalStateException.class, auto::feedSource);
        FollowParameters stream = auto.withSource(SourceMode.CHANGE_STREAM);
        assertEquals(FullDocumentMode.UPDATE_LOOKUP, stream.fullDocument());
        // full_document is an option of change streams: an auto that picked the oplog drops it
        FollowParameters oplog = auto.withSource(SourceMode.OPLOG);
        assertEquals(FullDocumentMode.DEFAULT, oplog.fullDocument());
        assertEquals(OplogSource.INSTANCE, oplog.feedSource());
    }

    @Test
    public void invalidValuesAreRefused() {
        Exception source = assertThrows(Exception.class, () -> parse("{" + BASE + ", \"source\": \"binlog\"}"));
        assertTrue(source.getCause().getMessage(), source.getCause().getMessage().contains("[source] must be [oplog], [change_stream] or [auto]"));
        Exception option = assertThrows(IllegalArgumentException.class, () -> parse("{" + BASE + ", \"full_document\": \"update_lookup\"}"));
        assertTrue(option.getMessage().contains("[full_document] is an option of change streams"));
        Exception value = assertThrows(Exception.class, () -> parse("{" + BASE + ", \"source\": \"change_stream\", \"full_document\": \"required\"}"));
        assertTrue(value.getCause().getMessage(), value.getCause().getMessage().contains("[full_document] must be [default], [update_lookup] or [when_available]"));
    }
}

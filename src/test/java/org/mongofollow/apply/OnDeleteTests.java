package org.mongofollow.apply;

import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.test.ESTestCase;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.operation.OplogPosition;

import java.io.IOException;
import java.util.Map;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/** {@code on_delete}: parsed and validated; a mark keeps the document and the time of the first delete that marked it. */
public class OnDeleteTests extends ESTestCase {

    private static OnDelete parse(String json) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, json)) {
            parser.nextToken();
            if (parser.currentToken() == XContentParser.Token.START_OBJECT) {
                return OnDelete.parse(parser);
            }
            throw new AssertionError("an object");
        }
    }

    public void testParse() throws IOException {
        assertThat(parse("{\"mark\": {\"field\": \"deleted\", \"at_field\": \"deleted_at\"}}"), equalTo(new OnDelete("deleted", "deleted_at")));
        assertThat(parse("{\"mark\": {\"field\": \"gone\"}}"), equalTo(new OnDelete("gone", null)));
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, "\"delete\"")) {
            parser.nextToken();
            assertThat(OnDelete.parse(parser), equalTo(OnDelete.DELETE));
        }
        IllegalArgumentException dotted = expectThrows(IllegalArgumentException.class, () -> parse("{\"mark\": {\"field\": \"a.b\"}}"));
        assertThat(dotted.getMessage(), containsString("without a dot"));
        IllegalArgumentException two = expectThrows(IllegalArgumentException.class, () -> parse("{\"mark\": {\"field\": \"a\"}, \"x\": 1}"));
        assertThat(two.getMessage(), containsString("[on_delete] must be [delete] or"));
    }

    public void testAMarkKeepsTheDocumentAndTheFirstTime() throws IOException {
        OnDelete onDelete = new OnDelete("deleted", "deleted_at");
        ShardOperation first = onDelete.deleteOf("1", 10, OplogPosition.of(1_700_000_000, 1), BytesArray.EMPTY);
        assertThat(first.kind(), equalTo(ShardOperation.Kind.MARK_DELETED));
        assertThat(OnDelete.key(first.payload()).length(), equalTo(0));
        BytesReference marked = OnDelete.mark(new BytesArray("{\"name\":\"a\",\"n\":1.5}"), first.payload());
        Map<String, Object> document = XContentHelper.convertToMap(marked, true, XContentType.JSON).v2();
        assertThat(document, equalTo(Map.of("name", "a", "n", 1.5, "deleted", true, "deleted_at", "2023-11-14T22:13:20Z")));

        ShardOperation later = onDelete.deleteOf("1", 20, OplogPosition.of(1_800_000_000, 1), new BytesArray("{\"region\":\"eu\"}"));
        assertThat(OnDelete.key(later.payload()).utf8ToString(), equalTo("{\"region\":\"eu\"}"));
        Map<String, Object> again = XContentHelper.convertToMap(OnDelete.mark(marked, later.payload()), true, XContentType.JSON).v2();
        assertThat("a marked document keeps the time of its delete", again.get("deleted_at"), equalTo("2023-11-14T22:13:20Z"));

        ShardOperation delete = OnDelete.DELETE.deleteOf("1", 10, OplogPosition.of(1_700_000_000, 1), BytesArray.EMPTY);
        assertThat(delete.kind(), equalTo(ShardOperation.Kind.DELETE));
    }
}

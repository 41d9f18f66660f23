package org.mongofollow.metadata;

import org.bson.BsonInt32;
import org.bson.BsonMaxKey;
import org.bson.BsonMinKey;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.test.ESTestCase;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.copy.CopyTask;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.security.FollowUser;
import org.mongofollow.source.ResumePoint;
import org.mongofollow.task.ShardFollowTask;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.hamcrest.Matchers.equalTo;

/**
 * What the plugin keeps in the cluster state, as each released format wrote it, is still read the same way: the
 * persistent task params of a shard follow and of a copy (the XContent the nodes persist to disk, with the stored user,
 * and the bytes sent between nodes) and a follower index's custom metadata. During a rolling upgrade, and after one, the new
 * plugin reads what the previous one wrote. Each format is a folder under {@code src/test/resources/state-formats/}, written
 * once by that release's code ({@link #main}) and never changed; a change that cannot read one fails here.
 */
public class StateFormatsTests extends ESTestCase {

    /** The formats released so far, oldest first. */
    static final List<String> FORMATS = List.of("0.1.0");

    /** The sample every format wrote: a shard follow's task, a copy's task and an index's follow metadata. */
    static final FollowParameters PARAMETERS = new FollowParameters.Builder().connection("mongodb://mongo.example:27017/?replicaSet=rs0")
        .database("shop")
        .collection("orders")
        .initialCopy(true)
        .copyBatchSize(500)
        .onHistoryLost(FollowParameters.OnHistoryLost.RESYNC)
        .deadLetterIndex("orders-rejected")
        .build();
    /** Made-up header values: the shape the security module stores, no real credential. */
    static final FollowUser USER = FollowUser.of(Map.of("_xpack_security_authentication", "c2FtcGxlLWF1dGhlbnRpY2F0aW9u"));
    static final ShardFollowTask SHARD_TASK = new ShardFollowTask("orders", "kG2fE6UZTbKeq0dnmRY8ZQ", 2, PARAMETERS, USER);
    static final CopyTask COPY_TASK = new CopyTask("orders", "kG2fE6UZTbKeq0dnmRY8ZQ", PARAMETERS, USER);

    static FollowMetadata followMetadata() {
        CopyState copy = CopyState.start(OplogPosition.of(1_700_000_000, 7), false, "60s", 1_700_000_000_000L)
            .withPlan(10_000, false, List.of(
                new CopyState.Range(new BsonMinKey(), new BsonInt32(5000), null, 0, false),
                new CopyState.Range(new BsonInt32(5000), new BsonMaxKey(), null, 0, false)
            ));
        copy = copy.withProgress(List.of(new CopyState.Range(new BsonMinKey(), new BsonInt32(5000), new BsonInt32(4999), 4999, true)), 4999, 1);
        return new FollowMetadata(
            PARAMETERS,
            FollowMetadata.Status.ACTIVE,
            Map.of(0, OplogPosition.of(1_700_000_100, 1), 1, OplogPosition.of(1_700_000_090, 3)),
            Map.of(0, new ResumePoint(OplogPosition.of(1_700_000_100, 1), "{\"_data\": \"826553F1E4000000012B0229296E04\"}")),
            copy,
            DocumentVersions.forNewFollow(OplogPosition.of(1_700_000_000, 7))
        );
    }

    private static final ToXContent.Params GATEWAY = new ToXContent.MapParams(
        Map.of(Metadata.CONTEXT_MODE_PARAM, Metadata.CONTEXT_MODE_GATEWAY)
    );

    public void testShardFollowTaskOfEveryFormatIsRead() throws IOException {
        for (String format : FORMATS) {
            ShardFollowTask stored;
            try (XContentParser parser = parser(resource(format, "shard-follow-task.json"))) {
                stored = ShardFollowTask.fromXContent(parser);
            }
            assertThat(format, stored.index(), equalTo("orders"));
            assertThat(format, stored.shard(), equalTo(2));
            assertThat(format, stored.follow().database(), equalTo("shop"));
            assertThat(format, stored.follow().onHistoryLost(), equalTo(FollowParameters.OnHistoryLost.RESYNC));
            assertThat(format, stored.user().storedHeaders(), equalTo(USER.storedHeaders()));
            assertThat(format, stored, equalTo(SHARD_TASK));
            assertThat(format, new ShardFollowTask(wire(format, "shard-follow-task.wire")), equalTo(SHARD_TASK));
        }
    }

    public void testCopyTaskOfEveryFormatIsRead() throws IOException {
        for (String format : FORMATS) {
            CopyTask stored;
            try (XContentParser parser = parser(resource(format, "copy-task.json"))) {
                stored = CopyTask.fromXContent(parser);
            }
            assertThat(format, stored.indexUuid(), equalTo("kG2fE6UZTbKeq0dnmRY8ZQ"));
            assertThat(format, stored.follow().copyBatchSize(), equalTo(500));
            assertThat(format, stored, equalTo(COPY_TASK));
            assertThat(format, new CopyTask(wire(format, "copy-task.wire")), equalTo(COPY_TASK));
        }
    }

    public void testFollowMetadataOfEveryFormatIsRead() throws IOException {
        for (String format : FORMATS) {
            Map<String, String> data;
            try (XContentParser parser = parser(resource(format, "follow-metadata.json"))) {
                data = parser.mapStrings();
            }
            FollowMetadata stored = FollowMetadata.fromCustomData(data);
            assertThat(format, stored.checkpoint(1), equalTo(OplogPosition.of(1_700_000_090, 3)));
            assertThat(format, stored.resumePoint(0).position(), equalTo(OplogPosition.of(1_700_000_100, 1)));
            assertThat(format, stored.copy().ranges().get(0).last(), equalTo(new BsonInt32(4999)));
            assertThat(format, stored, equalTo(followMetadata()));
        }
    }

    public void testTodaysWriterRoundTrips() throws IOException {
        try (XContentParser parser = parser(Strings.toString(SHARD_TASK, GATEWAY))) {
            assertThat(ShardFollowTask.fromXContent(parser), equalTo(SHARD_TASK));
        }
        try (XContentParser parser = parser(Strings.toString(COPY_TASK, GATEWAY))) {
            assertThat(CopyTask.fromXContent(parser), equalTo(COPY_TASK));
        }
        assertThat(FollowMetadata.fromCustomData(followMetadata().toCustomData()), equalTo(followMetadata()));
    }

    /**
     * Writes today's format into {@code args[0]} (a new folder under {@code src/test/resources/state-formats/}, named for the
     * release), to be committed with that release and added to {@link #FORMATS}.
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("shard-follow-task.json"), pretty(SHARD_TASK) + "\n");
        Files.writeString(dir.resolve("copy-task.json"), pretty(COPY_TASK) + "\n");
        Files.writeString(dir.resolve("shard-follow-task.wire"), base64(SHARD_TASK::writeTo) + "\n");
        Files.writeString(dir.resolve("copy-task.wire"), base64(COPY_TASK::writeTo) + "\n");
        try (XContentBuilder builder = JsonXContent.contentBuilder().prettyPrint()) {
            builder.map(new TreeMap<>(followMetadata().toCustomData()));
            Files.writeString(dir.resolve("follow-metadata.json"), Strings.toString(builder) + "\n");
        }
    }

    private interface Writer {
        void writeTo(org.elasticsearch.common.io.stream.StreamOutput out) throws IOException;
    }

    /** The transport version the bytes were written at (Elasticsearch's own values, such as a size, follow it), then the bytes. */
    private static String base64(Writer writer) throws IOException {
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            writer.writeTo(out);
            return out.getTransportVersion().id() + "\n" + Base64.getEncoder().encodeToString(BytesReference.toBytes(out.bytes()));
        }
    }

    private static String pretty(ToXContent content) throws IOException {
        try (XContentBuilder builder = JsonXContent.contentBuilder().prettyPrint()) {
            boolean fragment = content.isFragment();
            if (fragment) {
                builder.startObject();
            }
            content.toXContent(builder, GATEWAY);
            if (fragment) {
                builder.endObject();
            }
            return Strings.toString(builder);
        }
    }

    private static String resource(String format, String name) throws IOException {
        try (InputStream in = StateFormatsTests.class.getResourceAsStream("/state-formats/" + format + "/" + name)) {
            assertNotNull("no state format file " + format + "/" + name, in);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The bytes of a {@code .wire} file, read at the transport version they were written at, as a node reads a peer's. */
    private static StreamInput wire(String format, String name) throws IOException {
        String[] lines = resource(format, name).trim().split("\n");
        assertThat(format + "/" + name + ": a transport version line, then base64", lines.length, equalTo(2));
        StreamInput in = new BytesArray(Base64.getDecoder().decode(lines[1])).streamInput();
        in.setTransportVersion(TransportVersion.fromId(Integer.parseInt(lines[0])));
        return in;
    }

    private static XContentParser parser(String json) throws IOException {
        return XContentHelper.createParserNotCompressed(XContentParserConfiguration.EMPTY, new BytesArray(json), XContentType.JSON);
    }
}

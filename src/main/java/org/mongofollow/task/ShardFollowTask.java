package org.mongofollow.task;

import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.xcontent.ConstructingObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.compat.WireVersions;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.metadata.FollowTaskParams;
import org.mongofollow.security.FollowUser;

import java.io.IOException;

/**
 * The persistent task params of one follower shard: which shard follows what. Stored in the cluster
 * state's persistent tasks, so it holds no credential (the follow names a client or a credential-free
 * connection string). The checkpoint is not here: it lives in the follower index's metadata. {@code user} is who the
 * task writes as ({@link FollowUser}): written to the cluster state's storage, never to an API response.
 */
public record ShardFollowTask(String index, String indexUuid, int shard, FollowParameters follow, FollowUser user) implements FollowTaskParams {

    public static final String NAME = "mongo_follow/shard";

    private static final ParseField INDEX = new ParseField("index");
    private static final ParseField INDEX_UUID = new ParseField("index_uuid");
    private static final ParseField SHARD = new ParseField("shard");
    private static final ParseField FOLLOW = new ParseField("follow");
    static final ParseField SECURITY_HEADERS = new ParseField("security_headers");

    private static final ConstructingObjectParser<ShardFollowTask, Void> PARSER = new ConstructingObjectParser<>(
        NAME,
        a -> new ShardFollowTask((String) a[0], (String) a[1], (Integer) a[2], (FollowParameters) a[3], (FollowUser) a[4])
    );

    static {
        PARSER.declareString(ConstructingObjectParser.constructorArg(), INDEX);
        PARSER.declareString(ConstructingObjectParser.constructorArg(), INDEX_UUID);
        PARSER.declareInt(ConstructingObjectParser.constructorArg(), SHARD);
        PARSER.declareObject(ConstructingObjectParser.constructorArg(), (p, c) -> FollowParameters.fromXContent(p), FOLLOW);
        PARSER.declareObject(ConstructingObjectParser.optionalConstructorArg(), (p, c) -> FollowUser.of(p.mapStrings()), SECURITY_HEADERS);
    }

    public ShardFollowTask {
        user = user == null ? FollowUser.NONE : user;
    }

    /** The persistent task id of a follower shard: one task per shard and index incarnation. */
    public static String taskId(String indexUuid, int shard) {
        return "mongo_follow-" + indexUuid + "-" + shard;
    }

    public String taskId() {
        return taskId(indexUuid, shard);
    }

    public ShardId shardId(org.elasticsearch.index.Index resolved) {
        return new ShardId(resolved, shard);
    }

    public static ShardFollowTask fromXContent(XContentParser parser) {
        return PARSER.apply(parser, null);
    }

    public ShardFollowTask(StreamInput in) throws IOException {
        this(in.readString(), in.readString(), in.readVInt(), new FollowParameters(in), new FollowUser(in));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(index);
        out.writeString(indexUuid);
        out.writeVInt(shard);
        follow.writeTo(out);
        user.writeTo(out);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    public TransportVersion getMinimalSupportedVersion() {
        return WireVersions.minimumCompatible();
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field(INDEX.getPreferredName(), index);
        builder.field(INDEX_UUID.getPreferredName(), indexUuid);
        builder.field(SHARD.getPreferredName(), shard);
        builder.field(FOLLOW.getPreferredName(), follow);
        if (FollowUser.storedIn(params) && user.isNone() == false) {
            builder.field(SECURITY_HEADERS.getPreferredName(), user.storedHeaders());
        }
        return builder.endObject();
    }

    @Override
    public String toString() {
        return Strings.toString(this);
    }
}

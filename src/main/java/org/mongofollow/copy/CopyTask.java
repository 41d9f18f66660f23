package org.mongofollow.copy;

import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
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
 * The persistent task params of a follow's copy (initial copy or resync): one per follower index. It holds no
 * credential and no progress: the copy's t0, ranges and progress live in the follower index's metadata. {@code user}
 * is who the copy writes as ({@link FollowUser}): written to the cluster state's storage, never to an API response.
 */
public record CopyTask(String index, String indexUuid, FollowParameters follow, FollowUser user) implements FollowTaskParams {

    public static final String NAME = "mongo_follow/copy";

    private static final ParseField INDEX = new ParseField("index");
    private static final ParseField INDEX_UUID = new ParseField("index_uuid");
    private static final ParseField FOLLOW = new ParseField("follow");
    private static final ParseField SECURITY_HEADERS = new ParseField("security_headers");

    private static final ConstructingObjectParser<CopyTask, Void> PARSER = new ConstructingObjectParser<>(
        NAME,
        a -> new CopyTask((String) a[0], (String) a[1], (FollowParameters) a[2], (FollowUser) a[3])
    );

    static {
        PARSER.declareString(ConstructingObjectParser.constructorArg(), INDEX);
        PARSER.declareString(ConstructingObjectParser.constructorArg(), INDEX_UUID);
        PARSER.declareObject(ConstructingObjectParser.constructorArg(), (p, c) -> FollowParameters.fromXContent(p), FOLLOW);
        PARSER.declareObject(ConstructingObjectParser.optionalConstructorArg(), (p, c) -> FollowUser.of(p.mapStrings()), SECURITY_HEADERS);
    }

    public CopyTask {
        user = user == null ? FollowUser.NONE : user;
    }

    /** The persistent task id of a follower index's copy. */
    public static String taskId(String indexUuid) {
        return "mongo_follow_copy-" + indexUuid;
    }

    public String taskId() {
        return taskId(indexUuid);
    }

    public static CopyTask fromXContent(XContentParser parser) {
        return PARSER.apply(parser, null);
    }

    public CopyTask(StreamInput in) throws IOException {
        this(in.readString(), in.readString(), new FollowParameters(in), new FollowUser(in));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(index);
        out.writeString(indexUuid);
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

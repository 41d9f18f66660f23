package org.mongofollow.security;

import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.NamedWriteableAwareStreamInput;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.Test;
import org.mongofollow.copy.CopyTask;
import org.mongofollow.metadata.FollowParameters;
import org.mongofollow.task.ShardFollowTask;

import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * A follow keeps the caller's security headers and nothing else, carries them between nodes and across a full restart
 * (the cluster state's own storage), and never renders them where users look (API output, toString).
 */
public class FollowUserTests {

    private static final String AUTHENTICATION = "_xpack_security_authentication";
    private static final String SECRET_VALUE = "c2VjcmV0LWF1dGhlbnRpY2F0aW9uLWJ5dGVz";

    @Test
    public void keepsOnlyTheSecurityHeaders() {
        ThreadContext context = new ThreadContext(Settings.EMPTY);
        context.putHeader(AUTHENTICATION, SECRET_VALUE);
        context.putHeader("X-Opaque-Id", "my-request");
        context.putHeader("Authorization", "Basic dXNlcjpwYXNzd29yZA==");
        FollowUser user = FollowUser.current(context);
        assertEquals(Map.of(AUTHENTICATION, SECRET_VALUE), user.storedHeaders());
        assertFalse(user.isNone());
        assertFalse(user.toString(), user.toString().contains(SECRET_VALUE));
    }

    @Test
    public void securityOffMeansNoUser() {
        assertTrue(FollowUser.current(new ThreadContext(Settings.EMPTY)).isNone());
        assertTrue(FollowUser.of(Map.of("X-Opaque-Id", "x")).isNone());
    }

    @Test
    public void taskParamsShowTheHeadersOnlyToTheClusterStatesStorage() throws Exception {
        FollowUser user = FollowUser.of(Map.of(AUTHENTICATION, SECRET_VALUE));
        FollowParameters follow = new FollowParameters.Builder().connection("mongodb://127.0.0.1:27017/?replicaSet=rs0")
            .database("shop")
            .collection("orders")
            .build();
        ShardFollowTask shard = new ShardFollowTask("orders", "uuid", 1, follow, user);
        CopyTask copy = new CopyTask("orders", "uuid", follow, user);

        for (ToXContent params : List.<ToXContent>of(shard, copy)) {
            String api = Strings.toString(params);
            assertFalse(api, api.contains(SECRET_VALUE));
            assertFalse(api, api.contains("security_headers"));
            String apiExplicit = render(params, Metadata.CONTEXT_MODE_API);
            assertFalse(apiExplicit, apiExplicit.contains(SECRET_VALUE));
            for (String stored : List.of(Metadata.CONTEXT_MODE_GATEWAY, Metadata.CONTEXT_MODE_SNAPSHOT)) {
                assertTrue(render(params, stored).contains(SECRET_VALUE));
            }
        }
        assertFalse(shard.toString(), shard.toString().contains(SECRET_VALUE));

        // a full restart reads the stored form back; a node receives the params with the user
        String stored = render(shard, Metadata.CONTEXT_MODE_GATEWAY);
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, stored)) {
            assertEquals(shard, ShardFollowTask.fromXContent(parser));
        }
        String storedCopy = render(copy, Metadata.CONTEXT_MODE_GATEWAY);
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, storedCopy)) {
            assertEquals(copy, CopyTask.fromXContent(parser));
        }
        BytesStreamOutput out = new BytesStreamOutput();
        shard.writeTo(out);
        assertEquals(shard, new ShardFollowTask(new NamedWriteableAwareStreamInput(out.bytes().streamInput(), new NamedWriteableRegistry(List.of()))));

        // params stored before the follow kept a user (or with security off) read back with none
        String withoutUser = render(new ShardFollowTask("orders", "uuid", 1, follow, FollowUser.NONE), Metadata.CONTEXT_MODE_GATEWAY);
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, withoutUser)) {
            assertTrue(ShardFollowTask.fromXContent(parser).user().isNone());
        }
    }

    private static String render(ToXContent value, String contextMode) throws Exception {
        XContentBuilder builder = JsonXContent.contentBuilder();
        value.toXContent(builder, new ToXContent.MapParams(Map.of(Metadata.CONTEXT_MODE_PARAM, contextMode)));
        return Strings.toString(builder);
    }
}

package org.mongofollow.autofollow;

import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.NamedWriteableAwareStreamInput;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.Test;
import org.mongofollow.action.PutFollowAction;
import org.mongofollow.autofollow.AutoFollowPlan.Decision;
import org.mongofollow.autofollow.AutoFollowPlan.Kind;
import org.mongofollow.security.FollowUser;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** A pattern's body, matching, follower index names and plan, and how its metadata travels and is stored. */
public class AutoFollowPatternTests {

    private static final String CONNECTION = "mongodb://127.0.0.1:27017/?replicaSet=rs0";
    private static final String SECRET = "c2VjcmV0LWF1dGhlbnRpY2F0aW9u";

    private static Map<String, Object> body(Object... fields) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("connection", CONNECTION);
        for (int i = 0; i < fields.length; i += 2) {
            body.put((String) fields[i], fields[i + 1]);
        }
        return body;
    }

    private static AutoFollowPattern pattern(Object... fields) {
        return AutoFollowPattern.parse(body(fields), FollowUser.NONE);
    }

    private static String error(Object... fields) {
        return assertThrows(IllegalArgumentException.class, () -> pattern(fields)).getMessage();
    }

    @Test
    public void defaultsFollowEveryCollectionIntoDatabaseDotCollection() {
        AutoFollowPattern p = pattern("database", "shop");
        assertEquals(List.of("*"), p.collections());
        assertEquals(List.of(), p.excludeCollections());
        assertEquals("shop.orders", p.followIndex("shop", "orders"));
        assertTrue(p.active());
        assertTrue(p.followed().isEmpty());
        assertTrue(p.matchesDatabase("shop"));
        assertFalse(p.matchesDatabase("shop2"));
        assertTrue(p.matchesCollection("orders"));
        assertFalse("system collections are never followed", p.matchesCollection("system.profile"));
    }

    @Test
    public void patternsIncludeAndExclude() {
        AutoFollowPattern p = pattern(
            "database", "shop*",
            "collections", List.of("orders*", "users"),
            "exclude_collections", "orders_tmp*",
            "follow_index_pattern", "mongo-{{database}}-{{collection}}"
        );
        assertTrue(p.matchesDatabase("shop_eu"));
        assertFalse("MongoDB's own databases are never followed", pattern("database", "*").matchesDatabase("admin"));
        assertFalse(pattern("database", "*").matchesDatabase("local"));
        assertFalse(pattern("database", "*").matchesDatabase("config"));
        assertTrue(p.matchesCollection("orders_2024"));
        assertTrue(p.matchesCollection("users"));
        assertFalse(p.matchesCollection("users_old"));
        assertFalse(p.matchesCollection("orders_tmp_1"));
        assertEquals("mongo-shop_eu-orders", p.followIndex("shop_eu", "orders"));
    }

    @Test
    public void badBodiesAreRefusedWithTheReason() {
        assertTrue(error().contains("[database] is required"));
        assertTrue(error("database", "shop", "collection", "orders").contains("use [collections]"));
        assertTrue(error("database", "shop", "follow_index_pattern", "{{db}}-{{collection}}").contains("got {{db}}"));
        assertTrue(error("database", "shop", "follow_index_pattern", "all").contains("must contain {{collection}}"));
        assertTrue(error("database", "shop*", "follow_index_pattern", "x-{{collection}}").contains("must contain {{database}}"));
        assertTrue(error("database", "local").contains("internal MongoDB database"));
        assertTrue(error("database", "shop", "collections", List.of()).contains("at least one"));
        assertTrue(error("database", "shop", "collections", List.of(3)).contains("collection name or pattern"));
        // the follow's own fields are checked as PUT /{index}/_mongo_follow checks them
        assertTrue(error("database", "shop", "initial_copy_batch_size", 0).contains("[initial_copy_batch_size]"));
        assertTrue(error("database", "shop", "on_history_lost", "ignore").contains("[on_history_lost]"));
        Map<String, Object> withCredentials = body("database", "shop");
        withCredentials.put("connection", "mongodb://user:" + SECRET + "@127.0.0.1:27017/?replicaSet=rs0");
        String message = assertThrows(IllegalArgumentException.class, () -> AutoFollowPattern.parse(withCredentials, FollowUser.NONE)).getMessage();
        assertFalse(message, message.contains(SECRET));
        assertThrows(RuntimeException.class, () -> pattern("database", "shop", "no_such_field", true));
        // a JSON null is refused as PUT /{index}/_mongo_follow refuses it (a 400), not a server error
        assertThrows(org.elasticsearch.xcontent.XContentParseException.class, () -> pattern("database", "shop", "pipeline", null));
        assertThrows(IllegalArgumentException.class, () -> PatternRequest.validateName("_stats"));
        assertThrows(IllegalArgumentException.class, () -> PatternRequest.validateName("a,b"));
        assertThrows(IllegalArgumentException.class, () -> PatternRequest.validateName(""));
        PatternRequest.validateName("shop-eu.2");
    }

    @Test
    public void eachFollowIsThePatternsBodyForItsCollection() {
        AutoFollowPattern p = pattern(
            "database", "shop",
            "pipeline", "shape",
            "initial_copy_batch_size", 500,
            "settings", Map.of("index.number_of_shards", 2)
        );
        PutFollowAction.Request request = p.followRequest("shop.orders", "shop", "orders");
        assertEquals("shop.orders", request.index());
        assertEquals("shop.orders", request.follow().namespace());
        assertEquals("shape", request.follow().pipeline());
        assertEquals(500, request.follow().copyBatchSize());
        assertEquals(CONNECTION, request.follow().endpoint().connection());
    }

    private record Cluster(Set<String> indices, Map<String, String> follows) implements AutoFollowPlan.Indices {
        @Override
        public boolean exists(String index) {
            return indices.contains(index) || follows.containsKey(index);
        }

        @Override
        public String followedNamespace(String index) {
            return follows.get(index);
        }
    }

    @Test
    public void thePlanFollowsNewCollectionsAndSkipsWhatItCannot() {
        AutoFollowPattern p = pattern("database", "shop*", "follow_index_pattern", "{{database}}-{{collection}}", "exclude_collections", "tmp*")
            .withFollowed(new TreeSet<>(Set.of("shop.unfollowed")));
        Map<String, List<String>> listing = new LinkedHashMap<>();
        listing.put("shop", List.of("orders", "users", "plain", "taken", "Upper", "unfollowed", "tmp1", "system.views"));
        listing.put("shop-x", List.of("y"));
        listing.put("other", List.of("orders"));
        Cluster cluster = new Cluster(Set.of("shop-plain"), Map.of("shop-users", "shop.users", "shop-taken", "elsewhere.taken"));
        Map<String, Decision> decisions = new LinkedHashMap<>();
        for (Decision d : AutoFollowPlan.plan(p, listing, cluster)) {
            decisions.put(d.namespace(), d);
        }
        assertEquals(Set.of("shop.orders", "shop.users", "shop.plain", "shop.taken", "shop.Upper", "shop.unfollowed", "shop-x.y"),
            decisions.keySet());
        assertEquals(Kind.FOLLOW, decisions.get("shop.orders").kind());
        assertEquals("shop-orders", decisions.get("shop.orders").index());
        assertNull(decisions.get("shop.orders").reason());
        assertEquals(Kind.FOLLOWED, decisions.get("shop.users").kind());
        assertEquals(Kind.FOLLOWED, decisions.get("shop.unfollowed").kind());
        assertEquals(Kind.SKIP, decisions.get("shop.plain").kind());
        assertEquals("index [shop-plain] exists", decisions.get("shop.plain").reason());
        assertEquals("index [shop-taken] exists and follows [elsewhere.taken]", decisions.get("shop.taken").reason());
        assertEquals(Kind.SKIP, decisions.get("shop.Upper").kind());
        assertTrue(decisions.get("shop.Upper").reason(), decisions.get("shop.Upper").reason().contains("must be lowercase"));
        // shop-x.y and shop.x-y would both be shop-x-y: only the first is followed
        Map<String, List<String>> clash = new LinkedHashMap<>();
        clash.put("shop", List.of("x-y"));
        clash.put("shop-x", List.of("y"));
        List<Decision> clashing = AutoFollowPlan.plan(p, clash, new Cluster(Set.of(), Map.of()));
        assertEquals(Kind.FOLLOW, clashing.get(0).kind());
        assertEquals(Kind.SKIP, clashing.get(1).kind());
        assertEquals("index [shop-x-y] is the follower index of [shop.x-y]", clashing.get(1).reason());
    }

    @Test
    public void theMetadataTravelsAndIsStoredWithTheUserButShownWithout() throws Exception {
        FollowUser user = FollowUser.of(Map.of("_xpack_security_authentication", SECRET));
        AutoFollowPattern p = AutoFollowPattern.parse(body("database", "shop", "settings", Map.of("index.number_of_shards", 1)), user)
            .withFollowed(new TreeSet<>(Set.of("shop.orders")));
        AutoFollowMetadata metadata = new AutoFollowMetadata(Map.of("shop", p, "paused", p.withActive(false)));

        BytesStreamOutput out = new BytesStreamOutput();
        metadata.writeTo(out);
        AutoFollowMetadata read = new AutoFollowMetadata(new NamedWriteableAwareStreamInput(out.bytes().streamInput(), new NamedWriteableRegistry(List.of())));
        assertEquals(metadata, read);
        assertEquals(user, read.patterns().get("shop").user());

        String api = render(metadata, Metadata.CONTEXT_MODE_API);
        assertFalse(api, api.contains(SECRET));
        for (String storedMode : List.of(Metadata.CONTEXT_MODE_GATEWAY, Metadata.CONTEXT_MODE_SNAPSHOT)) {
            String stored = render(metadata, storedMode);
            assertTrue(stored, stored.contains(SECRET));
            try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, stored)) {
                AutoFollowMetadata parsed = AutoFollowMetadata.fromXContent(parser);
                assertEquals(metadata.patterns().keySet(), parsed.patterns().keySet());
                AutoFollowPattern back = parsed.patterns().get("shop");
                assertEquals(user, back.user());
                assertEquals(p.followed(), back.followed());
                assertFalse(parsed.patterns().get("paused").active());
                assertEquals(p.followRequest("i", "shop", "c").follow(), back.followRequest("i", "shop", "c").follow());
            }
        }
        String get = Strings.toString(new GetAutoFollowPatternsAction.Response(metadata.patterns()));
        assertFalse(get, get.contains(SECRET));
        assertTrue(get, get.contains("\"index.number_of_shards\":1"));
        BytesStreamOutput response = new BytesStreamOutput();
        new GetAutoFollowPatternsAction.Response(metadata.patterns()).writeTo(response);
        assertFalse("the GET response carries no headers on the wire", response.bytes().utf8ToString().contains(SECRET));
        assertFalse(p.toString().contains(SECRET));
    }

    private static String render(AutoFollowMetadata metadata, String mode) throws Exception {
        XContentBuilder builder = JsonXContent.contentBuilder().startObject();
        ToXContent.Params params = new ToXContent.MapParams(Map.of(Metadata.CONTEXT_MODE_PARAM, mode));
        var chunks = metadata.toXContentChunked(params);
        while (chunks.hasNext()) {
            chunks.next().toXContent(builder, params);
        }
        return Strings.toString(builder.endObject());
    }
}

package org.mongofollow.it;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.test.GraalVMThreadsFilter;
import org.elasticsearch.test.JnaCleanerThreadsFilter;
import org.elasticsearch.test.NettyGlobalThreadsFilter;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.mongofollow.MongoFollowPlugin;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.apply.FieldSelection;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.compat.TestApis;
import org.mongofollow.embedded.EmbeddedMongo;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.equalTo;

/**
 * An internal cluster with the plugin and real HTTP, following the project's embedded MongoDB (a real
 * wire-protocol replica-set primary writing a real-format oplog) that lives for the whole suite.
 */
@ThreadLeakFilters(
    filters = { GraalVMThreadsFilter.class, NettyGlobalThreadsFilter.class, JnaCleanerThreadsFilter.class, MongoThreadsFilter.class }
)
public abstract class MongoFollowIntegTestCase extends ESIntegTestCase {

    protected static EmbeddedMongo mongo;
    protected static MongoClient mongoClient;

    /** How many members the suite's embedded replica set has (1 without this annotation). */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.TYPE)
    protected @interface MongoReplicaSet {
        int members();
    }

    /**
     * Sets the suite's embedded MongoDB's wall clock to this instant (ISO-8601) at its start; it runs on from there, and a
     * test may move it forward ({@link #mongoClock}).
     */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.TYPE)
    protected @interface MongoClockAt {
        String value();
    }

    /** The embedded MongoDB's wall clock of a suite with {@link MongoClockAt}: the system's, moved by an offset. */
    protected static final class MovableClock extends java.time.Clock {
        private volatile java.time.Duration offset;

        MovableClock(java.time.Instant now) {
            moveTo(now);
        }

        /** From now on the clock reads {@code instant}, and runs on from there. */
        public void moveTo(java.time.Instant instant) {
            offset = java.time.Duration.between(java.time.Instant.now(), instant);
        }

        @Override
        public java.time.Instant instant() {
            return java.time.Instant.now().plus(offset);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    /** The embedded MongoDB's clock in a suite with {@link MongoClockAt}, else null. */
    protected static MovableClock mongoClock;

    @BeforeClass
    public static void startMongo() {
        MongoReplicaSet replicaSet = getTestClass().getAnnotation(MongoReplicaSet.class);
        int members = replicaSet == null ? 1 : replicaSet.members();
        EmbeddedMongo.Options options = EmbeddedMongo.options().noopIntervalMillis(200).members(members);
        MongoClockAt clockAt = getTestClass().getAnnotation(MongoClockAt.class);
        mongoClock = null;
        if (clockAt != null) {
            mongoClock = new MovableClock(java.time.Instant.parse(clockAt.value()));
            options.clock(mongoClock);
        }
        mongo = EmbeddedMongo.start(options);
        mongoClient = MongoClients.create(
            com.mongodb.MongoClientSettings.builder()
                .applyConnectionString(new com.mongodb.ConnectionString(mongo.connectionString()))
                .applyToServerSettings(b -> b.heartbeatFrequency(500, TimeUnit.MILLISECONDS))
                .build()
        );
    }

    @AfterClass
    public static void stopMongo() {
        if (mongoClient != null) {
            mongoClient.close();
            mongoClient = null;
        }
        if (mongo != null) {
            mongo.close();
            mongo = null;
        }
    }

    /**
     * An index setting (JSON) for follower indices whose shard copies a test compares with {@code assertSeqNos}: replicas
     * learn the global checkpoint by a sync after each write and a periodic one (30 s by default, which a busy machine
     * can make the assertion wait for); a short period keeps it from timing out.
     */
    protected static final String QUICK_GLOBAL_CHECKPOINT_SYNC = "\"index.global_checkpoint_sync.interval\": \"100ms\"";

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        // InternalSettingsPlugin: tests may shorten index.global_checkpoint_sync.interval (see QUICK_GLOBAL_CHECKPOINT_SYNC)
        return List.of(MongoFollowPlugin.class, Netty4Plugin.class, org.elasticsearch.test.InternalSettingsPlugin.class);
    }

    /** The embedded MongoDB listens on the loopback: follows may connect there (mongo_follow.connection.allowlist). */
    @Override
    protected org.elasticsearch.common.settings.Settings nodeSettings(int nodeOrdinal, org.elasticsearch.common.settings.Settings otherSettings) {
        return org.elasticsearch.common.settings.Settings.builder()
            .put(super.nodeSettings(nodeOrdinal, otherSettings))
            .putList(org.mongofollow.security.ConnectionAllowlist.SETTING.getKey(), "127.0.0.1:*", "localhost:*")
            .build();
    }

    @Override
    protected boolean addMockHttpTransport() {
        return false;
    }

    protected MongoCollection<BsonDocument> collection(String database, String name) {
        return mongoClient.getDatabase(database).getCollection(name, BsonDocument.class);
    }

    /** Starts a follow over HTTP (without a copy); returns the response body. */
    protected Map<String, Object> putFollow(String index, String database, String collection, String extraBody) throws IOException {
        return call(followRequest(index, mongo.connectionString(), database, collection, "\"initial_copy\": false" + (extraBody == null ? "" : ", " + extraBody)));
    }

    /** {@code PUT /{index}/_mongo_follow} of {@code database.collection} through {@code connection}; {@code fields}: more body fields. */
    protected static Request followRequest(String index, String connection, String database, String collection, String fields) {
        Request put = new Request("PUT", "/" + index + "/_mongo_follow");
        put.setJsonEntity(
            "{\"connection\": \"" + connection + "\", \"database\": \"" + database + "\", \"collection\": \"" + collection + "\""
                + (fields == null || fields.isEmpty() ? "" : ", " + fields) + "}"
        );
        return put;
    }

    protected static Map<String, Object> call(Request request) throws IOException {
        Response response = getRestClient().performRequest(request);
        try (InputStream in = response.getEntity().getContent()) {
            return XContentHelper.convertToMap(XContentType.JSON.xContent(), in, true);
        }
    }

    protected static Map<String, Object> call(String method, String path) throws IOException {
        return call(new Request(method, path));
    }

    /** The collection's documents as the follower must hold them: {@code _id} mapping and BSON to JSON mapping. */
    protected Map<String, Map<String, Object>> expectedDocuments(MongoCollection<BsonDocument> collection) throws IOException {
        return expectedDocuments(collection, FieldSelection.ALL);
    }

    /** The collection's documents as a follower keeping only {@code fields} must hold them. */
    protected Map<String, Map<String, Object>> expectedDocuments(MongoCollection<BsonDocument> collection, FieldSelection fields)
        throws IOException {
        Map<String, Map<String, Object>> expected = new HashMap<>();
        for (BsonDocument document : collection.find()) {
            expected.put(DocumentIds.toElasticsearchId(document.get("_id")), normalize(BsonToJson.toSource(fields.select(document))));
        }
        return expected;
    }

    /** Every document of the index, by {@code _id}. */
    protected Map<String, Map<String, Object>> indexedDocuments(String index) throws IOException {
        indicesAdmin().prepareRefresh(index).get();
        Map<String, Map<String, Object>> documents = new HashMap<>();
        assertResponse(prepareSearch(index).setSize(10_000).setTrackTotalHits(true), (SearchResponse response) -> {
            assertTrue("more documents than one page holds", TestApis.totalHits(response.getHits()) <= 10_000);
            for (SearchHit hit : response.getHits().getHits()) {
                documents.put(hit.getId(), hit.getSourceAsMap());
            }
        });
        Map<String, Map<String, Object>> normalized = new HashMap<>();
        for (var entry : documents.entrySet()) {
            normalized.put(entry.getKey(), normalize(entry.getValue()));
        }
        return normalized;
    }

    /** Through JSON and back, so both sides compare with the same number types. */
    protected static Map<String, Object> normalize(Map<String, Object> source) throws IOException {
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.map(source);
            return XContentHelper.convertToMap(XContentType.JSON.xContent(), Strings.toString(builder), true);
        }
    }

    /** Waits until the index holds exactly the collection's documents. */
    protected void assertConverges(String index, MongoCollection<BsonDocument> collection) throws Exception {
        assertConverges(index, collection, FieldSelection.ALL);
    }

    /** Waits until the index holds exactly the selected part of the collection's documents. */
    protected void assertConverges(String index, MongoCollection<BsonDocument> collection, FieldSelection fields) throws Exception {
        Map<String, Map<String, Object>> expected = expectedDocuments(collection, fields);
        assertConverges(index, () -> expected);
    }

    /** Waits until the index holds exactly the {@code expected} documents, by {@code _id} (asked again at each look). */
    protected void assertConverges(String index, org.elasticsearch.core.CheckedSupplier<Map<String, Map<String, Object>>, IOException> documents)
        throws Exception {
        assertBusy(() -> {
            Map<String, Map<String, Object>> expected = documents.get();
            Map<String, Map<String, Object>> actual = indexedDocuments(index);
            if (actual.equals(expected) == false) {
                Map<String, Object> diff = new HashMap<>();
                for (var e : expected.entrySet()) {
                    if (e.getValue().equals(actual.get(e.getKey())) == false) {
                        diff.put(e.getKey(), "expected " + e.getValue() + " but was " + actual.get(e.getKey()));
                    }
                }
                for (String id : actual.keySet()) {
                    if (expected.containsKey(id) == false) {
                        diff.put(id, "extra document " + actual.get(id));
                    }
                }
                String stats;
                try {
                    stats = String.valueOf(call("GET", "/" + index + "/_mongo_follow/_stats"));
                } catch (IOException e) {
                    stats = "unavailable (" + e + ")"; // e.g. the test's REST client still names nodes that were replaced
                }
                fail(diff.size() + " documents differ, e.g. " + diff.entrySet().stream().limit(3).toList() + "; follow stats: " + stats);
            }
            assertThat(actual.size(), equalTo(expected.size()));
        }, 60, TimeUnit.SECONDS);
    }

    protected static TimeValue timeout() {
        return TimeValue.timeValueSeconds(60);
    }

    /** The shard entries of one follower index in {@code GET /{index}/_mongo_follow/_stats}. */
    protected static List<Map<String, Object>> shardStats(String index) throws IOException {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> indices = (List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_stats").get("indices");
        assertThat(indices.size(), equalTo(1));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> shards = (List<Map<String, Object>>) indices.get(0).get("shards");
        return shards;
    }

    /** The index's entry in {@code GET /{index}/_mongo_follow/_info}. */
    protected static Map<String, Object> followerInfo(String index) throws IOException {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> followers = (List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_info").get("follower_indices");
        assertThat(followers.size(), equalTo(1));
        return followers.get(0);
    }

    /** The body of an error response, as text. */
    protected static String body(org.elasticsearch.client.ResponseException e) throws IOException {
        return new String(e.getResponse().getEntity().getContent().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The state of the index's initial copy or resync in {@code _stats} ({@code done} once it ended). */
    @SuppressWarnings("unchecked")
    protected static String copyState(String index) throws IOException {
        List<Map<String, Object>> indices = (List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_stats").get("indices");
        return String.valueOf(((Map<String, Object>) indices.get(0).get("initial_copy")).get("state"));
    }

    protected static String infoStatus(String index) throws IOException {
        return (String) followerInfo(index).get("status");
    }

    /** The name of the node whose persistent task follows the given shard. */
    protected String nodeRunningShardTask(String index, int shard) {
        var state = clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState();
        var tasks = org.elasticsearch.persistent.PersistentTasksCustomMetadata.getPersistentTasksCustomMetadata(state);
        String uuid = ClusterMetadata.index(state, index).getIndexUUID();
        var task = tasks.getTask(org.mongofollow.task.ShardFollowTask.taskId(uuid, shard));
        return state.nodes().get(task.getExecutorNode()).getName();
    }

    /**
     * For a MockTransportService request-handling behavior: handles {@code request} on a thread of its own once
     * {@code release} opens, so that the test decides when it lands.
     */
    protected static <R extends org.elasticsearch.transport.TransportRequest> void handleOnceReleased(
        CountDownLatch release,
        org.elasticsearch.transport.TransportRequestHandler<R> handler,
        R request,
        org.elasticsearch.transport.TransportChannel channel,
        org.elasticsearch.tasks.Task task,
        String threadName
    ) {
        new Thread(() -> {
            try {
                release.await();
                handler.messageReceived(request, channel, task);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }, threadName).start();
    }
}

package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.task.CheckpointPublisher;
import org.mongofollow.memory.FollowBreaker;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/** How a follow behaves towards its source: a quiet collection, a lagging majority, an outage. */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 1, numClientNodes = 0)
public class FollowSourceIT extends MongoFollowIntegTestCase {

    private static final String ONE_SHARD = "\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0}";

    public void testQuietCollectionCheckpointMovesWithTheMajorityCommitPoint() throws Exception {
        updateClusterSettings(Settings.builder().put(CheckpointPublisher.IDLE_INTERVAL.getKey(), "1s"));
        try {
            Map<String, Object> put = putFollow("quiet", "busy", "quiet", ONE_SHARD + ", \"checkpoint_interval\": \"100ms\"");
            OplogPosition start = OplogPosition.parse((String) put.get("start_position"));
            assertThat(storedCheckpoint("quiet"), equalTo(start));
            OplogPosition head = writeElsewhere("busy");
            assertBusy(() -> {
                assertThat(checkpoint("quiet"), greaterThanOrEqualTo(head));
                assertThat(storedCheckpoint("quiet"), greaterThanOrEqualTo(head));
            });
            assertThat(head, greaterThan(start));
            assertThat(indexedDocuments("quiet").size(), equalTo(0));
            Map<String, Object> shard = onlyShardStats("quiet");
            assertThat(((Number) shard.get("operations_written")).longValue(), equalTo(0L));
        } finally {
            updateClusterSettings(Settings.builder().putNull(CheckpointPublisher.IDLE_INTERVAL.getKey()));
        }
    }

    /**
     * A quiet follow costs no cluster-state update while its live checkpoint moves with the commit point (within the
     * idle interval), a busy one stores its checkpoint within checkpoint_interval, and a pause stores the last one.
     */
    public void testQuietFollowStoresItsCheckpointOnlyAfterTheIdleInterval() throws Exception {
        updateClusterSettings(Settings.builder().put(CheckpointPublisher.IDLE_INTERVAL.getKey(), "1h"));
        try {
            Map<String, Object> put = putFollow("still", "still", "items", ONE_SHARD + ", \"checkpoint_interval\": \"100ms\"");
            OplogPosition start = OplogPosition.parse((String) put.get("start_position"));
            OplogPosition head = writeElsewhere("still");
            assertBusy(() -> assertThat(checkpoint("still"), greaterThanOrEqualTo(head)));
            long version = ClusterMetadata.index(clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState(), "still").getVersion();
            OplogPosition later = writeElsewhere("still");
            assertBusy(() -> assertThat(checkpoint("still"), greaterThanOrEqualTo(later)));
            assertThat("nothing stored while the follow is idle", storedCheckpoint("still"), equalTo(start));
            assertThat(ClusterMetadata.index(clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState(), "still").getVersion(), equalTo(version));
            // busy: an applied operation stores the checkpoint past it within checkpoint_interval
            MongoCollection<BsonDocument> items = collection("still", "items");
            items.insertOne(new BsonDocument("_id", new BsonInt32(1)));
            OplogPosition written = OplogPosition.of(mongo.majorityCommitPoint());
            assertBusy(() -> assertThat(storedCheckpoint("still"), greaterThanOrEqualTo(written)));
            // idle again, then paused: the last checkpoint is stored at once
            OplogPosition last = writeElsewhere("still");
            assertBusy(() -> assertThat(checkpoint("still"), greaterThanOrEqualTo(last)));
            assertThat(storedCheckpoint("still"), lessThan(last));
            call("POST", "/still/_mongo_follow/_pause");
            assertBusy(() -> assertThat(storedCheckpoint("still"), greaterThanOrEqualTo(last)));
        } finally {
            updateClusterSettings(Settings.builder().putNull(CheckpointPublisher.IDLE_INTERVAL.getKey()));
        }
    }

    /**
     * Under a node memory budget far smaller than the backlog (the mongo_follow breaker at 64kb, 400 documents of 1 KB),
     * the follow reads less at a time and retries, ends exact, and gives every byte back when paused.
     */
    public void testASmallMemoryBudgetSlowsTheFollowDownAndLosesNothing() throws Exception {
        String limit = "breaker." + FollowBreaker.NAME + ".limit";
        MongoCollection<BsonDocument> items = collection("tight", "items");
        putFollow("tight", "tight", "items", ONE_SHARD);
        call("POST", "/tight/_mongo_follow/_pause");
        for (int i = 0; i < 400; i++) {
            items.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("pad", new BsonString("p" + i + "x".repeat(1000))));
        }
        assertBusy(() -> assertThat("a paused follow holds nothing", breakerStats().get("estimated_size_in_bytes"), equalTo(0L)));
        long trippedBefore = breakerStats().get("tripped");
        updateClusterSettings(Settings.builder().put(limit, "64kb"));
        try {
            call("POST", "/tight/_mongo_follow/_resume");
            assertConverges("tight", items);
            assertThat("the budget was spent at times", breakerStats().get("tripped"), greaterThan(trippedBefore));
            call("POST", "/tight/_mongo_follow/_pause");
            assertBusy(() -> assertThat("nothing left charged", breakerStats().get("estimated_size_in_bytes"), equalTo(0L)));
        } finally {
            updateClusterSettings(Settings.builder().putNull(limit));
        }
    }

    /**
     * Updates of forty different 64 KB documents, read in one batch, under a 512 KB breaker: the primary writes the
     * documents they rewrite a few at a time (the rest of each request deferred to the next), and the follow ends exact.
     */
    public void testUpdatesOfManyLargeDocumentsAreWrittenInPartsUnderASmallBudget() throws Exception {
        String limit = "breaker." + FollowBreaker.NAME + ".limit";
        MongoCollection<BsonDocument> items = collection("rewrite", "items");
        putFollow("rewrite", "rewrite", "items", ONE_SHARD);
        String pad = "p".repeat(64 * 1024);
        for (int i = 0; i < 40; i++) {
            items.insertOne(new BsonDocument("_id", new BsonInt32(i)).append("n", new BsonInt32(0)).append("pad", new BsonString(pad)));
        }
        assertConverges("rewrite", items);
        call("POST", "/rewrite/_mongo_follow/_pause");
        for (int i = 0; i < 40; i++) {
            items.updateOne(com.mongodb.client.model.Filters.eq("_id", i), com.mongodb.client.model.Updates.set("n", i));
            if (i % 10 == 0) {
                items.updateOne(com.mongodb.client.model.Filters.eq("_id", i), com.mongodb.client.model.Updates.set("m", i));
            }
        }
        items.deleteOne(com.mongodb.client.model.Filters.eq("_id", 5));
        assertBusy(() -> assertThat("a paused follow holds nothing", breakerStats().get("estimated_size_in_bytes"), equalTo(0L)));
        long trippedBefore = breakerStats().get("tripped");
        updateClusterSettings(Settings.builder().put(limit, "512kb"));
        try {
            call("POST", "/rewrite/_mongo_follow/_resume");
            assertConverges("rewrite", items);
            assertThat("the primary found the breaker full", breakerStats().get("tripped"), greaterThan(trippedBefore));
            call("POST", "/rewrite/_mongo_follow/_pause");
            assertBusy(() -> assertThat("nothing left charged", breakerStats().get("estimated_size_in_bytes"), equalTo(0L)));
        } finally {
            updateClusterSettings(Settings.builder().putNull(limit));
        }
    }

    /** The mongo_follow breaker's figures, summed over the nodes. */
    @SuppressWarnings("unchecked")
    private Map<String, Long> breakerStats() throws java.io.IOException {
        Map<String, Object> nodes = (Map<String, Object>) call("GET", "/_nodes/stats/breaker").get("nodes");
        Map<String, Long> sums = new java.util.HashMap<>(Map.of("tripped", 0L, "estimated_size_in_bytes", 0L));
        for (Object node : nodes.values()) {
            Map<String, Object> breakers = (Map<String, Object>) ((Map<String, Object>) node).get("breakers");
            Map<String, Number> mine = (Map<String, Number>) breakers.get(FollowBreaker.NAME);
            assertNotNull("every node has the [" + FollowBreaker.NAME + "] breaker: " + breakers.keySet(), mine);
            sums.replaceAll((key, sum) -> sum + mine.get(key).longValue());
        }
        return sums;
    }

    /** 200 inserts into another collection of {@code database}; returns the majority commit point after them. */
    private OplogPosition writeElsewhere(String database) {
        MongoCollection<BsonDocument> other = collection(database, "other");
        long base = other.countDocuments();
        for (int i = 0; i < 200; i++) {
            other.insertOne(new BsonDocument("_id", new BsonInt32((int) base + i)));
        }
        return OplogPosition.of(mongo.majorityCommitPoint());
    }

    public void testNothingPastTheMajorityCommitPointIsApplied() throws Exception {
        MongoCollection<BsonDocument> items = collection("lagging", "items");
        putFollow("lagging", "lagging", "items", ONE_SHARD + ", \"read_poll_timeout\": \"1s\"");
        items.insertOne(new BsonDocument("_id", new BsonInt32(1)).append("state", new BsonString("committed")));
        assertConverges("lagging", items);

        mongo.holdMajorityCommitPoint();
        try {
            OplogPosition held = OplogPosition.of(mongo.majorityCommitPoint());
            List<BsonDocument> unconfirmed = new ArrayList<>();
            for (int i = 2; i <= 20; i++) {
                unconfirmed.add(new BsonDocument("_id", new BsonInt32(i)).append("state", new BsonString("not yet majority")));
            }
            items.insertMany(unconfirmed);
            long readsBefore = ((Number) onlyShardStats("lagging").get("successful_read_requests")).longValue();
            // let the follower read the head several times while the majority is held back
            assertBusy(() -> assertThat(((Number) onlyShardStats("lagging").get("successful_read_requests")).longValue(), greaterThan(readsBefore + 2)));
            assertThat(checkpoint("lagging"), lessThanOrEqualTo(held));
            assertThat(indexedDocuments("lagging").keySet(), equalTo(java.util.Set.of("1")));
        } finally {
            mongo.releaseMajorityCommitPoint();
        }
        assertConverges("lagging", items);
    }

    public void testAnOutageIsRetriedAndShowsInReadExceptions() throws Exception {
        MongoCollection<BsonDocument> items = collection("outage", "items");
        putFollow("outage", "outage", "items", ONE_SHARD + ", \"read_poll_timeout\": \"1s\", \"max_retry_delay\": \"200ms\"");
        items.insertOne(new BsonDocument("_id", new BsonInt32(1)));
        assertConverges("outage", items);

        mongo.stop();
        try {
            assertBusy(() -> {
                Map<String, Object> shard = onlyShardStats("outage");
                assertThat(((Number) shard.get("failed_read_requests")).longValue(), greaterThan(0L));
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> readExceptions = (List<Map<String, Object>>) shard.get("read_exceptions");
                assertThat(readExceptions.size(), greaterThan(0));
                assertThat(shard.get("fatal_exception"), equalTo(null));
            }, 60, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            mongo.restart();
        }
        items.insertOne(new BsonDocument("_id", new BsonInt32(2)));
        assertConverges("outage", items);
        assertBusy(() -> {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> readExceptions = (List<Map<String, Object>>) onlyShardStats("outage").get("read_exceptions");
            assertThat(readExceptions.size(), equalTo(0));
        });
    }

    public void testAnUpdateOfADocumentTheFollowerNeverSawIsLookedUpInMongo() throws Exception {
        MongoCollection<BsonDocument> items = collection("lookup", "items");
        items.insertOne(new BsonDocument("_id", new BsonInt32(7)).append("name", new BsonString("before the follow")).append("n", new BsonInt32(1)));
        putFollow("lookup", "lookup", "items", ONE_SHARD);
        items.updateOne(com.mongodb.client.model.Filters.eq("_id", 7), com.mongodb.client.model.Updates.inc("n", 1));
        assertConverges("lookup", items);
        assertThat(indexedDocuments("lookup").get("7"), equalTo(Map.of("name", "before the follow", "n", 2)));
    }

    public void testRenamingTheCollectionAwayStopsTheFollowWithAnExplanation() throws Exception {
        MongoCollection<BsonDocument> items = collection("renamed", "items");
        putFollow("renamed", "renamed", "items", ONE_SHARD + ", \"checkpoint_interval\": \"100ms\"");
        items.insertOne(new BsonDocument("_id", new BsonInt32(1)));
        assertConverges("renamed", items);
        OplogPosition converged = checkpoint("renamed");
        items.renameCollection(new com.mongodb.MongoNamespace("renamed", "elsewhere"));
        BsonDocument renameEntry = mongoClient.getDatabase("local")
            .getCollection("oplog.rs", BsonDocument.class)
            .find(com.mongodb.client.model.Filters.eq("o.renameCollection", "renamed.items"))
            .first();
        assertNotNull(renameEntry);
        OplogPosition rename = OplogPosition.of(renameEntry.getTimestamp("ts"));
        assertBusy(() -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> fatal = (Map<String, Object>) onlyShardStats("renamed").get("fatal_exception");
            assertNotNull("the follow should stop with a fatal exception", fatal);
            assertThat((String) fatal.get("reason"), org.hamcrest.Matchers.containsString("renamed"));
        });
        Map<String, Object> shard = onlyShardStats("renamed");
        assertThat(shard.get("status"), equalTo("failed"));
        // it keeps its place: the checkpoint stays before the rename, nothing after it was skipped
        assertThat(checkpoint("renamed"), org.hamcrest.Matchers.lessThan(rename));
        assertThat(checkpoint("renamed"), greaterThanOrEqualTo(converged));
        assertThat(indexedDocuments("renamed").keySet(), equalTo(java.util.Set.of("1")));
    }

    public void testDroppingTheCollectionEmptiesTheIndexAndTheFollowGoesOn() throws Exception {
        MongoCollection<BsonDocument> items = collection("dropped", "items");
        putFollow("dropped", "dropped", "items", "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 0}");
        List<BsonDocument> documents = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            documents.add(new BsonDocument("_id", new BsonInt32(i)).append("generation", new BsonInt32(1)));
        }
        items.insertMany(documents);
        assertConverges("dropped", items);

        items.drop();
        assertConverges("dropped", items);
        assertThat(indexedDocuments("dropped").size(), equalTo(0));

        items.insertOne(new BsonDocument("_id", new BsonInt32(100)).append("generation", new BsonInt32(2)));
        assertConverges("dropped", items);
        mongoClient.getDatabase("dropped").drop();
        assertConverges("dropped", items);
        assertThat(indexedDocuments("dropped").size(), equalTo(0));
    }

    public void testATransactionIsAppliedWhole() throws Exception {
        MongoCollection<BsonDocument> accounts = collection("bank", "accounts");
        putFollow("accounts", "bank", "accounts", "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 0}");
        accounts.insertOne(new BsonDocument("_id", new BsonString("alice")).append("balance", new BsonInt32(100)));
        accounts.insertOne(new BsonDocument("_id", new BsonString("bob")).append("balance", new BsonInt32(0)));
        try (com.mongodb.client.ClientSession session = mongoClient.startSession()) {
            session.withTransaction(() -> {
                accounts.updateOne(session, com.mongodb.client.model.Filters.eq("_id", "alice"), com.mongodb.client.model.Updates.inc("balance", -30));
                accounts.updateOne(session, com.mongodb.client.model.Filters.eq("_id", "bob"), com.mongodb.client.model.Updates.inc("balance", 30));
                accounts.insertOne(session, new BsonDocument("_id", new BsonString("carol")).append("balance", new BsonInt32(5)));
                return null;
            });
        }
        assertConverges("accounts", accounts);
        assertThat(indexedDocuments("accounts").get("bob"), equalTo(Map.of("balance", 30)));
    }

    private Map<String, Object> onlyShardStats(String index) throws java.io.IOException {
        List<Map<String, Object>> shards = shardStats(index);
        assertThat(shards.size(), equalTo(1));
        return shards.get(0);
    }

    /** The shard's checkpoint; an assertion error (which assertBusy retries) while its stats have none yet. */
    private OplogPosition checkpoint(String index) throws java.io.IOException {
        Object checkpoint = onlyShardStats(index).get("checkpoint");
        assertNotNull("no checkpoint in the stats yet", checkpoint);
        return OplogPosition.parse((String) checkpoint);
    }

    private OplogPosition storedCheckpoint(String index) throws java.io.IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> checkpoints = (Map<String, Object>) followerInfo(index).get("checkpoints");
        return OplogPosition.parse((String) checkpoints.get("0"));
    }
}

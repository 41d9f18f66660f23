package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.compat.TestApis;
import org.mongofollow.copy.CopyTask;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.nullValue;

/** The initial copy while following, its resumption on another node, history loss and resync. */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 3, numClientNodes = 0)
public class InitialCopyIT extends MongoFollowIntegTestCase {

    private static final String SHARDING = "\"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1}";

    /** A follow with a copy, on any MongoDB; {@code extra} holds more body fields. */
    private Map<String, Object> putFollowWithCopy(String connection, String index, String database, String collection, String extra)
        throws IOException {
        return call(followRequest(index, connection, database, collection, extra));
    }

    private static void insert(MongoCollection<BsonDocument> collection, int from, int to) {
        List<BsonDocument> batch = new ArrayList<>();
        for (int i = from; i < to; i++) {
            batch.add(new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("doc " + i)).append("n", new BsonInt32(i)));
            if (batch.size() == 1000) {
                collection.insertMany(batch);
                batch.clear();
            }
        }
        if (batch.isEmpty() == false) {
            collection.insertMany(batch);
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> indexStats(String index) throws IOException {
        List<Map<String, Object>> indices = (List<Map<String, Object>>) call("GET", "/" + index + "/_mongo_follow/_stats").get("indices");
        return indices.get(0);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> copyStats(String index) throws IOException {
        return (Map<String, Object>) indexStats(index).get("initial_copy");
    }

    private Map<String, Object> awaitCopyDone(String index, long seconds) throws Exception {
        AtomicReference<Map<String, Object>> done = new AtomicReference<>();
        assertBusy(() -> {
            Map<String, Object> copy = copyStats(index);
            assertThat(copy.toString(), copy.get("state"), equalTo("done"));
            done.set(copy);
        }, seconds, TimeUnit.SECONDS);
        return done.get();
    }

    private long number(Map<String, Object> map, String key) {
        return ((Number) map.get(key)).longValue();
    }

    /** Every document of the index by {@code _id}, any number of them (scrolls). */
    private Map<String, Map<String, Object>> allIndexedDocuments(String index) throws IOException {
        indicesAdmin().prepareRefresh(index).get();
        Map<String, Map<String, Object>> documents = new HashMap<>();
        SearchResponse page = prepareSearch(index).setSize(5000).setScroll(TimeValue.timeValueMinutes(1)).get();
        try {
            while (page.getHits().getHits().length > 0) {
                for (SearchHit hit : page.getHits().getHits()) {
                    documents.put(hit.getId(), normalize(hit.getSourceAsMap()));
                }
                String scrollId = page.getScrollId();
                page.decRef();
                page = client().prepareSearchScroll(scrollId).setScroll(TimeValue.timeValueMinutes(1)).get();
            }
            clearScroll(page.getScrollId());
        } finally {
            page.decRef();
        }
        return documents;
    }

    /** Waits until the index holds exactly the collection's documents (of any size). */
    private void assertConvergesExactly(String index, MongoCollection<BsonDocument> collection) throws Exception {
        Map<String, Map<String, Object>> expected = expectedDocuments(collection);
        assertBusy(() -> {
            Map<String, Map<String, Object>> actual = allIndexedDocuments(index);
            if (actual.equals(expected) == false) {
                List<String> diff = new ArrayList<>();
                for (var e : expected.entrySet()) {
                    if (e.getValue().equals(actual.get(e.getKey())) == false) {
                        diff.add(e.getKey() + ": expected " + e.getValue() + " but was " + actual.get(e.getKey()));
                    }
                }
                for (String id : actual.keySet()) {
                    if (expected.containsKey(id) == false) {
                        diff.add(id + ": extra " + actual.get(id));
                    }
                }
                fail(diff.size() + " documents differ, e.g. " + diff.stream().limit(3).toList() + "; stats " + indexStats(index));
            }
        }, 90, TimeUnit.SECONDS);
    }

    private String gcDeletes(String index) {
        return TestApis.getSettings(indicesAdmin(), index).get().getSetting(index, "index.gc_deletes");
    }

    /**
     * The copy of a large collection while a writer inserts, updates and deletes, also documents the copy has not
     * reached yet: the index ends exactly equal to the collection, and gc_deletes is back to its default.
     */
    public void testCopyWhileWritingEndsExact() throws Exception {
        int documents = 100_000;
        MongoCollection<BsonDocument> big = collection("copy", "big");
        insert(big, 0, documents);
        // the writer works on the copied ids (and a few new ones above them) while the copy runs
        RandomWorkload workload = new RandomWorkload(big, randomLong(), documents + 500);
        AtomicReference<Exception> writerFailure = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                workload.run(3_000);
            } catch (Exception e) {
                writerFailure.set(e);
            }
        }, "copy-writer");
        long started = System.nanoTime();
        Map<String, Object> put = putFollowWithCopy(
            mongo.connectionString(),
            "big",
            "copy",
            "big",
            SHARDING + ", \"initial_copy\": {\"enabled\": true, \"max_concurrent_ranges\": 4, \"batch_size\": 500}"
        );
        writer.start();
        assertThat(put.get("index_created"), equalTo(true));
        assertThat(gcDeletes("big"), equalTo("365d"));
        writer.join();
        assertThat(writerFailure.get(), nullValue());
        Map<String, Object> copy = awaitCopyDone("big", 300);
        logger.info("copy of {} documents with a concurrent writer done in {} ms: {}", documents, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), copy);
        assertThat(number(copy, "ranges_done"), equalTo(number(copy, "ranges_total")));
        assertThat(number(copy, "ranges_total"), greaterThan(1L));
        assertThat(number(copy, "documents_copied"), greaterThan(documents * 9L / 10));
        assertThat(number(copy, "documents_total_estimate"), greaterThan(documents * 9L / 10));
        assertConvergesExactly("big", big);
        assertThat(gcDeletes("big"), nullValue());
        internalCluster().assertSameDocIdsOnShards();
    }

    /**
     * {@code _id}s of several BSON types (numbers, strings, ObjectIds) cut into several ranges: every document is copied
     * exactly once although {@code $gt}/{@code $lt} only compare within a type.
     */
    public void testMixedIdTypesAreCopiedExactlyOnce() throws Exception {
        MongoCollection<BsonDocument> mixed = collection("copy", "mixed");
        List<BsonDocument> documents = new ArrayList<>();
        for (int i = 0; i < 4_000; i++) {
            documents.add(new BsonDocument("_id", new BsonInt32(i)).append("kind", new BsonString("int")));
            documents.add(new BsonDocument("_id", new BsonString("s" + i)).append("kind", new BsonString("string")));
            documents.add(new BsonDocument("_id", new org.bson.BsonObjectId(new org.bson.types.ObjectId())).append("kind", new BsonString("oid")));
        }
        for (int i = 0; i < documents.size(); i += 1000) {
            mixed.insertMany(documents.subList(i, i + 1000));
        }
        putFollowWithCopy(
            mongo.connectionString(),
            "mixed",
            "copy",
            "mixed",
            SHARDING + ", \"initial_copy\": {\"max_concurrent_ranges\": 2, \"batch_size\": 1000}"
        );
        Map<String, Object> copy = awaitCopyDone("mixed", 120);
        assertThat(number(copy, "ranges_total"), greaterThan(1L));
        assertThat(copy.toString(), number(copy, "documents_copied"), equalTo(12_000L));
        assertThat(number(copy, "documents_read"), equalTo(12_000L));
        assertConvergesExactly("mixed", mixed);
    }

    /**
     * The node that runs the copy stops mid-copy: the copy task moves and goes on from the stored progress of its
     * ranges, so the documents it reads again are bounded by the batches in flight, not the collection.
     */
    public void testCopyResumesOnAnotherNodeFromItsProgress() throws Exception {
        // small batches keep the copy running long enough (seconds) to stop its node in the middle
        int documents = 10_000;
        int batch = 10;
        MongoCollection<BsonDocument> moving = collection("copy", "moving");
        insert(moving, 0, documents);
        putFollowWithCopy(
            mongo.connectionString(),
            "moving",
            "copy",
            "moving",
            SHARDING + ", \"checkpoint_interval\": \"100ms\", \"max_outstanding_write_requests\": 1, "
                + "\"initial_copy\": {\"max_concurrent_ranges\": 1, \"batch_size\": " + batch + "}"
        );
        ensureGreen("moving");
        AtomicReference<Long> copiedBeforeStop = new AtomicReference<>();
        assertBusy(() -> {
            Map<String, Object> copy = copyStats("moving");
            assertThat(copy.get("state"), equalTo("running"));
            assertThat(number(copy, "documents_copied"), greaterThanOrEqualTo(documents / 4L));
            copiedBeforeStop.set(number(copy, "documents_copied"));
            // a running copy tells its rate and the time it still needs, in _stats and in _cat (here in seconds, ?time=s)
            assertThat(copy.toString(), number(copy, "estimated_time_remaining_in_millis"), greaterThanOrEqualTo(0L));
            String cat = org.apache.http.util.EntityUtils.toString(
                getRestClient().performRequest(new Request("GET", "/_cat/mongo_follow/moving?h=copy,copy_rate,copy_eta&time=s")).getEntity()
            );
            for (String line : cat.strip().split("\n")) {
                assertTrue(cat, line.strip().matches("\\d+(\\.\\d)?% +\\d+(\\.\\d)? +\\d+"));
            }
        }, 60, TimeUnit.SECONDS);
        String node = nodeRunningCopy("moving");
        internalCluster().stopNode(node);
        moving.deleteMany(Filters.lt("_id", 100));
        moving.updateMany(Filters.gte("_id", documents - 100), Updates.set("late", true));
        Map<String, Object> copy = awaitCopyDone("moving", 120);
        assertThat(copiedBeforeStop.get(), lessThanOrEqualTo(number(copy, "documents_copied")));
        // a copy that started over would have read the collection again on top of what it had copied; this one reads
        // again only what its node had read ahead of the stored progress: with one range and one write slot, the batch
        // being written, the one waiting for the slot and the one being read
        long readAgain = number(copy, "documents_read") - number(copy, "documents_copied");
        assertThat("documents read again: " + copy, readAgain, lessThanOrEqualTo(3L * batch));
        assertThat(number(copy, "documents_read"), lessThanOrEqualTo((long) documents + 3L * batch));
        ensureYellow("moving");
        assertConvergesExactly("moving", moving);
        // a scroll that the stopped node was coordinating stays open on the shard's node until its keep-alive
        // runs out; production lives with that, the test's search-context check does not wait for it
        client().prepareClearScroll().addScrollId("_all").get();
    }

    /**
     * A capped oplog drops the position of a paused follow: resume reports history lost; _resync copies again and
     * sweeps, so documents deleted meanwhile leave the index too.
     */
    public void testHistoryLostThenResyncMakesTheIndexExact() throws Exception {
        historyLostThenResync("lost", "oplog");
    }

    /** The same from a change stream, on a MongoDB that refuses oplog reads: its error 286 is history lost too. */
    public void testChangeStreamHistoryLostThenResyncMakesTheIndexExact() throws Exception {
        historyLostThenResync("lost-stream", "change_stream");
    }

    private void historyLostThenResync(String index, String source) throws Exception {
        try (var capped = org.mongofollow.embedded.EmbeddedMongo.start(org.mongofollow.embedded.EmbeddedMongo.options().oplogMaxEntries(400).noopIntervalMillis(200));
             var cappedClient = com.mongodb.client.MongoClients.create(capped.connectionString())) {
            capped.refuseOplogReads(source.equals("change_stream"));
            MongoCollection<BsonDocument> items = cappedClient.getDatabase("shop").getCollection("items", BsonDocument.class);
            insert(items, 0, 300);
            putFollowWithCopy(capped.connectionString(), index, "shop", "items", SHARDING + ", \"checkpoint_interval\": \"100ms\", \"source\": \"" + source + "\"");
            awaitCopyDone(index, 120);
            assertConvergesExactly(index, items);

            call("POST", "/" + index + "/_mongo_follow/_pause");
            // while paused: deletes, updates and inserts, and enough writes to roll the oplog past the follow's position
            items.deleteMany(Filters.lt("_id", 50));
            items.updateMany(Filters.gte("_id", 250), Updates.set("name", "changed"));
            insert(items, 1000, 1500);
            call("POST", "/" + index + "/_mongo_follow/_resume");
            assertBusy(() -> {
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> shards = (List<Map<String, Object>>) indexStats(index).get("shards");
                assertThat(shards.size(), greaterThan(0));
                @SuppressWarnings("unchecked")
                Map<String, Object> fatal = (Map<String, Object>) shards.get(0).get("fatal_exception");
                assertNotNull("expected the history-lost fatal error", fatal);
                assertThat((String) fatal.get("reason"), containsString("history lost"));
                assertThat((String) fatal.get("reason"), containsString(source.equals("oplog") ? "the MongoDB oplog" : "the change stream"));
                assertThat((String) fatal.get("reason"), containsString("POST /" + index + "/_mongo_follow/_resync"));
            }, 30, TimeUnit.SECONDS);
            String firstStart = (String) copyStats(index).get("start_position");
            assertThat("the initial copy is no resync", copyStats(index).get("resync"), equalTo(false));

            Map<String, Object> resync = call("POST", "/" + index + "/_mongo_follow/_resync");
            assertThat(resync.get("acknowledged"), equalTo(true));
            Map<String, Object> copy = awaitCopyDone(index, 120);
            assertThat(copy.get("start_position"), org.hamcrest.Matchers.not(equalTo(firstStart)));
            assertThat(copy.get("resync"), equalTo(true));
            assertConvergesExactly(index, items);
            items.insertOne(new BsonDocument("_id", new BsonInt32(5000)).append("after", new BsonString("resync")));
            assertConvergesExactly(index, items);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> shards = (List<Map<String, Object>>) indexStats(index).get("shards");
            for (Map<String, Object> shard : shards) {
                assertThat(shard.get("fatal_exception"), nullValue());
            }
            call("POST", "/" + index + "/_mongo_follow/_unfollow");
        }
    }

    /** With on_history_lost: resync, a lost position makes the follow copy again and sweep without a call. */
    public void testOnHistoryLostResyncNeedsNoCall() throws Exception {
        try (var capped = org.mongofollow.embedded.EmbeddedMongo.start(org.mongofollow.embedded.EmbeddedMongo.options().oplogMaxEntries(400).noopIntervalMillis(200));
             var cappedClient = com.mongodb.client.MongoClients.create(capped.connectionString())) {
            MongoCollection<BsonDocument> items = cappedClient.getDatabase("shop").getCollection("auto", BsonDocument.class);
            insert(items, 0, 300);
            putFollowWithCopy(capped.connectionString(), "auto", "shop", "auto", SHARDING + ", \"on_history_lost\": \"resync\"");
            awaitCopyDone("auto", 120);
            String firstStart = (String) copyStats("auto").get("start_position");
            call("POST", "/auto/_mongo_follow/_pause");
            items.deleteMany(Filters.gte("_id", 200));
            insert(items, 1000, 1500);
            call("POST", "/auto/_mongo_follow/_resume");
            assertBusy(() -> {
                Map<String, Object> copy = copyStats("auto");
                assertThat(copy.get("start_position"), org.hamcrest.Matchers.not(equalTo(firstStart)));
                assertThat(copy.get("state"), equalTo("done"));
                assertThat(copy.get("resync"), equalTo(true));
            }, 120, TimeUnit.SECONDS); // a copy, a history loss and a resync: generous on a loaded 2-core machine
            assertConvergesExactly("auto", items);
            call("POST", "/auto/_mongo_follow/_unfollow");
        }
    }

    /**
     * Resyncs that overlap (each shard task that loses its history starts one, and so may an operator): every start
     * position they leave behind gets copied, so the last copy ends done and the index ends exact. A copy task that found
     * its copy replaced while it ran copies the replacement, whose own start found that task still running.
     */
    public void testOverlappingResyncsEndWithTheLastCopyDone() throws Exception {
        MongoCollection<BsonDocument> items = collection("shop", "overlap");
        items.drop(); // the embedded MongoDB lives as long as the class: a repeated test starts afresh
        insert(items, 0, 2000);
        putFollowWithCopy(mongo.connectionString(), "overlap", "shop", "overlap", SHARDING);
        awaitCopyDone("overlap", 60);
        for (int round = 0; round < 3; round++) {
            int base = 10_000 * (round + 1);
            List<Thread> threads = new ArrayList<>();
            List<Exception> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 4; t++) {
                int id = base + t;
                threads.add(new Thread(() -> {
                    try {
                        items.insertOne(new BsonDocument("_id", new BsonInt32(id)).append("n", new BsonInt32(id))); // a newer start position
                        call("POST", "/overlap/_mongo_follow/_resync");
                    } catch (Exception e) {
                        failures.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join(60_000);
            }
            assertThat(failures.toString(), failures.isEmpty(), equalTo(true));
            Map<String, Object> copy = awaitCopyDone("overlap", 90);
            assertThat(copy.get("resync"), equalTo(true));
            assertConvergesExactly("overlap", items);
        }
        call("POST", "/overlap/_mongo_follow/_unfollow");
    }

    public void testResyncOfAPlainIndexIsA404() throws Exception {
        createIndex("plain");
        ResponseException e = expectThrows(ResponseException.class, () -> call("POST", "/plain/_mongo_follow/_resync"));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(404));
    }

    private String nodeRunningCopy(String index) {
        var state = clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState();
        PersistentTasksCustomMetadata tasks = PersistentTasksCustomMetadata.getPersistentTasksCustomMetadata(state);
        var task = tasks.getTask(CopyTask.taskId(ClusterMetadata.index(state, index).getIndexUUID()));
        assertNotNull("no copy task", task);
        return state.nodes().get(task.getExecutorNode()).getName();
    }
}

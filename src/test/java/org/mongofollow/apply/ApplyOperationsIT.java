package org.mongofollow.apply;

import org.bson.BsonDocument;
import org.elasticsearch.action.get.GetResponse;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.MongoFollowPlugin;

import java.util.List;
import java.util.Map;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertAcked;
import static org.hamcrest.Matchers.equalTo;

/**
 * The shard-level write action on a real cluster: external versions make replays and stale operations
 * harmless, updates apply to the document read in real time on the primary, replicas end up identical.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.SUITE, numDataNodes = 2, numClientNodes = 0)
public class ApplyOperationsIT extends ESIntegTestCase {

    @Override
    protected java.util.Collection<Class<? extends Plugin>> nodePlugins() {
        return List.of(MongoFollowPlugin.class, org.elasticsearch.test.InternalSettingsPlugin.class);
    }

    private ShardId shard0(String index) {
        // the replicas learn the global checkpoint by a sync after each write and by a periodic one: a short period keeps
        // assertSeqNos from waiting on the default 30s when the machine is busy
        assertAcked(
            indicesAdmin().prepareCreate(index)
                .setSettings(indexSettings(1, 1).put(org.elasticsearch.index.IndexService.GLOBAL_CHECKPOINT_SYNC_INTERVAL_SETTING.getKey(), "100ms"))
        );
        ensureGreen(index);
        return new ShardId(resolveIndex(index), 0);
    }

    private ApplyOperationsAction.Response apply(ShardId shard, ShardOperation... operations) {
        return client().execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shard, List.of(operations))).actionGet();
    }

    private static ShardOperation index(String id, long version, String json) {
        return new ShardOperation(ShardOperation.Kind.INDEX, id, version, new BytesArray(json));
    }

    private static ShardOperation diff(String id, long version, String diffJson) {
        return new ShardOperation(ShardOperation.Kind.UPDATE_DIFF, id, version, bson(diffJson));
    }

    private static BytesReference bson(String json) {
        org.bson.RawBsonDocument raw = new org.bson.RawBsonDocument(BsonDocument.parse(json), new org.bson.codecs.BsonDocumentCodec());
        java.nio.ByteBuffer buffer = raw.getByteBuffer().asNIO();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new BytesArray(bytes);
    }

    private Map<String, Object> source(String index, String id) {
        GetResponse get = client().prepareGet(index, id).get();
        return get.isExists() ? get.getSourceAsMap() : null;
    }

    public void testOlderOperationsAreHarmlessAndReplaysChangeNothing() throws Exception {
        ShardId shard = shard0("versions");
        ApplyOperationsAction.Response first = apply(shard, index("a", 100, "{\"x\":1}"), index("b", 100, "{\"y\":1}"));
        assertThat(first.applied(), equalTo(2));

        // an older insert and an older delete lose against the document's version
        ApplyOperationsAction.Response stale = apply(shard, index("a", 50, "{\"x\":0}"), new ShardOperation(ShardOperation.Kind.DELETE, "b", 70, BytesArray.EMPTY));
        assertThat(stale.stale(), equalTo(2));
        assertThat(stale.applied(), equalTo(0));
        assertThat(source("versions", "a"), equalTo(Map.of("x", 1)));
        assertThat(source("versions", "b"), equalTo(Map.of("y", 1)));

        // a diff applies to the current document; replaying it changes nothing
        ShardOperation update = diff("a", 120, "{\"u\": {\"x\": 2}, \"i\": {\"z\": \"new\"}}");
        assertThat(apply(shard, update).applied(), equalTo(1));
        assertThat(source("versions", "a"), equalTo(Map.of("x", 2, "z", "new")));
        apply(shard, update, index("a", 110, "{\"x\":-1}"));
        assertThat(source("versions", "a"), equalTo(Map.of("x", 2, "z", "new")));

        // a delete leaves a tombstone: the older insert replayed afterwards does not bring the document back
        apply(shard, new ShardOperation(ShardOperation.Kind.DELETE, "a", 130, BytesArray.EMPTY));
        assertThat(apply(shard, index("a", 100, "{\"x\":1}")).stale(), equalTo(1));
        assertNull(source("versions", "a"));

        internalCluster().assertSameDocIdsOnShards();
    }

    public void testUpdateOfAMissingDocumentIsReportedForALookUp() {
        ShardId shard = shard0("missing");
        ApplyOperationsAction.Response response = apply(shard, diff("ghost", 10, "{\"u\": {\"x\": 2}}"));
        assertThat(response.applied(), equalTo(0));
        assertThat(response.missingBases(), equalTo(List.of(new ApplyOperationsAction.MissingBase("ghost", 10))));
        assertNull(source("missing", "ghost"));
    }

    public void testOperationsOfOneTransactionShareAVersionAndApplyInOrder() {
        ShardId shard = shard0("txn");
        ApplyOperationsAction.Response response = apply(
            shard,
            index("t", 200, "{\"n\":1}"),
            diff("t", 200, "{\"u\": {\"n\": 2}}"),
            diff("t", 200, "{\"i\": {\"m\": true}}")
        );
        assertThat(response.applied(), equalTo(3));
        assertThat(source("txn", "t"), equalTo(Map.of("n", 2, "m", true)));
    }

    /**
     * An operation that fails the batch after others were applied on the primary: the request fails as before, and the
     * replicas still receive what the primary applied (no sequence number of the primary is missing on a replica).
     */
    public void testAFailureAfterSomeOperationsStillReplicatesThem() throws Exception {
        ShardId shard = shard0("partial");
        assertThat(apply(shard, index("a", 10, "{\"n\": 1}")).applied(), equalTo(1));
        Exception e = expectThrows(
            Exception.class,
            () -> apply(shard, index("b", 20, "{\"n\": 2}"), diff("a", 30, "{\"u\": {\"n\": {\"not\": \"a diff\"}}, \"sx\": 5}"))
        );
        assertThat(org.elasticsearch.ExceptionsHelper.unwrapCause(e).getMessage(), org.hamcrest.Matchers.containsString("diff"));
        assertThat(source("partial", "b"), equalTo(Map.of("n", 2)));
        indicesAdmin().prepareRefresh("partial").get();
        internalCluster().assertSameDocIdsOnShards();
        internalCluster().assertSeqNos();
    }

    /**
     * A hot document: a thousand updates of it in one batch, between writes of other documents, are combined into one
     * write (one sequence number, one replicated source) that ends exactly where applying them one by one ends.
     */
    public void testConsecutiveUpdatesOfOneDocumentBecomeOneWrite() throws Exception {
        ShardId shard = shard0("hot");
        apply(shard, index("h", 1, "{\"n\": 0, \"tags\": []}"));
        long maxSeqNoBefore = maxSeqNo("hot");
        List<ShardOperation> batch = new java.util.ArrayList<>();
        for (int i = 1; i <= 1000; i++) {
            batch.add(diff("h", 1 + i, "{\"u\": {\"n\": " + i + "}}"));
            if (i % 250 == 0) {
                batch.add(index("other-" + i, 1 + i, "{\"k\": " + i + "}"));
                batch.add(diff("h", 1 + i, "{\"i\": {\"last_other\": " + i + "}}")); // same entry as the update before
            }
        }
        ApplyOperationsAction.Response response = client().execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shard, batch))
            .actionGet();
        assertThat(response.applied(), equalTo(batch.size()));
        assertThat(source("hot", "h"), equalTo(Map.of("n", 1000, "tags", List.of(), "last_other", 1000)));
        assertThat(client().prepareGet("hot", "h").get().getVersion(), equalTo(1001L));
        assertThat(source("hot", "other-500"), equalTo(Map.of("k", 500)));
        assertThat("one write for the document's updates, one per other document", maxSeqNo("hot") - maxSeqNoBefore, equalTo(5L));
        indicesAdmin().prepareRefresh("hot").get();
        internalCluster().assertSameDocIdsOnShards();
        internalCluster().assertSeqNos();
        // replayed, the batch changes nothing
        response = client().execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shard, batch)).actionGet();
        assertThat(source("hot", "h"), equalTo(Map.of("n", 1000, "tags", List.of(), "last_other", 1000)));
    }

    /**
     * The documents that updates rewrite are held on the primary until the replicas have them, and charged to the node's
     * mongo_follow breaker meanwhile. Forty updates of forty different 64 KB documents go in one request while the breaker
     * has room; with a 512 KB breaker the primary ends each request once the breaker is over its limit, and defers the rest
     * (whole documents) to requests of their own. No request holds more than the limit and one document, and the breaker
     * is back where it was once each request is answered.
     */
    public void testTheDocumentsUpdatesRewriteAreChargedAndTheRestIsDeferredWhenTheBreakerIsFull() throws Exception {
        ShardId shard = shard0("rewrites");
        String pad = "p".repeat(64 * 1024);
        List<ShardOperation> inserts = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            inserts.add(index("d" + i, 100, "{\"n\": 0, \"pad\": \"" + pad + "\"}"));
        }
        assertThat(apply(shard, inserts.toArray(ShardOperation[]::new)).applied(), equalTo(40));
        long before = breakersUsed();

        // the default limit (20% of the heap) has room for all of them
        ApplyOperationsAction.Response whole = apply(shard, updates(40, 150, 1).toArray(ShardOperation[]::new));
        assertThat(whole.applied(), equalTo(40));
        assertThat(whole.deferred(), equalTo(0));
        assertThat(breakersUsed(), equalTo(before));

        long limit = 512 * 1024;
        updateClusterSettings(org.elasticsearch.common.settings.Settings.builder().put("breaker.mongo_follow.limit", limit + "b"));
        try {
            List<ShardOperation> rest = updates(40, 200, 2);
            int requests = 0;
            int applied = 0;
            while (rest.isEmpty() == false) {
                ApplyOperationsAction.Response response = client().execute(
                    ApplyOperationsAction.INSTANCE,
                    new ApplyOperationsAction.Request(shard, rest, 0, FieldSelection.ALL)
                ).actionGet();
                requests++;
                assertThat("every request makes progress", response.applied(), org.hamcrest.Matchers.greaterThanOrEqualTo(1));
                assertThat(response.applied() + response.deferred(), equalTo(rest.size()));
                // each rewritten document is a little over 64 KB: the limit holds eight, and the one that passes it goes
                assertThat(response.applied(), org.hamcrest.Matchers.lessThanOrEqualTo((int) (limit / pad.length()) + 1));
                assertThat("released once answered", breakersUsed(), equalTo(before));
                applied += response.applied();
                rest = rest.subList(rest.size() - response.deferred(), rest.size());
            }
            assertThat(applied, equalTo(40));
            assertThat(requests, org.hamcrest.Matchers.greaterThanOrEqualTo(5));
        } finally {
            updateClusterSettings(org.elasticsearch.common.settings.Settings.builder().putNull("breaker.mongo_follow.limit"));
        }
        for (int i = 0; i < 40; i++) {
            Map<String, Object> source = source("rewrites", "d" + i);
            assertThat(source.get("n"), equalTo(2));
            assertThat(source.get("pad"), equalTo(pad));
        }
        indicesAdmin().prepareRefresh("rewrites").get();
        internalCluster().assertSameDocIdsOnShards();
        internalCluster().assertSeqNos();
    }

    private static List<ShardOperation> updates(int documents, long version, int n) {
        List<ShardOperation> updates = new java.util.ArrayList<>();
        for (int i = 0; i < documents; i++) {
            updates.add(diff("d" + i, version, "{\"u\": {\"n\": " + n + "}}"));
        }
        return updates;
    }

    /** What the mongo_follow breakers of all nodes hold. */
    private long breakersUsed() {
        long used = 0;
        for (org.elasticsearch.indices.breaker.CircuitBreakerService service : internalCluster().getInstances(
            org.elasticsearch.indices.breaker.CircuitBreakerService.class
        )) {
            used += service.getBreaker(org.mongofollow.memory.FollowBreaker.NAME).getUsed();
        }
        return used;
    }

    private long maxSeqNo(String index) {
        return java.util.Arrays.stream(indicesAdmin().prepareStats(index).get().getShards())
            .filter(s -> s.getShardRouting().primary())
            .mapToLong(s -> s.getSeqNoStats().getMaxSeqNo())
            .max()
            .orElseThrow();
    }

    public void testDocumentsElasticsearchRefusesAreRejectedWithoutFailingTheBatch() throws Exception {
        ShardId shard = shard0("mapping");
        assertThat(apply(shard, index("a", 1, "{\"n\": 1}")).applied(), equalTo(1));
        ApplyOperationsAction.Response response = apply(shard, index("b", 2, "{\"n\": \"not a number\"}"), index("c", 3, "{\"n\": 3}"));
        assertThat(response.applied(), equalTo(1));
        assertThat(response.rejections().size(), equalTo(1));
        assertThat(response.rejections().get(0).id(), equalTo("b"));
        assertNull(source("mapping", "b"));
        assertThat(source("mapping", "c"), equalTo(Map.of("n", 3)));

        // a refused new version of a document removes the older one: no stale version stays in the index
        response = apply(shard, index("c", 4, "{\"n\": \"three\"}"));
        assertThat(response.applied(), equalTo(0));
        assertThat(response.rejections().size(), equalTo(1));
        assertNull(source("mapping", "c"));
        // and an older replay of it is a harmless conflict against the tombstone
        assertThat(apply(shard, index("c", 3, "{\"n\": 3}")).stale(), equalTo(1));
        assertNull(source("mapping", "c"));
        internalCluster().assertSameDocIdsOnShards();
    }

    public void testAnUpdateAfterOneTheSelectedCopyCannotTakeIsLookedUpToo() throws Exception {
        ShardId shard = shard0("selected");
        FieldSelection fields = new FieldSelection(List.of("a.x", "n"), List.of());
        apply(shard, index("d", 100, "{\"a\": [{\"x\": 1}], \"n\": 1}"));
        ApplyOperationsAction.Response response = client().execute(
            ApplyOperationsAction.INSTANCE,
            new ApplyOperationsAction.Request(
                shard,
                List.of(
                    // into an array below an include: the copy lacks MongoDB's unselected elements, so it is looked up
                    diff("d", 110, "{\"sa\": {\"a\": true, \"s1\": {\"u\": {\"x\": 2}}}}"),
                    // the copy could take this one, but not without the change above: it is looked up as well
                    diff("d", 120, "{\"u\": {\"n\": 2}}")
                ),
                0,
                fields
            )
        ).actionGet();
        assertThat(response.missingBases(), equalTo(List.of(new ApplyOperationsAction.MissingBase("d", 110), new ApplyOperationsAction.MissingBase("d", 120))));
        assertThat(response.applied(), equalTo(0));
        assertThat("nothing is written over the copy until the look-up", source("selected", "d"), equalTo(Map.of("a", List.of(Map.of("x", 1)), "n", 1)));
    }
}

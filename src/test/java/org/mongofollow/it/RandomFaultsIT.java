package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.RestClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.routing.ShardRouting;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.xcontent.XContentType;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * CCR's FollowerFailOverIT taken further: two follows, with replicas, on a three-node cluster, fed by a random workload on
 * a three-member replica set, get random faults at random times: the node running a shard task killed (and replaced),
 * a follower primary relocated, MongoDB stepdowns, a MongoDB primary killed with writes only it had (rolled back), a
 * MongoDB outage, pause and resume, and a full cluster restart (always, last). They end with 0 missing, 0 extra and 0
 * differing documents and with the same sequence numbers on every shard copy. The seed (tests.seed) picks the faults,
 * their order and their timing; run more seeds with {@code -Dtests.iters=N}.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 3, numClientNodes = 0)
@MongoFollowIntegTestCase.MongoReplicaSet(members = 3)
public class RandomFaultsIT extends MongoFollowIntegTestCase {

    private enum Fault {
        KILL_TASK_NODE,
        RELOCATE_PRIMARY,
        MONGO_STEP_DOWN,
        MONGO_PRIMARY_KILLED,
        MONGO_OUTAGE,
        PAUSE_RESUME
    }

    private static final String[] INDICES = { "faults-a", "faults-b" };

    public void testFollowsThroughRandomFaultsEndExact() throws Exception {
        for (String index : INDICES) {
            rest(
                followRequest(
                    index,
                    mongo.connectionString() + "&heartbeatFrequencyMS=500",
                    "faults",
                    index,
                    "\"initial_copy\": false, \"checkpoint_interval\": \"200ms\", \"max_read_request_operation_count\": 40,"
                        + " \"max_write_request_operation_count\": 20,"
                        + " \"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 1, " + QUICK_GLOBAL_CHECKPOINT_SYNC + "}"
                )
            );
        }
        ensureGreen(INDICES);

        Random random = new Random(randomLong());
        List<Fault> faults = new ArrayList<>(List.of(Fault.values()));
        Collections.shuffle(faults, random);
        faults = faults.subList(0, 4 + random.nextInt(3));
        logger.info("faults {} then a full restart", faults);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failedSteps = new AtomicInteger();
        List<Thread> writers = new ArrayList<>();
        for (String index : INDICES) {
            RandomWorkload workload = new RandomWorkload(collection("faults", index), random.nextLong(), 150);
            Thread writer = new Thread(() -> {
                while (stop.get() == false) {
                    failedSteps.addAndGet(workload.runThroughFailures(5));
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "workload-" + index);
            writer.start();
            writers.add(writer);
        }
        int rollbacksBefore = mongo.rollbacks();
        try {
            for (Fault fault : faults) {
                Thread.sleep(300 + random.nextInt(1200));
                logger.info("fault [{}]", fault);
                inject(fault, random);
            }
            Thread.sleep(300 + random.nextInt(1200));
            logger.info("fault [FULL_RESTART]");
            internalCluster().fullRestart();
            Thread.sleep(500);
        } finally {
            stop.set(true);
            for (Thread writer : writers) {
                writer.join(30_000);
            }
        }
        ensureGreen(INDICES);
        for (String index : INDICES) {
            MongoCollection<BsonDocument> items = collection("faults", index);
            assertConverges(index, items);
        }
        internalCluster().assertSeqNos();
        internalCluster().assertSameDocIdsOnShards();
        logger.info(
            "{} faults and a full restart: {} MongoDB rollbacks, term {}, {} workload steps failed (MongoDB unavailable)",
            faults.size(),
            mongo.rollbacks() - rollbacksBefore,
            mongo.term(),
            failedSteps.get()
        );
    }

    private void inject(Fault fault, Random random) throws Exception {
        String index = INDICES[random.nextInt(INDICES.length)];
        int shard = random.nextInt(2);
        switch (fault) {
            case KILL_TASK_NODE -> {
                String node = nodeRunningShardTask(index, shard);
                internalCluster().stopNode(node);
                internalCluster().startNode();
            }
            case RELOCATE_PRIMARY -> {
                // the balancer may be moving shards after an earlier fault: a shard moves only once it has started
                rest(new Request("GET", "/_cluster/health?wait_for_no_relocating_shards=true&wait_for_no_initializing_shards=true&timeout=60s"));
                ClusterState state = clusterAdmin().prepareState(TEST_REQUEST_TIMEOUT).get().getState();
                ShardRouting primary = state.routingTable().index(index).shard(shard).primaryShard();
                Set<String> holding = new HashSet<>();
                state.routingTable().index(index).shard(shard).allShards().forEach(copy -> holding.add(copy.currentNodeId()));
                String target = state.nodes().getDataNodes().keySet().stream().filter(id -> holding.contains(id) == false).findFirst().orElseThrow();
                Request move = new Request("POST", "/_cluster/reroute");
                move.setJsonEntity(
                    "{\"commands\": [{\"move\": {\"index\": \"" + index + "\", \"shard\": " + shard + ", \"from_node\": \""
                        + primary.currentNodeId() + "\", \"to_node\": \"" + target + "\"}}]}"
                );
                rest(move);
                rest(new Request("GET", "/_cluster/health/" + index + "?wait_for_no_relocating_shards=true&timeout=60s"));
            }
            case MONGO_STEP_DOWN -> mongo.stepDown(false);
            case MONGO_PRIMARY_KILLED -> {
                int primary = mongo.primary();
                mongo.pauseSecondaries();
                Thread.sleep(300); // the workload writes what only the primary gets
                mongo.killMember(primary);
                mongo.resumeAllReplication();
                Thread.sleep(200);
                mongo.restartMember(primary);
            }
            case MONGO_OUTAGE -> {
                mongo.stop();
                Thread.sleep(1000);
                mongo.restart();
            }
            case PAUSE_RESUME -> {
                rest(new Request("POST", "/" + index + "/_mongo_follow/_pause"));
                Thread.sleep(500);
                rest(new Request("POST", "/" + index + "/_mongo_follow/_resume"));
            }
        }
    }

    /** A REST call through a client made for the nodes that run now (nodes are replaced and restarted here). */
    private static Map<String, Object> rest(Request request) throws IOException {
        try (RestClient client = createRestClient()) {
            Response response = client.performRequest(request);
            try (InputStream in = response.getEntity().getContent()) {
                return XContentHelper.convertToMap(XContentType.JSON.xContent(), in, true);
            }
        }
    }
}

package org.mongofollow.it;

import com.mongodb.client.MongoCollection;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.elasticsearch.test.ESIntegTestCase;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.hamcrest.Matchers.greaterThanOrEqualTo;

/**
 * A follow of a three-member replica set while it elects: clean stepdowns, a stepped-down primary that stops
 * replicating (its tailing cursor lives on, on a lagging secondary), a primary killed with writes that only it had (they
 * are rolled back), and a secondary killed and brought back, in an order the seed picks, under a random workload. The
 * follower ends with exactly the collection's documents: none skipped, none of the rolled-back writes.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.SUITE, numDataNodes = 1, numClientNodes = 0)
@MongoFollowIntegTestCase.MongoReplicaSet(members = 3)
public class ReplicaSetFailoverIT extends MongoFollowIntegTestCase {

    private enum Fault {
        STEP_DOWN,
        STEPPED_DOWN_PRIMARY_LAGS,
        PRIMARY_KILLED_WITH_UNCONFIRMED_WRITES,
        SECONDARY_KILLED
    }

    public void testAFollowThroughElectionsAndRollbacksEndsExact() throws Exception {
        MongoCollection<BsonDocument> items = collection("failover", "items");
        // the follow's driver checks the members twice a second (the connection string's heartbeatFrequencyMS), so it
        // learns of a new primary while its tailing cursor still waits on the former one
        call(
            followRequest(
                "failover",
                mongo.connectionString() + "&heartbeatFrequencyMS=500",
                "failover",
                "items",
                "\"initial_copy\": false, \"max_read_request_operation_count\": 50,"
                    + " \"settings\": {\"number_of_shards\": 3, \"number_of_replicas\": 0}"
            )
        );
        ensureGreen("failover");
        long seed = randomLong();
        Random random = new Random(seed);
        List<Fault> faults = new ArrayList<>(List.of(Fault.values()));
        faults.add(Fault.PRIMARY_KILLED_WITH_UNCONFIRMED_WRITES);
        Collections.shuffle(faults, random);
        logger.info("workload seed [{}], faults {}", seed, faults);
        RandomWorkload workload = new RandomWorkload(items, seed, 120);
        int failedSteps = 0;
        int rolledBackInserts = 0;
        int nextUnconfirmedId = 10_000;
        int nextLaggedId = 20_000;
        for (Fault fault : faults) {
            failedSteps += workload.runThroughFailures(60);
            int primary = mongo.primary();
            switch (fault) {
                case STEP_DOWN -> mongo.stepDown(false);
                case STEPPED_DOWN_PRIMARY_LAGS -> {
                    mongo.stepDown(false);
                    mongo.pauseReplication(primary);
                    // inserts of documents that nothing touches again, while the follow's tail still waits on the former
                    // primary and its driver learns of the new one: an insert the follow skipped would be missing at the end
                    for (int i = 0; i < 20; i++) {
                        items.insertOne(new BsonDocument("_id", new BsonInt32(nextLaggedId++)).append("fate", new BsonString("kept")));
                    }
                    Thread.sleep(1500);
                    mongo.resumeReplication(primary);
                }
                case PRIMARY_KILLED_WITH_UNCONFIRMED_WRITES -> {
                    mongo.pauseSecondaries();
                    // writes only the primary gets: the follow must not apply them (they are not majority-committed)
                    for (int i = 0; i < 10; i++) {
                        items.insertOne(new BsonDocument("_id", new BsonInt32(nextUnconfirmedId++)).append("fate", new BsonString("rolled back")));
                        rolledBackInserts++;
                    }
                    failedSteps += workload.runThroughFailures(20);
                    Thread.sleep(300); // the follow's tail sees them and waits for the majority
                    mongo.killMember(primary);
                    mongo.resumeAllReplication();
                    mongo.restartMember(primary);
                }
                case SECONDARY_KILLED -> {
                    int secondary = (primary + 1) % mongo.memberCount();
                    mongo.killMember(secondary);
                    failedSteps += workload.runThroughFailures(40);
                    mongo.restartMember(secondary);
                }
            }
        }
        failedSteps += workload.runThroughFailures(60);
        assertEquals("the rolled-back inserts are gone from MongoDB", 0, items.countDocuments(new BsonDocument("fate", new BsonString("rolled back"))));
        assertConverges("failover", items);
        assertThat(mongo.rollbacks(), greaterThanOrEqualTo(2));
        Map<String, Object> stats = call("GET", "/failover/_mongo_follow/_stats");
        logger.info(
            "seed [{}]: {} faults, {} rollbacks, {} rolled-back inserts, {} workload steps failed, term {}; stats {}",
            seed,
            faults.size(),
            mongo.rollbacks(),
            rolledBackInserts,
            failedSteps,
            mongo.term(),
            stats
        );
    }
}

package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.connection.ClusterType;
import com.mongodb.connection.ServerDescription;

/** The driver sees a replica-set primary; hello, isMaster, replSetGetStatus and buildInfo answer as one. */
public class ReplicaSetHandshakeTests {

    private static EmbeddedMongo mongo;
    private static MongoClient client;

    @BeforeClass
    public static void startServer() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
        client = MongoClients.create(mongo.connectionString());
    }

    @AfterClass
    public static void stopServer() {
        client.close();
        mongo.close();
    }

    @Test
    public void driverSeesReplicaSetPrimary() {
        client.getDatabase("admin").runCommand(new Document("ping", 1));
        assertEquals(ClusterType.REPLICA_SET, client.getClusterDescription().getType());
        List<ServerDescription> primaries = new ArrayList<>();
        for (ServerDescription s : client.getClusterDescription().getServerDescriptions()) {
            if (s.isPrimary()) {
                primaries.add(s);
            }
        }
        assertEquals(1, primaries.size());
        assertEquals("rs0", primaries.get(0).getSetName());
    }

    /** As a member answers every command: a session keeps the operationTime of its last operation, a write's at or after its entry. */
    @Test
    public void aSessionKeepsTheOperationTimeOfItsWrites() {
        MongoCollection<Document> c = client.getDatabase("optime").getCollection("c");
        try (com.mongodb.client.ClientSession session = client.startSession()) {
            Document ping = client.getDatabase("admin").runCommand(session, new Document("ping", 1));
            assertTrue(ping.toJson(), ping.get("operationTime") instanceof BsonTimestamp);
            c.insertOne(session, new Document("_id", 1));
            BsonTimestamp operationTime = session.getOperationTime();
            assertNotNull(operationTime);
            Document entry = client.getDatabase("local").getCollection("oplog.rs")
                .find(new Document("ns", "optime.c").append("o._id", 1)).first();
            assertNotNull(entry);
            assertTrue(operationTime.compareTo((BsonTimestamp) entry.get("ts")) >= 0);
        }
    }

    @Test
    public void helloAndIsMasterAnswerAsPrimary() {
        Document hello = client.getDatabase("admin").runCommand(new Document("hello", 1));
        assertEquals(Boolean.TRUE, hello.getBoolean("isWritablePrimary"));
        assertEquals("rs0", hello.getString("setName"));
        assertEquals("127.0.0.1:" + mongo.port(), hello.getString("primary"));
        assertTrue(!hello.containsKey("topologyVersion"));
        Document isMaster = client.getDatabase("admin").runCommand(new Document("isMaster", 1));
        assertEquals(Boolean.TRUE, isMaster.getBoolean("ismaster"));
        Document buildInfo = client.getDatabase("admin").runCommand(new Document("buildInfo", 1));
        assertTrue(buildInfo.getString("version").startsWith("7.0.")); // the default release
    }

    @Test
    public void replSetGetStatusReportsOptimes() {
        MongoCollection<Document> coll = client.getDatabase("hs").getCollection("c");
        coll.insertOne(new Document("_id", 1));
        Document status = client.getDatabase("admin").runCommand(new Document("replSetGetStatus", 1));
        assertEquals("rs0", status.getString("set"));
        assertEquals(1, status.getInteger("myState").intValue());
        Document optimes = status.get("optimes", Document.class);
        BsonTimestamp committed = optimes.get("lastCommittedOpTime", Document.class).get("ts", BsonTimestamp.class);
        BsonTimestamp applied = optimes.get("appliedOpTime", Document.class).get("ts", BsonTimestamp.class);
        assertNotNull(committed);
        assertEquals(applied, committed);
        Document newest = client.getDatabase("local").getCollection("oplog.rs").find()
            .sort(new Document("$natural", -1)).limit(1).first();
        assertEquals(newest.get("ts"), applied);
        assertEquals("i", newest.getString("op"));
    }

    @Test
    public void sessionsAreAccepted() {
        try (var session = client.startSession()) {
            client.getDatabase("hs").getCollection("s").insertOne(session, new Document("_id", "x"));
            assertEquals(1, client.getDatabase("hs").getCollection("s").countDocuments(session));
        }
    }
}

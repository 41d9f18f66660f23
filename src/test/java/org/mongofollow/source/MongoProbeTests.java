package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.ElasticsearchStatusException;
import org.elasticsearch.common.settings.MockSecureSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.rest.RestStatus;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;

import java.net.InetSocketAddress;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** What {@code PUT /{index}/_mongo_follow} answers for each kind of MongoDB endpoint, before it changes anything. */
public class MongoProbeTests {

    @Test
    public void aReplicaSetMemberAnswersItsMajorityCommitPoint() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(); MongoClientService clients = new MongoClientService(Settings.EMPTY)) {
            OplogPosition start = MongoProbe.startPosition(clients, MongoEndpoint.connection(mongo.connectionString()), "shop", "orders");
            assertNotNull(start);
        }
    }

    /**
     * Through a mongos, auto reads the shards' oplogs where this node may reach them all, and the mongos's change stream
     * where it may not (here the shards' hosts are refused, as an allowlist naming only the mongos would); oplog asked for
     * explicitly is refused then.
     */
    @Test
    public void throughAMongosAutoTakesTheShardsOplogsOnlyWhereItMayReachThem() {
        try (
            org.mongofollow.embedded.ShardedCluster cluster = org.mongofollow.embedded.ShardedCluster.start(
                org.mongofollow.embedded.ShardedCluster.options().shards(2).noopIntervalMillis(50));
            MongoClientService clients = new MongoClientService(Settings.EMPTY)
        ) {
            MongoEndpoint mongos = MongoEndpoint.connection(cluster.connectionString());
            MongoProbe.Probe probe = MongoProbe.probe(clients, mongos, "shop", "orders", SourceMode.AUTO, FullDocumentMode.DEFAULT);
            assertEquals(SourceMode.OPLOG, probe.source());
            OplogPosition lowest = OplogPosition.min(OplogPosition.of(cluster.shard(0).majorityCommitPoint()),
                OplogPosition.of(cluster.shard(1).majorityCommitPoint()));
            assertTrue(probe.start() + " vs " + lowest, probe.start().compareTo(lowest) <= 0); // the lowest at the probe

            clients.setShardHostCheck(endpoint -> {
                throw new IllegalArgumentException("[connection] host is not allowed");
            });
            assertEquals(SourceMode.CHANGE_STREAM,
                MongoProbe.probe(clients, mongos, "shop", "orders", SourceMode.AUTO, FullDocumentMode.DEFAULT).source());
            assertThrows(IllegalArgumentException.class,
                () -> MongoProbe.probe(clients, mongos, "shop", "orders", SourceMode.OPLOG, FullDocumentMode.DEFAULT));
        }
    }

    /** A connection straight to a secondary (directConnection=true) cannot follow the primary's oplog: a clear 400. */
    @Test
    public void aDirectConnectionToASecondaryIsA400() {
        try (
            EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().members(3).noopIntervalMillis(0));
            MongoClientService clients = new MongoClientService(Settings.EMPTY)
        ) {
            String uri = "mongodb://127.0.0.1:" + mongo.memberPort(1) + "/?directConnection=true";
            MongoUpstreamException e = assertThrows(
                MongoUpstreamException.MongoNotFollowableException.class,
                () -> MongoProbe.startPosition(clients, MongoEndpoint.connection(uri), "shop", "orders")
            );
            assertEquals(RestStatus.BAD_REQUEST, e.status());
            assertTrue(e.getMessage(), e.getMessage().startsWith("MongoDB at [" + uri + "] cannot be followed: the follow's connection goes straight to"));
        }
    }

    /**
     * A standalone server has no oplog: a clear 400. The stock mongo-java-server answers like a standalone
     * server older than MongoDB 4.4.2, which does not know {@code hello} (only {@code isMaster}).
     */
    @Test
    public void aStandaloneServerIsA400() {
        MongoServer server = new MongoServer(new MemoryBackend());
        InetSocketAddress address = server.bind();
        try (MongoClientService clients = new MongoClientService(Settings.EMPTY)) {
            String uri = "mongodb://127.0.0.1:" + address.getPort() + "/?serverSelectionTimeoutMS=2000";
            MongoUpstreamException e = assertThrows(
                MongoUpstreamException.MongoNotFollowableException.class,
                () -> MongoProbe.startPosition(clients, MongoEndpoint.connection(uri), "shop", "orders")
            );
            assertEquals(RestStatus.BAD_REQUEST, e.status());
            assertEquals("mongo_not_followable_exception", ElasticsearchException.getExceptionName(e));
            assertEquals(
                "MongoDB at [" + uri + "] cannot be followed: the MongoDB server is not a replica set member, so it has no oplog to follow: "
                    + "start mongod with --replSet (a one-member replica set is enough)",
                e.getMessage()
            );
        } finally {
            server.shutdownNow();
        }
    }

    @Test
    public void refusedCredentialsAreA502OfTheirOwnTypeWithoutTheCredentials() {
        MockSecureSettings secure = new MockSecureSettings();
        secure.setString("mongo_follow.client.prod.username", "probe-user");
        secure.setString("mongo_follow.client.prod.password", "Pr0be-Secret");
        try (EmbeddedMongo mongo = EmbeddedMongo.start()) {
            Settings settings = Settings.builder()
                .putList("mongo_follow.client.prod.hosts", "127.0.0.1:" + mongo.port())
                .put("mongo_follow.client.prod.replica_set", "rs0")
                .put("mongo_follow.client.prod.server_selection_timeout", "2s")
                .setSecureSettings(secure)
                .build();
            try (MongoClientService clients = new MongoClientService(settings)) {
                MongoUpstreamException e = assertThrows(
                    MongoUpstreamException.MongoAuthenticationException.class,
                    () -> MongoProbe.startPosition(clients, MongoEndpoint.client("prod"), "shop", "orders")
                );
                // not a 403, which users read as a missing Elasticsearch privilege: MongoDB, the upstream, refused
                assertEquals(RestStatus.BAD_GATEWAY, e.status());
                assertEquals("mongo_authentication_exception", ElasticsearchException.getExceptionName(e));
                assertTrue(e.getMessage(), e.getMessage().startsWith("MongoDB at [127.0.0.1:" + mongo.port() + "/?replicaSet=rs0] refused the credentials"));
                assertTrue(e.getMessage(), e.getMessage().contains("mongo_follow.client.prod.password in the keystore"));
                assertFalse(e.getMessage(), e.getMessage().contains("probe-user"));
                assertFalse(e.getMessage(), e.getMessage().contains("Pr0be-Secret"));
            }
        }
    }

    @Test
    public void anUnreachableServerIsA503WithinTheServerSelectionTimeout() {
        try (MongoClientService clients = new MongoClientService(Settings.EMPTY)) {
            long start = System.nanoTime();
            MongoUpstreamException e = assertThrows(
                MongoUpstreamException.MongoUnreachableException.class,
                () -> MongoProbe.startPosition(
                    clients, MongoEndpoint.connection("mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=300"), "shop", "orders")
            );
            assertEquals(RestStatus.SERVICE_UNAVAILABLE, e.status());
            assertEquals("mongo_unreachable_exception", ElasticsearchException.getExceptionName(e));
            assertTrue(System.nanoTime() - start < 5_000_000_000L);
        }
    }
}

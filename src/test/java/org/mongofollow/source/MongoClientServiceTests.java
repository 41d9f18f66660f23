package org.mongofollow.source;

import com.mongodb.client.MongoClient;

import org.elasticsearch.common.settings.Settings;
import org.junit.After;
import org.junit.Test;

import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;

/** Shared clients are closed once no follow uses them and they have been idle; a later use opens a new one. */
public class MongoClientServiceTests {

    private final AtomicLong now = new AtomicLong(TimeUnit.HOURS.toNanos(1));
    private final MongoClientService service = new MongoClientService(Settings.EMPTY, now::get);
    private final MongoEndpoint used = MongoEndpoint.connection("mongodb://127.0.0.1:1/?replicaSet=used");
    private final MongoEndpoint ended = MongoEndpoint.connection("mongodb://127.0.0.1:1/?replicaSet=ended");

    @After
    public void close() {
        service.close();
    }

    @Test
    public void closesOnlyIdleClientsNoFollowUses() {
        MongoClient usedClient = service.client(used);
        MongoClient endedClient = service.client(ended);
        assertSame(usedClient, service.client(used));
        assertEquals(2, service.openClients());

        // not idle long enough yet: a follow that just ended, or a PUT still probing, keeps its client
        now.addAndGet(MongoClientService.IDLE_CLIENT_TIMEOUT.nanos() / 2);
        assertEquals(0, service.closeUnused(Set.of(used)));

        now.addAndGet(MongoClientService.IDLE_CLIENT_TIMEOUT.nanos());
        assertEquals(1, service.closeUnused(Set.of(used)));
        assertEquals(1, service.openClients());
        assertSame("a client a follow uses stays open however idle", usedClient, service.client(used));
        assertThrows(IllegalStateException.class, () -> endedClient.getDatabase("x").getCollection("y").estimatedDocumentCount());

        MongoClient again = service.client(ended);
        assertNotSame("a later use opens a new client", endedClient, again);
        assertEquals(2, service.openClients());
    }

    @Test
    public void aNamedClientReachesAShardWhereItsSettingsMapIt() {
        Settings settings = Settings.builder()
            .put("mongo_follow.client.cluster.hosts", "mongos.example:27017")
            .put("mongo_follow.client.cluster.shard_hosts.shard1", "10.0.0.5:27018, 10.0.0.6:27018")
            .build();
        try (MongoClientService named = new MongoClientService(settings, now::get)) {
            MongoEndpoint cluster = MongoEndpoint.client("cluster");
            // config.shards's replica set name, the mapped hosts
            assertEquals("rs1/10.0.0.5:27018, 10.0.0.6:27018",
                named.shardHosts(cluster, new ShardedOplogReader.Shard("shard1", "rs1/shard1.internal:27018", null)));
            assertEquals("rs0/shard0.internal:27018",
                named.shardHosts(cluster, new ShardedOplogReader.Shard("shard0", "rs0/shard0.internal:27018", null)));
            // a connection string has no settings: config.shards's hosts
            assertEquals("rs1/shard1.internal:27018",
                named.shardHosts(used, new ShardedOplogReader.Shard("shard1", "rs1/shard1.internal:27018", null)));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MongoClientService(Settings.builder()
            .put("mongo_follow.client.cluster.hosts", "mongos.example:27017")
            .put("mongo_follow.client.cluster.shard_hosts.shard1", "rs1/10.0.0.5:27018")
            .build(), now::get));
        assertEquals("[mongo_follow.client.cluster.shard_hosts.shard1] must be host:port pairs separated by commas (the replica set name "
            + "comes from config.shards, credentials from the keystore)", e.getMessage());
    }

    @Test
    public void aRecentUseKeepsAClientOpen() {
        service.client(ended);
        now.addAndGet(MongoClientService.IDLE_CLIENT_TIMEOUT.nanos() * 2);
        service.client(ended);
        assertEquals(0, service.closeUnused(Set.of()));
        assertEquals(1, service.openClients());
    }
}

package org.mongofollow.source;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCredential;
import com.mongodb.ServerAddress;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.TimeValue;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Hands out one {@link MongoClient} per endpoint and node, built from the named clients' settings or
 * from a credential-free connection string. {@link #reload(Settings)} takes new keystore credentials:
 * clients whose settings changed are closed and rebuilt on next use (a read in flight on a closed
 * client fails and is retried by its shard task).
 */
public class MongoClientService implements Closeable {

    private static final Logger logger = LogManager.getLogger(MongoClientService.class);

    /** How long a client no follow uses stays open after its last use (its follow just ended, or just started). */
    public static final TimeValue IDLE_CLIENT_TIMEOUT = TimeValue.timeValueMinutes(1);

    private volatile Map<String, FollowClientSettings> namedSettings;
    /** A client's endpoint, and the shard it reaches when the endpoint is a sharded cluster's mongos (else null). */
    private record ClientKey(MongoEndpoint endpoint, String shardHosts) {}

    private final Map<ClientKey, MongoClient> clients = new HashMap<>();
    private final Map<ClientKey, Long> lastUsedNanos = new HashMap<>();
    private final LongSupplier nanoTime;
    /** Checks the hosts of a shard found through a connection string's mongos (the connection allowlist). */
    private volatile java.util.function.Consumer<MongoEndpoint> shardHostCheck = endpoint -> {};

    public MongoClientService(Settings settings) {
        this(settings, System::nanoTime);
    }

    MongoClientService(Settings settings, LongSupplier nanoTime) {
        this.namedSettings = FollowClientSettings.load(settings);
        this.nanoTime = nanoTime;
    }

    /** The named client's settings; an unknown name is a clear 400. */
    public FollowClientSettings namedClient(String name) {
        FollowClientSettings settings = namedSettings.get(name);
        if (settings == null) {
            throw new IllegalArgumentException(
                "no mongo_follow client named [" + name + "]: set mongo_follow.client." + name + ".hosts in elasticsearch.yml on every node"
                    + (namedSettings.isEmpty() ? "" : " (known clients: " + String.join(", ", namedSettings.keySet().stream().sorted().toList()) + ")")
            );
        }
        return settings;
    }

    /** The shared client of the endpoint, created on first use. */
    public MongoClient client(MongoEndpoint endpoint) {
        return client(new ClientKey(endpoint, null));
    }

    /**
     * The shared client of one shard of the sharded cluster whose mongos routers {@code endpoint} names: {@code shardHosts}
     * as {@code config.shards} gives it ({@code rsName/host:port,...}), with the endpoint's credentials and options. The
     * hosts of a shard reached through a connection string must pass {@link #setShardHostCheck the host check} (the
     * connection allowlist), as the connection string's own hosts did.
     */
    public MongoClient shardClient(MongoEndpoint endpoint, ShardedOplogReader.Shard shard) {
        String shardHosts = shardHosts(endpoint, shard);
        checkShardHosts(endpoint, shardHosts);
        return client(new ClientKey(endpoint, shardHosts));
    }

    /**
     * Where this node reaches {@code shard} ({@code rsName/host:port,...}): at the hosts the named client maps its id to
     * ({@code mongo_follow.client.NAME.shard_hosts.SHARD_ID}), with the replica set name {@code config.shards} gives, else at
     * the hosts {@code config.shards} gives.
     */
    String shardHosts(MongoEndpoint endpoint, ShardedOplogReader.Shard shard) {
        FollowClientSettings settings = endpoint.clientName() == null ? null : namedSettings.get(endpoint.clientName());
        String mapped = settings == null ? null : settings.shardHosts().get(shard.id());
        if (mapped == null) {
            return shard.hosts();
        }
        int slash = shard.hosts().indexOf('/');
        return (slash < 0 ? "" : shard.hosts().substring(0, slash + 1)) + mapped;
    }

    /** The hosts of a shard reached through a connection string's mongos pass the host check, as its own hosts did. */
    private void checkShardHosts(MongoEndpoint endpoint, String shardHosts) {
        if (endpoint.connection() != null) {
            shardHostCheck.accept(MongoEndpoint.connection(shardConnection(shardHosts)));
        }
    }

    /** Set by the plugin: the connection allowlist's check, for the shards a connection string's mongos names. */
    public void setShardHostCheck(java.util.function.Consumer<MongoEndpoint> check) {
        this.shardHostCheck = check;
    }

    /** {@code mongodb://host:port,.../?replicaSet=rsName} of a shard as {@code config.shards} names it. */
    static String shardConnection(String shardHosts) {
        int slash = shardHosts.indexOf('/');
        String hosts = slash < 0 ? shardHosts : shardHosts.substring(slash + 1);
        return "mongodb://" + hosts + "/" + (slash < 0 ? "" : "?replicaSet=" + shardHosts.substring(0, slash));
    }

    private synchronized MongoClient client(ClientKey key) {
        MongoClient client = clients.get(key);
        if (client == null) {
            client = MongoClients.create(clientSettings(key));
            clients.put(key, client);
        }
        lastUsedNanos.put(key, nanoTime.getAsLong());
        return client;
    }

    /**
     * Closes the clients of endpoints that no follow uses any more (their follows ended)
     * once they have not been used for {@link #IDLE_CLIENT_TIMEOUT}; a later use creates a new client.
     *
     * @return how many clients were closed
     */
    public int closeUnused(Set<MongoEndpoint> inUse) {
        long idleBefore = nanoTime.getAsLong() - IDLE_CLIENT_TIMEOUT.nanos();
        List<MongoClient> unused = new ArrayList<>();
        synchronized (this) {
            clients.entrySet().removeIf(entry -> {
                ClientKey key = entry.getKey();
                if (inUse.contains(key.endpoint()) || lastUsedNanos.getOrDefault(key, Long.MIN_VALUE) - idleBefore > 0) {
                    return false;
                }
                lastUsedNanos.remove(key);
                unused.add(entry.getValue());
                return true;
            });
        }
        unused.forEach(MongoClient::close);
        if (unused.isEmpty() == false) {
            logger.debug("closed {} MongoDB client(s) that no follow uses", unused.size());
        }
        return unused.size();
    }

    /** How many clients are open. */
    public synchronized int openClients() {
        return clients.size();
    }

    /** A client for the endpoint that the caller owns and closes (not shared, not kept). */
    public MongoClient newClient(MongoEndpoint endpoint) {
        return MongoClients.create(clientSettings(new ClientKey(endpoint, null)));
    }

    /** A client of one shard of the cluster behind {@code endpoint} that the caller owns and closes (see {@link #shardClient}). */
    public MongoClient newShardClient(MongoEndpoint endpoint, ShardedOplogReader.Shard shard) {
        String shardHosts = shardHosts(endpoint, shard);
        checkShardHosts(endpoint, shardHosts);
        return MongoClients.create(clientSettings(new ClientKey(endpoint, shardHosts)));
    }

    /** Where the endpoint points, safe to show: hosts and replica set, never credentials. */
    public String describe(MongoEndpoint endpoint) {
        if (endpoint.clientName() != null) {
            FollowClientSettings settings = namedSettings.get(endpoint.clientName());
            return settings == null ? endpoint.describe() : settings.describe();
        }
        return endpoint.connection();
    }

    private MongoClientSettings clientSettings(ClientKey key) {
        MongoClientSettings settings = clientSettings(key.endpoint());
        if (key.shardHosts() == null) {
            return settings;
        }
        // a shard: the endpoint's credentials, TLS and timeouts, the shard's replica set
        ConnectionString shard = new ConnectionString(shardConnection(key.shardHosts()));
        List<ServerAddress> hosts = shard.getHosts().stream().map(ServerAddress::new).toList();
        return MongoClientSettings.builder(settings)
            .applyToClusterSettings(c -> {
                if (settings.getClusterSettings().getSrvHost() != null) {
                    c.srvHost(null); // a mongodb+srv:// mongos: the shard's own hosts instead
                }
                c.hosts(hosts).mode(com.mongodb.connection.ClusterConnectionMode.MULTIPLE)
                    .requiredReplicaSetName(shard.getRequiredReplicaSetName());
            })
            .build();
    }

    private MongoClientSettings clientSettings(MongoEndpoint endpoint) {
        MongoClientSettings.Builder builder = MongoClientSettings.builder().applicationName("elasticsearch-mongo-follow");
        if (endpoint.connection() != null) {
            ConnectionString connection = MongoEndpoint.validateConnection(endpoint.connection());
            builder.applyConnectionString(connection);
            if (connection.getServerSelectionTimeout() == null) {
                builder.applyToClusterSettings(c -> c.serverSelectionTimeout(10, TimeUnit.SECONDS));
            }
            if (connection.getConnectTimeout() == null) {
                builder.applyToSocketSettings(s -> s.connectTimeout(10, TimeUnit.SECONDS));
            }
            return builder.build();
        }
        FollowClientSettings settings = namedClient(endpoint.clientName());
        List<ServerAddress> hosts = new ArrayList<>();
        for (String host : settings.hosts()) {
            hosts.add(new ServerAddress(host));
        }
        builder.applyToClusterSettings(c -> {
            c.hosts(hosts).serverSelectionTimeout(settings.serverSelectionTimeout().millis(), TimeUnit.MILLISECONDS);
            if (settings.replicaSet() != null) {
                c.requiredReplicaSetName(settings.replicaSet());
            }
        });
        builder.applyToSocketSettings(s -> s.connectTimeout((int) settings.connectTimeout().millis(), TimeUnit.MILLISECONDS));
        builder.applyToSslSettings(s -> s.enabled(settings.tlsEnabled()).invalidHostNameAllowed(settings.tlsAllowInvalidHostnames()));
        if (settings.hasCredentials()) {
            builder.credential(settings.withCredentials(MongoCredential::createCredential));
        }
        return builder.build();
    }

    /** New keystore or yml values: drop the clients whose settings changed; they are rebuilt on next use. */
    public void reload(Settings settings) {
        Map<String, FollowClientSettings> reloaded = FollowClientSettings.load(settings);
        List<MongoClient> stale = new ArrayList<>();
        synchronized (this) {
            Map<String, FollowClientSettings> previous = namedSettings;
            namedSettings = reloaded;
            clients.entrySet().removeIf(entry -> {
                String name = entry.getKey().endpoint().clientName();
                if (name != null && reloaded.get(name) != null && reloaded.get(name).sameClientAs(previous.get(name))) {
                    return false;
                }
                if (name == null) {
                    return false;
                }
                stale.add(entry.getValue());
                lastUsedNanos.remove(entry.getKey());
                return true;
            });
        }
        for (MongoClient client : stale) {
            client.close();
        }
        logger.info("reloaded mongo_follow client settings: {} named client(s)", reloaded.size());
    }

    @Override
    public void close() {
        List<MongoClient> all;
        synchronized (this) {
            all = new ArrayList<>(clients.values());
            clients.clear();
            lastUsedNanos.clear();
        }
        all.forEach(MongoClient::close);
    }
}

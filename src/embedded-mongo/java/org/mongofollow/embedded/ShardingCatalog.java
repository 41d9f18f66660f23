package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * The config server's sharding metadata: the shards, each database's primary shard, the sharded collections with their
 * shard keys and chunks. It is kept here for the mongos's routing and written through to the config server's
 * {@code config.shards}, {@code config.databases}, {@code config.collections} and {@code config.chunks} in the shapes
 * MongoDB 5.0 and later use (chunks by collection {@code uuid}), which clients read through mongos. Thread-safe.
 */
final class ShardingCatalog {

    /** A shard: its id, its {@code rsName/host:port} string, its server in this process, and the cluster time it was added. */
    record Shard(String id, String host, EmbeddedMongo server, long addedAt) {
        ReplicaSetBackend backend() {
            return server.backend();
        }
    }

    /** A chunk: the keys from {@code min} (inclusive) to {@code max} (exclusive), on one shard. */
    record Chunk(Document min, Document max, String shard) {}

    /** A sharded collection. */
    record Collection(String namespace, ShardKeyPattern key, UUID uuid, ObjectId epoch, List<Chunk> chunks) {}

    private final EmbeddedMongo configServer;
    private final Map<String, Shard> shards = new LinkedHashMap<>();
    private final Map<String, String> primaries = new LinkedHashMap<>();
    private final Map<String, Collection> collections = new LinkedHashMap<>();
    private int chunkVersion;

    /** The host name {@code config.shards} gives the shards at (they listen on 127.0.0.1). */
    private final String advertisedHost;

    ShardingCatalog(EmbeddedMongo configServer, String advertisedHost) {
        this.configServer = configServer;
        this.advertisedHost = advertisedHost;
    }

    EmbeddedMongo configServer() {
        return configServer;
    }

    // ---------------------------------------------------------------- shards

    synchronized Shard addShard(String id, EmbeddedMongo server, long addedAt) {
        if (shards.containsKey(id)) {
            throw new MongoServerError(96, "OperationFailed", "a shard named " + id + " already exists");
        }
        String host = server.replicaSetName() + "/" + advertisedHost + ":" + server.port();
        for (Shard existing : shards.values()) {
            if (existing.server() == server) {
                throw new MongoServerError(96, "OperationFailed", "host " + host + " is already shard " + existing.id());
            }
        }
        Shard shard = new Shard(id, host, server, addedAt);
        shards.put(id, shard);
        for (Collection c : collections.values()) {
            server.backend().setShardKey(c.namespace(), c.key().fields());
        }
        write("shards", new Document("_id", id).append("host", host).append("state", 1)
            .append("topologyTime", new BsonTimestamp(addedAt)));
        return shard;
    }

    synchronized List<Shard> shards() {
        return List.copyOf(shards.values());
    }

    synchronized Shard shard(String id) {
        Shard shard = shards.get(id);
        if (shard == null) {
            throw new MongoServerError(70, "ShardNotFound", "Shard " + id + " not found");
        }
        return shard;
    }

    /**
     * A drained shard leaves the cluster ({@code config.shards}) at cluster time {@code removedAt}; its server is not stopped.
     * The config server records it in {@code config.changelog} as MongoDB's does ({@code what: "removeShard"}, {@code details:
     * {shard}}, its wall-clock {@code time}).
     */
    synchronized void removeShard(String id, long removedAt) {
        removed.add(new Removed(shards.remove(id), removedAt));
        remove("shards", new Document("_id", id));
        write("changelog", new Document("_id", "config-" + new ObjectId()).append("server", "config").append("shard", "config")
            .append("clientAddr", "").append("time", java.time.Instant.now()).append("what", "removeShard").append("ns", "")
            .append("details", new Document("shard", id)));
    }

    /** A shard that left the cluster, and when. */
    private record Removed(Shard shard, long removedAt) {}

    private final List<Removed> removed = new ArrayList<>();

    /**
     * The shards whose history from cluster time {@code time} on a change stream reads: those of the cluster now, and those
     * removed after {@code time} (what they held before their chunks moved away happened after it).
     */
    synchronized List<Shard> shardsSince(long time) {
        List<Shard> since = new ArrayList<>(shards.values());
        for (Removed gone : removed) {
            if (Long.compareUnsigned(gone.removedAt(), time) > 0 && shards.containsKey(gone.shard().id()) == false) {
                since.add(gone.shard());
            }
        }
        return since;
    }

    synchronized boolean isPrimaryOfAny(String shard) {
        return primaries.containsValue(shard);
    }

    synchronized List<String> shardedNamespaces() {
        return List.copyOf(collections.keySet());
    }

    // ---------------------------------------------------------------- databases

    /** The primary shard of a database (unsharded collections live there), chosen on first use as the one with fewest. */
    synchronized Shard primary(String database) {
        String id = primaries.get(database);
        if (id == null) {
            if (shards.isEmpty()) {
                throw new MongoServerError(70, "ShardNotFound", "the cluster has no shards");
            }
            id = shards.keySet().stream()
                .min(java.util.Comparator.comparingLong(s -> primaries.values().stream().filter(s::equals).count()))
                .orElseThrow();
            primaries.put(database, id);
            write("databases", new Document("_id", database).append("primary", id).append("partitioned", true)
                .append("version", new Document("uuid", UUID.randomUUID()).append("lastMod", 1)));
        }
        return shards.get(id);
    }

    synchronized void dropDatabase(String database) {
        primaries.remove(database);
        collections.keySet().removeIf(ns -> ns.startsWith(database + "."));
        remove("databases", new Document("_id", database));
        rewriteCollections();
    }

    // ---------------------------------------------------------------- collections

    synchronized Collection collection(String namespace) {
        return collections.get(namespace);
    }

    /**
     * Shards a collection: one chunk on the primary shard, or for a hashed key on an empty collection one chunk per shard
     * of equal parts of the hash space, as mongod's initial split does.
     */
    synchronized Collection shardCollection(String namespace, ShardKeyPattern key, UUID uuid, boolean empty) {
        if (collections.containsKey(namespace)) {
            throw new MongoServerError(20, "AlreadyInitialized", "sharding already enabled for collection " + namespace);
        }
        Shard primary = primary(namespace.substring(0, namespace.indexOf('.')));
        List<Chunk> chunks = new ArrayList<>();
        if (key.hashed() && empty && shards.size() > 1 && key.fields().size() == 1) {
            List<Shard> all = List.copyOf(shards.values());
            String field = key.fields().get(0);
            Document lower = key.globalMin();
            for (int i = 1; i <= all.size(); i++) {
                Document upper = i == all.size() ? key.globalMax()
                    : new Document(field, Long.MIN_VALUE + (long) ((double) i / all.size() * 2 * (double) Long.MAX_VALUE));
                chunks.add(new Chunk(lower, upper, all.get(i - 1).id()));
                lower = upper;
            }
        } else {
            chunks.add(new Chunk(key.globalMin(), key.globalMax(), primary.id()));
        }
        Collection collection = new Collection(namespace, key, uuid, new ObjectId(), chunks);
        collections.put(namespace, collection);
        for (Shard shard : shards.values()) {
            shard.backend().setShardKey(namespace, key.fields());
        }
        rewriteCollections();
        return collection;
    }

    synchronized void dropCollection(String namespace) {
        if (collections.remove(namespace) != null) {
            for (Shard shard : shards.values()) {
                shard.backend().setShardKey(namespace, null);
            }
            rewriteCollections();
        }
    }

    /** The shard that owns a document of a collection: the chunk of its key, or the primary shard when unsharded. */
    synchronized Shard owner(String namespace, Document document) {
        Collection c = collections.get(namespace);
        if (c == null) {
            return primary(namespace.substring(0, namespace.indexOf('.')));
        }
        return shards.get(chunkOf(c, c.key().keyOf(document)).shard());
    }

    /** The shard owning an exact shard key, or null when the collection is unsharded. */
    synchronized Shard ownerOfKey(String namespace, Document key) {
        Collection c = collections.get(namespace);
        return c == null ? null : shards.get(chunkOf(c, key).shard());
    }

    /** The shards a query must go to: the owner of the exact key it names, else every shard with chunks (or the primary). */
    synchronized List<Shard> targets(String namespace, Document filter) {
        Collection c = collections.get(namespace);
        if (c == null) {
            return List.of(primary(namespace.substring(0, namespace.indexOf('.'))));
        }
        Document exact = c.key().exactKey(filter);
        if (exact != null) {
            return List.of(shards.get(chunkOf(c, exact).shard()));
        }
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (String id : shards.keySet()) {
            if (c.chunks().stream().anyMatch(chunk -> chunk.shard().equals(id))) {
                ids.add(id);
            }
        }
        return ids.stream().map(shards::get).toList();
    }

    /** Every shard that holds the collection: those with chunks, and the primary. */
    synchronized List<Shard> holders(String namespace) {
        LinkedHashSet<Shard> holders = new LinkedHashSet<>(targets(namespace, null));
        holders.add(primary(namespace.substring(0, namespace.indexOf('.'))));
        return List.copyOf(holders);
    }

    Chunk chunkOf(Collection c, Document key) {
        for (Chunk chunk : c.chunks()) {
            if (c.key().compare(chunk.min(), key) <= 0 && c.key().compare(key, chunk.max()) < 0) {
                return chunk;
            }
        }
        throw new IllegalStateException("no chunk of " + c.namespace() + " holds " + key);
    }

    /** Splits the chunk that holds {@code middle} at it. */
    synchronized void split(String namespace, Document middle) {
        Collection c = sharded(namespace);
        Chunk chunk = chunkOf(c, middle);
        if (c.key().compare(chunk.min(), middle) == 0) {
            throw new MongoServerError(2, "BadValue", "cannot split chunk " + chunk.min() + " at its lower bound");
        }
        int at = c.chunks().indexOf(chunk);
        c.chunks().set(at, new Chunk(chunk.min(), middle, chunk.shard()));
        c.chunks().add(at + 1, new Chunk(middle, chunk.max(), chunk.shard()));
        rewriteCollections();
    }

    /** Gives the chunk that holds {@code key} to {@code to} (the data is moved by the mongos, under its lock). */
    synchronized Chunk reassign(String namespace, Document key, String to) {
        Collection c = sharded(namespace);
        shard(to);
        Chunk chunk = chunkOf(c, key);
        c.chunks().set(c.chunks().indexOf(chunk), new Chunk(chunk.min(), chunk.max(), to));
        rewriteCollections();
        return chunk;
    }

    synchronized Collection sharded(String namespace) {
        Collection c = collections.get(namespace);
        if (c == null) {
            throw new MongoServerError(61, "NamespaceNotSharded", namespace + " is not sharded");
        }
        return c;
    }

    // ---------------------------------------------------------------- the config server's documents

    private void rewriteCollections() {
        remove("collections", new Document());
        remove("chunks", new Document());
        for (Collection c : collections.values()) {
            write("collections", new Document("_id", c.namespace()).append("lastmodEpoch", c.epoch())
                .append("lastmod", java.time.Instant.now()).append("uuid", c.uuid()).append("key", c.key().pattern())
                .append("unique", false));
            for (Chunk chunk : c.chunks()) {
                chunkVersion++;
                write("chunks", new Document("_id", new ObjectId()).append("uuid", c.uuid()).append("min", chunk.min())
                    .append("max", chunk.max()).append("shard", chunk.shard())
                    .append("lastmod", new BsonTimestamp(((long) chunkVersion << 32) | 0)));
            }
        }
    }

    private void write(String collection, Document document) {
        configServer.backend().handleCommand(ReplicaSetBackend.INTERNAL, "config", "insert",
            new Document("insert", collection).append("documents", List.of(document)));
    }

    private void remove(String collection, Document filter) {
        configServer.backend().handleCommand(ReplicaSetBackend.INTERNAL, "config", "delete",
            new Document("delete", collection).append("deletes", List.of(new Document("q", filter).append("limit", 0))));
    }
}

package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.MongoSecurityException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.client.MongoClient;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;

import java.util.List;


/**
 * Checks, before a follow changes anything, that its MongoDB endpoint answers as a replica set member whose oplog or
 * change stream can be followed, or as a mongos whose change stream can be, within the client's server selection timeout;
 * answers where a follow starts: the majority commit point of a replica set, the cluster time of a change stream opened
 * through mongos. Errors are clear and never show credentials.
 */
public final class MongoProbe {

    private MongoProbe() {}

    /** Where a copy started now starts (T0): the majority commit point of a replica set, the cluster time through mongos. */
    public static OplogPosition startPosition(MongoClientService clients, MongoEndpoint endpoint, String database, String collection) {
        return startPosition(clients, endpoint, database, collection, SourceMode.AUTO);
    }

    /** The same for a follow that reads {@code source} (through a mongos, the oplog mode asks the shards, the other not). */
    public static OplogPosition startPosition(MongoClientService clients, MongoEndpoint endpoint, String database, String collection,
        SourceMode source) {
        return probe(clients, endpoint, database, collection, source, FullDocumentMode.DEFAULT).start();
    }

    /** Where a new follow starts, and the source it reads ({@code auto} decided). */
    public record Probe(OplogPosition start, SourceMode source) {}

    /**
     * Checks the endpoint as {@link #startPosition} does and decides {@code requested}: {@code auto} reads the oplog
     * when the follow's user may read it and the collection's change stream otherwise. A change-stream follow's stream is
     * opened once at the start position, so a user without the privileges for it ({@code changeStream} and {@code find} on
     * the collection) is refused here, before anything changes; it is opened with the follow's {@code fullDocument}, which
     * MongoDB checks too.
     */
    public static Probe probe(
        MongoClientService clients,
        MongoEndpoint endpoint,
        String database,
        String collection,
        SourceMode requested,
        FullDocumentMode fullDocument
    ) {
        String where = clients.describe(endpoint);
        // a client of its own, closed after the probe: a refused follow (wrong host, port or replica set name)
        // must not leave a client behind that monitors that endpoint for the life of the node
        try (MongoClient client = clients.newClient(endpoint)) {
            boolean mongos = WireVersions.isMongos(client);
            OplogPosition start;
            SourceMode source;
            if (mongos) {
                // a sharded cluster: each shard's oplog (where the follow's user may read them all), else the change stream
                ShardsProbe shards = requested == SourceMode.CHANGE_STREAM ? null
                    : probeShards(clients, endpoint, client, database, collection, requested == SourceMode.AUTO);
                source = requested == SourceMode.AUTO ? (shards.readable() ? SourceMode.OPLOG : SourceMode.CHANGE_STREAM) : requested;
                start = source == SourceMode.OPLOG ? shards.start() : streamStart(client, database, collection);
            } else {
                start = new OplogReader(client, database, collection).majorityCommitPoint();
                source = requested == SourceMode.AUTO ? (oplogReadable(client) ? SourceMode.OPLOG : SourceMode.CHANGE_STREAM) : requested;
            }
            if (source == SourceMode.CHANGE_STREAM) {
                int wireVersion = WireVersions.of(client);
                if (fullDocument == FullDocumentMode.WHEN_AVAILABLE && wireVersion < WireVersions.MONGODB_6_0) {
                    throw new IllegalArgumentException("[full_document] [when_available] needs MongoDB 6.0 or later (post-images); MongoDB at ["
                        + where + "] reports wire version " + wireVersion + ": use [default] or [update_lookup]");
                }
                try {
                    new ChangeStreamReader(client, database + "." + collection, fullDocument).tail(start, 1, 1, 1, () -> true);
                } catch (OplogFeed.HistoryLostException e) {
                    throw new IllegalStateException("MongoDB cannot start a change stream at its own majority commit point " + start);
                }
            }
            return new Probe(start, source);
        } catch (OplogReader.NotAReplicaSetException | OplogReader.NotThePrimaryException e) {
            throw new MongoUpstreamException.MongoNotFollowableException("MongoDB at [{}] cannot be followed: {}", where, e.getMessage());
        } catch (MongoTimeoutException e) {
            throw new MongoUpstreamException.MongoUnreachableException(
                "cannot reach a MongoDB replica set member at [{}] within the server selection timeout; check the hosts, the replica set name and the network",
                where
            );
        } catch (MongoSecurityException e) {
            // never e.getMessage(): the driver's message names the credential (user name, mechanism, source)
            throw new MongoUpstreamException.MongoAuthenticationException(
                "MongoDB at [{}] refused the credentials of the follow's client (authentication failed{}); check "
                    + "mongo_follow.client.{}.username and mongo_follow.client.{}.password in the keystore, and that the server "
                    + "has authentication enabled",
                where,
                serverAnswer(e),
                clientName(endpoint),
                clientName(endpoint)
            );
        } catch (IllegalStateException e) {
            // an answer the oplog cannot be followed from (no majority commit point reported)
            throw new MongoUpstreamException.MongoCommandFailedException("MongoDB at [{}] cannot be followed: {}", where, e.getMessage());
        } catch (MongoException e) {
            throw new MongoUpstreamException.MongoCommandFailedException("MongoDB at [{}] answered with error {}: {}", where, e.getCode(), MongoErrors.safeMessage(e));
        }
    }

    /**
     * Where a follow through mongos starts: just before the cluster time at which a change stream opened now starts (the
     * time of its first post-batch resume token). mongos has no majority commit point to ask, and it starts a stream with no
     * start option at the cluster's time then; every event from there on comes after this position.
     */
    private static OplogPosition streamStart(MongoClient client, String database, String collection) {
        BsonDocument reply = client.getDatabase(database).runCommand(new BsonDocument("aggregate", new BsonString(collection))
            .append("pipeline", new BsonArray(List.of(new BsonDocument("$changeStream", new BsonDocument()))))
            .append("cursor", new BsonDocument("batchSize", new BsonInt32(0))), BsonDocument.class);
        BsonDocument cursor = reply.getDocument("cursor", new BsonDocument());
        long id = cursor.getInt64("id", new BsonInt64(0)).getValue();
        if (id != 0) {
            client.getDatabase(database).runCommand(new BsonDocument("killCursors", new BsonString(collection))
                .append("cursors", new BsonArray(List.of(new BsonInt64(id)))));
        }
        OplogPosition time = cursor.get("postBatchResumeToken") instanceof BsonDocument token ? ResumeTokenTimes.clusterTime(token) : null;
        if (time == null) {
            throw new IllegalStateException("mongos answered a change stream without a post-batch resume token to start from");
        }
        return new OplogPosition(time.key() - 1);
    }

    /** What the shards of a sharded cluster say: whether every shard's oplog is readable, and the lowest majority commit point. */
    private record ShardsProbe(boolean readable, OplogPosition start) {}

    /**
     * Asks every shard ({@code config.shards}) directly: a follow of the shards' oplogs starts at the lowest of their
     * majority commit points, where every shard has committed everything before it.
     */
    private static ShardsProbe probeShards(MongoClientService clients, MongoEndpoint endpoint, MongoClient mongos, String database,
        String collection, boolean auto) {
        // a shard removed after the lowest majority commit point (a quiet shard's lags by up to its no-op interval, 10 s on
        // MongoDB) would be a removal after the follow's start that the follow's nodes never saw (ShardedOplogReader): what it
        // held is in the copy, which reads after it, so the start waits until every shard has gone past the removal
        long deadline = System.nanoTime() + REMOVAL_WAIT.nanos();
        while (true) {
            ShardsProbe probe = probeShardsOnce(clients, endpoint, mongos, database, collection, auto);
            if (probe.start() == null || removedAfter(mongos, probe.start()) == false || System.nanoTime() - deadline > 0) {
                return probe;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return probe;
            }
        }
    }

    /** How long a follow's start waits for the shards to pass a removal of a shard just before it. */
    static final org.elasticsearch.core.TimeValue REMOVAL_WAIT = org.elasticsearch.core.TimeValue.timeValueSeconds(30);

    /** Whether {@code config.changelog} records a shard's removal after {@code start}, as the reads from it would count it. */
    private static boolean removedAfter(MongoClient mongos, OplogPosition start) {
        try {
            return ShardedOplogReader.removals(mongos, ShardedOplogReader.removalsAfterMillis(start)).isEmpty() == false;
        } catch (com.mongodb.MongoServerException e) {
            return false; // (a user who may not read config.changelog: the reads warn of it)
        }
    }

    private static ShardsProbe probeShardsOnce(MongoClientService clients, MongoEndpoint endpoint, MongoClient mongos, String database,
        String collection, boolean auto) {
        boolean readable = true;
        OplogPosition start = null;
        for (ShardedOplogReader.Shard shard : ShardedOplogReader.shards(mongos)) {
            try (MongoClient client = clients.newShardClient(endpoint, shard)) {
                OplogPosition majority = new OplogReader(client, database, collection).majorityCommitPoint();
                start = start == null ? majority : OplogPosition.min(start, majority);
                readable &= oplogReadable(client);
            } catch (RuntimeException e) {
                if (auto == false) {
                    throw e;
                }
                // auto: shards this node cannot reach, may not connect to or log in to (only the mongos is exposed, the
                // allowlist names only it, the shards have other users) are read through the mongos's change stream
                return new ShardsProbe(false, null);
            }
        }
        return new ShardsProbe(readable, start);
    }

    /** Whether the connection's user may read the oplog: refused with Unauthorized (13) is not readable. */
    private static boolean oplogReadable(MongoClient client) {
        try {
            client.getDatabase("local").getCollection("oplog.rs").find().limit(1).first();
            return true;
        } catch (com.mongodb.MongoServerException e) {
            if (e.getCode() == MongoErrors.UNAUTHORIZED) {
                return false;
            }
            throw e;
        }
    }

    private static String clientName(MongoEndpoint endpoint) {
        return endpoint.clientName() == null ? "NAME" : endpoint.clientName();
    }

    /**
     * What the server answered to the authentication, when it answered with a command error: its code,
     * code name and message come from the server and never contain the client's credentials.
     */
    static String serverAnswer(MongoSecurityException e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof MongoCommandException command) {
                return ": the server answered error " + command.getErrorCode()
                    + (command.getErrorCodeName().isEmpty() ? "" : " (" + command.getErrorCodeName() + ")")
                    + ": " + command.getErrorMessage();
            }
        }
        return "";
    }
}

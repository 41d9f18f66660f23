package org.mongofollow.source;

import com.mongodb.client.MongoClient;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.RawBsonDocument;
import org.bson.conversions.Bson;
import com.mongodb.client.model.Filters;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.core.Nullable;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The oplogs of a sharded cluster's shards read as one history, for a follow through mongos in oplog mode. The shards are
 * those {@code config.shards} lists (read through the mongos at each read, so a shard added while following is read from
 * the next read on), each read at its own replica set with {@link OplogReader}, and their entries merged in {@code ts}
 * order. A read returns the entries of every shard up to the lowest position all shards have read to (each only to its
 * own majority commit point): an entry is never returned before the entries of other shards that come before it, and a
 * quiet shard holds the merge back until its periodic no-op writes move it on. One position, the cluster time, orders
 * them all: MongoDB's cluster time is a hybrid logical clock, so a write on a chunk's new shard after a migration has a
 * later {@code ts} than the old shard's last write of the document. A migration's own entries ({@code fromMigrate}) are
 * read and skipped when decoded ({@link OplogEntryDecoder}), as on a replica set. A shard removed from the cluster is read on to
 * the end of what it held ({@link ShardRoster}), by every read from before that; one removed with chunks of a followed
 * collection still its stops the follow with an explained error, and one removed after a read's start that this node has
 * not seen (it started after the removal) is history lost.
 * <p>
 * A shard's history is lost when its oplog no longer reaches back to the read's start, unless it was added to the
 * cluster after the oldest entry it still holds ({@code config.shards.topologyTime}, MongoDB 5.0 and later): before that
 * it held nothing of the cluster. The error names the shard.
 */
public final class ShardedOplogReader implements HistoryReader {

    /** A shard as {@code config.shards} lists it: its id, its hosts ({@code rsName/host:port,...}) and when it was added. */
    public record Shard(String id, String hosts, @Nullable OplogPosition addedAt) {}

    /** How the shards are reached: the node's client of a shard. */
    public interface ShardClients {
        MongoClient client(Shard shard);

        /** The shards the node's feed has read so far (to read removed ones to their end), or null to list them each read. */
        @Nullable
        default ShardRoster roster() {
            return null;
        }
    }

    private static final org.apache.logging.log4j.Logger LOGGER = org.apache.logging.log4j.LogManager.getLogger(ShardedOplogReader.class);

    /** A router without shards to reach (tests of single replica sets). */
    public static final ShardClients NONE = shard -> {
        throw new IllegalStateException("no client for the shard [" + shard.id() + "] of a sharded cluster");
    };

    /** How often a tailing read asks every shard again while none has anything past the start. */
    static final long POLL_MILLIS = 100;

    private final List<Shard> shards;
    private final List<OplogReader> readers;
    @Nullable
    private final ShardRoster roster;
    /** The router, to ask {@code config.changelog} for removals (null: asked already, or not to be asked). */
    @Nullable
    private final MongoClient mongos;

    ShardedOplogReader(List<Shard> shards, List<OplogReader> readers, @Nullable ShardRoster roster, @Nullable MongoClient mongos) {
        this.shards = List.copyOf(shards);
        this.readers = List.copyOf(readers);
        this.roster = roster;
        this.mongos = mongos;
    }

    /** The reader of every shard {@code config.shards} lists now. */
    public static ShardedOplogReader of(MongoClient mongos, ShardClients clients, Set<String> namespaces, CircuitBreaker breaker, boolean essential) {
        ShardRoster roster = clients.roster();
        List<Shard> listed = shards(mongos);
        List<Shard> shards = roster == null ? listed : roster.toRead(listed, removed -> refuseIfItHoldsChunks(mongos, namespaces, removed));
        List<OplogReader> readers = new ArrayList<>();
        for (Shard shard : shards) {
            OplogReader reader = new OplogReader(clients.client(shard), namespaces);
            readers.add(breaker == null ? reader : reader.charging(breaker, essential));
        }
        return new ShardedOplogReader(shards, readers, roster, mongos);
    }

    /**
     * A shard gone from {@code config.shards} that {@code config.chunks} still gives chunks of a followed collection was not
     * drained (a forced removal): what it held is no longer part of the cluster, and the follow cannot tell what to do
     * with it. An explained error stops the follow.
     */
    private static void refuseIfItHoldsChunks(MongoClient mongos, Set<String> namespaces, Shard removed) {
        var config = mongos.getDatabase("config");
        for (String namespace : namespaces) {
            BsonDocument collection = config.getCollection("collections", BsonDocument.class).find(Filters.eq("_id", namespace)).first();
            List<Bson> owners = new ArrayList<>(List.of(Filters.eq("ns", namespace))); // chunks by namespace before 5.0
            if (collection != null && collection.get("uuid") != null) {
                owners.add(Filters.eq("uuid", collection.get("uuid"))); // by the collection's uuid from 5.0
            }
            if (config.getCollection("chunks", BsonDocument.class).find(Filters.and(Filters.or(owners), Filters.eq("shard", removed.id())))
                .first() != null) {
                throw new IllegalStateException("MongoDB shard [" + removed.id() + "] is gone from config.shards while config.chunks still "
                    + "gives it chunks of [" + namespace + "] (a shard removed without draining its chunks): the documents it held "
                    + "are no longer in the cluster and the follow cannot go on; restore the shard, or move its chunks and _resync the follow");
            }
        }
    }

    /** The shards of the cluster behind {@code mongos}, from {@code config.shards}. */
    public static List<Shard> shards(MongoClient mongos) {
        List<Shard> shards = new ArrayList<>();
        for (BsonDocument shard : mongos.getDatabase("config").getCollection("shards", BsonDocument.class).find()) {
            OplogPosition addedAt = shard.get("topologyTime") instanceof BsonTimestamp ts ? OplogPosition.of(ts) : null;
            shards.add(new Shard(shard.getString("_id").getValue(), shard.getString("host").getValue(), addedAt));
        }
        if (shards.isEmpty()) {
            throw new IllegalStateException("the sharded cluster lists no shards in config.shards");
        }
        return shards;
    }

    public List<Shard> shardList() {
        return shards;
    }

    /**
     * This reader for a read from {@code from}: without the removed shards that hold nothing after it. A removed shard this
     * node has not seen, which a read from there needs, is history lost ({@link ShardRoster#removedUnseen}): one whose
     * removal {@code config.changelog} dates in a later second than {@code from}'s (its wall-clock time and the cluster time
     * are both the servers' clocks, in seconds here). A removal in the same second as {@code from} is taken as before it: a
     * shard's last change as a shard comes well before its removal ends (its chunks move away first), and a resync, which
     * starts at the cluster's time after a removal, must not find it again.
     */
    private ShardedOplogReader readingFrom(OplogPosition from) {
        if (roster == null) {
            return this;
        }
        if (mongos != null && from.equals(OplogPosition.MIN) == false && roster.changelogUnreadable() == false) {
            ShardRoster.Removal removal;
            try {
                removal = roster.removedUnseen(from, removalsAfterMillis(from), since -> removals(mongos, since));
            } catch (com.mongodb.MongoServerException e) {
                if (e.getCode() != MongoErrors.UNAUTHORIZED) {
                    throw e;
                }
                roster.changelogUnreadable(true);
                LOGGER.warn("the follow's MongoDB user may not read config.changelog through mongos: a shard removed while this node "
                    + "was not following cannot be told, and the changes it held before its removal would be missed; grant find on "
                    + "config.changelog (README, sharded clusters)");
                removal = null;
            }
            if (removal != null) {
                throw new OplogFeed.HistoryLostException(from, removal.shard(), "MongoDB shard [" + removal.shard() + "] was removed from the cluster at "
                    + java.time.Instant.ofEpochMilli(removal.timeMillis()) + " (config.changelog), after position " + from
                    + ", and this node has not read it: the changes it held before its removal can no longer be read");
            }
        }
        List<Shard> kept = new ArrayList<>();
        List<OplogReader> keptReaders = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            if (roster.readsNothingAfter(shards.get(i).id(), from) == false) {
                kept.add(shards.get(i));
                keptReaders.add(readers.get(i));
            }
        }
        return kept.size() == shards.size() ? this : new ShardedOplogReader(kept, keptReaders, roster, null);
    }

    /**
     * From when a removal counts as after {@code from}: from the next wall-clock second (see {@link #readingFrom}, and the
     * start of a follow, which waits for the shards to pass a removal: {@code MongoProbe}).
     */
    static long removalsAfterMillis(OplogPosition from) {
        return (from.seconds() + 1L) * 1000L;
    }

    /** The shards' removals recorded in {@code config.changelog} at or after {@code sinceMillis}. */
    static List<ShardRoster.Removal> removals(MongoClient mongos, long sinceMillis) {
        List<ShardRoster.Removal> removals = new ArrayList<>();
        for (BsonDocument change : mongos.getDatabase("config").getCollection("changelog", BsonDocument.class)
            .find(Filters.and(Filters.eq("what", "removeShard"), Filters.gte("time", new java.util.Date(sinceMillis))))) {
            if (change.get("details") instanceof BsonDocument details && details.get("shard") instanceof org.bson.BsonString shard
                && change.get("time") instanceof org.bson.BsonDateTime time) {
                removals.add(new ShardRoster.Removal(shard.getValue(), time.getValue()));
            }
        }
        return removals;
    }

    @Override
    public OplogReader.Batch readRange(OplogPosition from, OplogPosition to, int maxOperations, long maxBytes) {
        ShardedOplogReader reading = readingFrom(from);
        if (reading != this) {
            return reading.readRange(from, to, maxOperations, maxBytes);
        }
        List<OplogReader.Batch> batches = new ArrayList<>();
        for (int i = 0; i < readers.size(); i++) {
            batches.add(readers.get(i).readRange(from, to, maxOperations, maxBytes));
        }
        checkHistory(from);
        return done(withShards(merge(from, batches, shardIds(), maxOperations), batches), batches);
    }

    @Override
    public OplogReader.Batch tail(OplogPosition from, int maxOperations, long maxBytes, long timeoutMillis, BooleanSupplier abandon) {
        ShardedOplogReader reading = readingFrom(from);
        if (reading != this) {
            return reading.tail(from, maxOperations, maxBytes, timeoutMillis, abandon);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            List<OplogReader.Batch> batches = new ArrayList<>();
            for (OplogReader reader : readers) {
                batches.add(reader.tail(from, maxOperations, maxBytes, 0, abandon)); // what each has now, without waiting
            }
            OplogReader.Batch merged = withShards(merge(from, batches, shardIds(), maxOperations), batches);
            if (merged.entries().isEmpty() == false || merged.scannedTo().after(from) || System.nanoTime() - deadline >= 0
                || abandon.getAsBoolean()) {
                checkHistory(from);
                return done(merged, batches);
            }
            try {
                Thread.sleep(Math.max(1, Math.min(POLL_MILLIS, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return merged;
            }
        }
    }

    private List<String> shardIds() {
        return shards.stream().map(Shard::id).toList();
    }

    /** An entry of a shard's oplog. */
    private record ShardEntry(RawBsonDocument entry, OplogPosition position, String shard) {}

    /**
     * Every shard's entries (the batch of shard {@code shardIds[i]} at {@code i}) up to the lowest position all of them have
     * read to, in {@code ts} order (a shard's own order kept), cut after about {@code maxOperations} at a position
     * boundary, each with the shard it comes from.
     */
    static OplogReader.Batch merge(OplogPosition from, List<OplogReader.Batch> batches, List<String> shardIds, int maxOperations) {
        OplogPosition upTo = null;
        OplogPosition majority = null;
        for (OplogReader.Batch batch : batches) {
            upTo = upTo == null ? batch.scannedTo() : OplogPosition.min(upTo, batch.scannedTo());
            majority = majority == null ? batch.majorityCommitPoint() : OplogPosition.min(majority, batch.majorityCommitPoint());
        }
        List<ShardEntry> merged = new ArrayList<>();
        for (int i = 0; i < batches.size(); i++) {
            for (RawBsonDocument entry : batches.get(i).entries()) {
                OplogPosition position = OplogReader.position(entry);
                if (position.compareTo(upTo) <= 0) {
                    merged.add(new ShardEntry(entry, position, shardIds.get(i)));
                }
            }
        }
        merged.sort(Comparator.comparing(ShardEntry::position)); // stable: each shard's entries keep their order
        if (merged.size() > maxOperations) {
            int cut = maxOperations;
            while (cut < merged.size() && merged.get(cut).position().equals(merged.get(cut - 1).position())) {
                cut++;
            }
            upTo = merged.get(cut - 1).position();
            merged = merged.subList(0, cut);
        }
        List<RawBsonDocument> entries = new ArrayList<>(merged.size());
        List<String> entryShards = new ArrayList<>(merged.size());
        long bytes = 0;
        for (ShardEntry entry : merged) {
            entries.add(entry.entry());
            entryShards.add(entry.shard());
            bytes += entry.entry().getByteBuffer().remaining();
        }
        return new OplogReader.Batch(entries, upTo.compareTo(from) < 0 ? from : upTo, majority, bytes, null, null, entryShards);
    }

    /** A read that succeeded: the roster learns each shard's majority commit point then. */
    private OplogReader.Batch done(OplogReader.Batch merged, List<OplogReader.Batch> batches) {
        if (roster != null) {
            Map<String, OplogPosition> majorities = new TreeMap<>();
            for (int i = 0; i < shards.size(); i++) {
                majorities.put(shards.get(i).id(), batches.get(i).majorityCommitPoint());
            }
            roster.afterRead(majorities);
        }
        return merged;
    }

    /** The merged batch with how far each shard's oplog was read (its own batch's end). */
    private OplogReader.Batch withShards(OplogReader.Batch merged, List<OplogReader.Batch> batches) {
        Map<String, OplogPosition> readTo = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            readTo.put(shards.get(i).id(), batches.get(i).scannedTo());
        }
        return new OplogReader.Batch(merged.entries(), merged.scannedTo(), merged.majorityCommitPoint(), merged.bytes(), null, readTo, merged.entryShards());
    }

    /** Whether a shard's oplog has lost entries after {@code from} that it wrote as a shard of the cluster. */
    private void checkHistory(OplogPosition from) {
        if (from.equals(OplogPosition.MIN)) {
            return;
        }
        for (int i = 0; i < readers.size(); i++) {
            OplogPosition oldest = readers.get(i).oldestPosition();
            Shard shard = shards.get(i);
            if (oldest != null && oldest.after(from) && (shard.addedAt() == null || oldest.after(shard.addedAt()))) {
                throw new OplogFeed.HistoryLostException(from, oldest, shard.id());
            }
        }
    }

    /** Checked by the reader itself, shard by shard (see {@link #checkHistory}). */
    @Override
    @Nullable
    public OplogPosition oldestPosition() {
        return null;
    }

    /**
     * The entry at {@code position} in the oplog of shard {@code shardId} (a transaction's earlier entries, which are in the
     * oplog of the shard that commits it: another shard's entry may have the same {@code ts}); null when that shard's oplog
     * no longer holds it, or the shard is no longer read.
     */
    @Nullable
    public RawBsonDocument entryAt(OplogPosition position, String shardId) {
        for (int i = 0; i < shards.size(); i++) {
            if (shards.get(i).id().equals(shardId)) {
                return readers.get(i).entryAt(position);
            }
        }
        return null;
    }
}

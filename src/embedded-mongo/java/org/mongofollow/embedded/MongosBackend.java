package org.mongofollow.embedded;

import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import io.netty.channel.Channel;

/**
 * A mongos: the router of a sharded cluster in this process ({@link ShardedCluster}). It answers {@code hello} as mongos
 * ({@code msg: "isdbgrid"}, no replica set), routes each write to the shard that owns its document's shard key (or the
 * database's primary shard for an unsharded collection), sends a query to the shard that owns the exact key it names or
 * to every shard with chunks and merges their cursors (sort, skip and limit applied here), merges aggregations ($sample,
 * counts, groups of sums, sorts), serves change streams merged from the shards' ({@link MergedChangeStream}), forwards
 * the {@code config} database to the config server, and runs the sharding commands: {@code enableSharding},
 * {@code shardCollection} (range and hashed keys), {@code split}, {@code moveChunk}, {@code addShard},
 * {@code listShards}. A chunk migration copies the chunk's documents to the recipient and deletes them from the donor,
 * both with {@code fromMigrate: true} entries as mongod's migrations write them; it runs while no other command is
 * routed, so reads never see a document twice or miss one (no orphans are ever visible). Shards are called in process;
 * one that is stopped answers HostUnreachable, as mongos reports a shard it cannot reach. Transactions are refused.
 */
final class MongosBackend extends MemoryBackend implements ServedBackend {

    private final ShardingCatalog catalog;
    private final OplogClock clusterClock;
    private final ServerVersion version;
    private final ServerCounters counters = new ServerCounters();
    private final MongosCursors cursors;
    /** Routed commands hold it shared; a chunk migration holds it alone. */
    private final ReentrantReadWriteLock routing = new ReentrantReadWriteLock();
    /** Servers that {@code addShard} may add, by their {@code host:port}. */
    private final Function<String, EmbeddedMongo> knownServers;

    MongosBackend(ShardingCatalog catalog, OplogClock clusterClock, ServerVersion version, Function<String, EmbeddedMongo> knownServers) {
        super(Clock.systemUTC());
        this.catalog = catalog;
        this.clusterClock = clusterClock;
        this.version = version;
        this.knownServers = knownServers;
        this.cursors = new MongosCursors(getCursorRegistry());
    }

    @Override
    public ServerCounters counters() {
        return counters;
    }

    @Override
    public boolean isAwaitingGetMore(Document command) {
        return cursors.awaits(command);
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        counters.command(command, query);
        Document reply = dispatch(databaseName, command, query);
        counters.reply(reply);
        if (reply != null) {
            // as a mongos answers: the cluster's time, at or after every shard's entry of the operation, which a client's
            // session keeps as its operationTime
            reply.put("operationTime", new BsonTimestamp(clusterTime()));
        }
        return reply;
    }

    private Document dispatch(String db, String command, Document query) {
        String cmd = command.toLowerCase(Locale.ROOT);
        switch (cmd) {
            case "hello", "ismaster":
                return hello(cmd.equals("hello"));
            case "buildinfo":
                return catalog.configServer().backend().handleCommand(ReplicaSetBackend.INTERNAL, "admin", command, query);
            case "ping", "endsessions", "killsessions", "refreshsessions", "startsession", "getlog", "getparameter",
                "getcmdlineopts", "whatsmyuri", "connectionstatus":
                return new Document("ok", 1.0);
            case "serverstatus":
                return counters.serverStatus(new Document("host", "embedded-mongos").append("version", version.versionString())
                    .append("process", "mongos").append("ok", 1.0));
            case "getmore":
                return cursors.getMore(query);
            case "killcursors":
                return cursors.kill(query);
            case "listdatabases":
                return listDatabases(query);
            case "listshards":
                return new Document("shards", catalog.shards().stream()
                    .map(s -> new Document("_id", s.id()).append("host", s.host()).append("state", 1)).toList()).append("ok", 1.0);
            case "enablesharding":
                catalog.primary(String.valueOf(query.get(command)));
                return new Document("ok", 1.0);
            case "shardcollection":
                return exclusive(() -> shardCollection(String.valueOf(query.get(command)), query));
            case "split":
                return exclusive(() -> split(String.valueOf(query.get(command)), query));
            case "movechunk":
                return exclusive(() -> moveChunk(String.valueOf(query.get(command)), query));
            case "addshard":
                return exclusive(() -> addShard(query.get(command), query));
            case "removeshard":
                return exclusive(() -> removeShard(String.valueOf(query.get(command))));
            case "committransaction", "aborttransaction":
                throw transactionsRefused();
            default:
                break;
        }
        if (Boolean.FALSE.equals(query.get("autocommit"))) {
            throw transactionsRefused();
        }
        if (db.equals("local")) {
            throw new MongoServerError(20, "IllegalOperation", "Can't use 'local' database through mongos");
        }
        if (db.equals("config")) {
            return fromConfigServer(command, query);
        }
        if (db.equals("admin")) {
            throw new MongoServerError(59, "CommandNotFound", "no such command: '" + command + "' on the embedded mongos");
        }
        routing.readLock().lock();
        try {
            return route(db, command, cmd, query);
        } finally {
            routing.readLock().unlock();
        }
    }

    private Document route(String db, String command, String cmd, Document query) {
        return switch (cmd) {
            case "insert" -> insert(db, query);
            case "update" -> update(db, query);
            case "delete" -> delete(db, query);
            case "findandmodify" -> findAndModify(db, query);
            case "find" -> find(db, query);
            case "count" -> count(db, query);
            case "aggregate" -> aggregate(db, query);
            case "distinct" -> distinct(db, query);
            case "drop" -> {
                String ns = db + "." + query.get(command);
                Document reply = everyHolder(ns, db, command, query);
                catalog.dropCollection(ns);
                yield reply;
            }
            case "createindexes", "dropindexes", "collmod" -> everyHolder(db + "." + query.get(command), db, command, query);
            case "dropdatabase" -> {
                Document reply = null;
                for (ShardingCatalog.Shard shard : catalog.shards()) {
                    reply = call(shard, db, command, query);
                }
                catalog.dropDatabase(db);
                yield reply;
            }
            case "renamecollection" -> {
                String from = String.valueOf(query.get(command));
                if (catalog.collection(from) != null) {
                    throw new MongoServerError(20, "IllegalOperation", "cannot rename a sharded collection " + from);
                }
                yield call(catalog.primary(from.substring(0, from.indexOf('.'))), db, command, query);
            }
            default -> wrapCursor(db, catalog.primary(db), command, query);
        };
    }

    private static MongoServerError transactionsRefused() {
        return new MongoServerError(263, "OperationNotSupportedInTransaction",
            "transactions through the mongo-follow embedded mongos are not supported: run them on a shard's replica set");
    }

    // ---------------------------------------------------------------- shards

    /** Runs a command on a shard, as HostUnreachable when it is down; session fields stay at the mongos. */
    Document call(ShardingCatalog.Shard shard, String db, String command, Document query) {
        if (shard.server().isRunning() == false) {
            throw new MongoServerError(6, "HostUnreachable", "Connection refused: shard " + shard.id() + " at " + shard.host()
                + " is unreachable");
        }
        Document forwarded = new Document(query);
        for (String field : SESSION_FIELDS) {
            forwarded.remove(field);
        }
        Document reply = shard.backend().handleCommand(ReplicaSetBackend.INTERNAL, db, command, forwarded);
        if (reply.get("ok") instanceof Number ok && ok.doubleValue() == 0 && reply.get("code") instanceof Number code) {
            throw new MongoServerError(code.intValue(), String.valueOf(reply.getOrDefault("codeName", "")),
                String.valueOf(reply.get("errmsg")));
        }
        return reply;
    }

    private static final Set<String> SESSION_FIELDS = Set.of("lsid", "txnNumber", "$clusterTime", "autocommit", "startTransaction",
        "$readPreference");

    /** A command's answer with its cursor, if any, held by the mongos. */
    private Document wrapCursor(String db, ShardingCatalog.Shard shard, String command, Document query) {
        Document reply = call(shard, db, command, query);
        if (!(reply.get("cursor") instanceof Document cursor)) {
            return reply;
        }
        String ns = String.valueOf(cursor.get("ns"));
        List<Document> all = drain(shard, db, cursor);
        return cursors.firstReply(new MongosCursors.ListCursor(ns, all), Integer.MAX_VALUE, false);
    }

    /** Every document of a shard's cursor, from its first batch on. */
    private List<Document> drain(ShardingCatalog.Shard shard, String db, Document cursor) {
        List<Document> all = new ArrayList<>();
        for (Object o : (List<?>) cursor.get("firstBatch")) {
            all.add((Document) o);
        }
        long id = ((Number) cursor.get("id")).longValue();
        String collection = collectionOf(String.valueOf(cursor.get("ns")));
        while (id != 0) {
            Document next = (Document) call(shard, db, "getMore", new Document("getMore", id).append("collection", collection)).get("cursor");
            for (Object o : (List<?>) next.get("nextBatch")) {
                all.add((Document) o);
            }
            id = ((Number) next.get("id")).longValue();
        }
        return all;
    }

    private static String collectionOf(String namespace) {
        return namespace.substring(namespace.indexOf('.') + 1);
    }

    private Document everyHolder(String ns, String db, String command, Document query) {
        Document primaryReply = null;
        ShardingCatalog.Shard primary = catalog.primary(db);
        for (ShardingCatalog.Shard shard : catalog.holders(ns)) {
            try {
                Document reply = call(shard, db, command, query);
                if (shard.equals(primary)) {
                    primaryReply = reply;
                }
            } catch (MongoServerError e) {
                if (shard.equals(primary)) {
                    throw e;
                }
            }
        }
        return primaryReply;
    }

    private Document fromConfigServer(String command, Document query) {
        Document reply = catalog.configServer().backend().handleCommand(ReplicaSetBackend.INTERNAL, "config", command, query);
        if (reply.get("cursor") instanceof Document cursor && ((Number) cursor.get("id")).longValue() != 0) {
            throw new MongoServerError(2, "BadValue", "read the config database in one batch through the embedded mongos");
        }
        return reply;
    }

    // ---------------------------------------------------------------- writes

    private Document insert(String db, Document query) {
        String coll = String.valueOf(query.get("insert"));
        String ns = db + "." + coll;
        List<?> documents = (List<?>) query.get("documents");
        boolean ordered = Boolean.FALSE.equals(query.get("ordered")) == false;
        int n = 0;
        List<Document> writeErrors = new ArrayList<>();
        int i = 0;
        while (i < documents.size()) {
            ShardingCatalog.Shard shard = catalog.owner(ns, (Document) documents.get(i));
            int start = i;
            List<Object> run = new ArrayList<>();
            while (i < documents.size() && catalog.owner(ns, (Document) documents.get(i)).equals(shard)) {
                run.add(documents.get(i++));
            }
            Document sub = new Document(query);
            sub.put("documents", run);
            Document reply = call(shard, db, "insert", sub);
            n += ((Number) reply.getOrDefault("n", 0)).intValue();
            if (reply.get("writeErrors") instanceof List<?> errors && errors.isEmpty() == false) {
                for (Object e : errors) {
                    Document error = new Document((Document) e);
                    error.put("index", start + ((Number) error.get("index")).intValue());
                    writeErrors.add(error);
                }
                if (ordered) {
                    break;
                }
            }
        }
        Document reply = new Document("n", n);
        if (writeErrors.isEmpty() == false) {
            reply.put("writeErrors", writeErrors);
        }
        return reply.append("ok", 1.0);
    }

    private Document update(String db, Document query) {
        String coll = String.valueOf(query.get("update"));
        String ns = db + "." + coll;
        int n = 0;
        int modified = 0;
        List<Document> upserted = new ArrayList<>();
        List<Document> writeErrors = new ArrayList<>();
        List<?> updates = (List<?>) query.get("updates");
        for (int i = 0; i < updates.size(); i++) {
            Document statement = (Document) updates.get(i);
            Document filter = (Document) statement.getOrDefault("q", new Document());
            boolean multi = Boolean.TRUE.equals(statement.get("multi"));
            boolean upsert = Boolean.TRUE.equals(statement.get("upsert"));
            List<ShardingCatalog.Shard> targets = multi ? catalog.targets(ns, filter) : List.of(singleTarget(ns, db, coll, filter, upsert));
            for (ShardingCatalog.Shard shard : targets) {
                Document sub = new Document(query);
                sub.put("updates", List.of(statement));
                Document reply = call(shard, db, "update", sub);
                n += ((Number) reply.getOrDefault("n", 0)).intValue();
                modified += ((Number) reply.getOrDefault("nModified", 0)).intValue();
                if (reply.get("upserted") instanceof List<?> list) {
                    for (Object u : list) {
                        upserted.add(new Document((Document) u).append("index", i));
                    }
                }
                if (reply.get("writeErrors") instanceof List<?> errors) {
                    for (Object e : errors) {
                        writeErrors.add(new Document((Document) e).append("index", i));
                    }
                }
            }
            if (writeErrors.isEmpty() == false && Boolean.FALSE.equals(query.get("ordered")) == false) {
                break;
            }
        }
        Document reply = new Document("n", n).append("nModified", modified);
        if (upserted.isEmpty() == false) {
            reply.put("upserted", upserted);
        }
        if (writeErrors.isEmpty() == false) {
            reply.put("writeErrors", writeErrors);
        }
        return reply.append("ok", 1.0);
    }

    private Document delete(String db, Document query) {
        String coll = String.valueOf(query.get("delete"));
        String ns = db + "." + coll;
        int n = 0;
        for (Object d : (List<?>) query.get("deletes")) {
            Document statement = (Document) d;
            Document filter = (Document) statement.getOrDefault("q", new Document());
            boolean one = statement.get("limit") instanceof Number limit && limit.intValue() == 1;
            List<ShardingCatalog.Shard> targets = one ? List.of(singleTarget(ns, db, coll, filter, false)) : catalog.targets(ns, filter);
            for (ShardingCatalog.Shard shard : targets) {
                Document sub = new Document(query);
                sub.put("deletes", List.of(statement));
                n += ((Number) call(shard, db, "delete", sub).getOrDefault("n", 0)).intValue();
            }
        }
        return new Document("n", n).append("ok", 1.0);
    }

    private Document findAndModify(String db, Document query) {
        String coll = String.valueOf(query.get("findAndModify") != null ? query.get("findAndModify") : query.get("findandmodify"));
        Document filter = (Document) query.getOrDefault("query", new Document());
        ShardingCatalog.Shard shard = singleTarget(db + "." + coll, db, coll, filter, Boolean.TRUE.equals(query.get("upsert")));
        return call(shard, db, "findAndModify", query);
    }

    /**
     * The one shard a single-document write goes to: the owner of the exact key its filter names; else the shard of its
     * first match (sorted as the shards sort); an upsert without a match needs the exact key, as on mongos.
     */
    private ShardingCatalog.Shard singleTarget(String ns, String db, String coll, Document filter, boolean upsert) {
        List<ShardingCatalog.Shard> targets = catalog.targets(ns, filter);
        if (targets.size() == 1) {
            return targets.get(0);
        }
        for (ShardingCatalog.Shard shard : targets) {
            Document found = (Document) call(shard, db, "find", new Document("find", coll).append("filter", filter).append("limit", 1)
                .append("singleBatch", true).append("projection", new Document("_id", 1))).get("cursor");
            if (((List<?>) found.get("firstBatch")).isEmpty() == false) {
                return shard;
            }
        }
        if (upsert) {
            throw new MongoServerError(61, "ShardKeyNotFound", "Failed to target upsert by query :: could not extract exact shard key");
        }
        return targets.get(0); // matches nothing anywhere
    }

    // ---------------------------------------------------------------- reads

    private Document find(String db, Document query) {
        String coll = String.valueOf(query.get("find"));
        String ns = db + "." + coll;
        Document filter = (Document) query.getOrDefault("filter", new Document());
        long limit = query.get("limit") instanceof Number l ? Math.abs(l.longValue()) : 0;
        long skip = query.get("skip") instanceof Number s ? s.longValue() : 0;
        boolean singleBatch = Boolean.TRUE.equals(query.get("singleBatch")) || (query.get("limit") instanceof Number l && l.longValue() < 0);
        int batchSize = query.get("batchSize") instanceof Number b && b.intValue() > 0 ? b.intValue() : 101;
        Document shardQuery = new Document(query);
        shardQuery.remove("skip");
        shardQuery.remove("singleBatch");
        if (limit > 0) {
            shardQuery.put("limit", limit + skip);
        }
        List<MongosCursors.MergedFind.Part> parts = new ArrayList<>();
        for (ShardingCatalog.Shard shard : catalog.targets(ns, filter)) {
            Document cursor = (Document) call(shard, db, "find", shardQuery).get("cursor");
            List<Document> first = new ArrayList<>();
            for (Object o : (List<?>) cursor.get("firstBatch")) {
                first.add((Document) o);
            }
            parts.add(new MongosCursors.MergedFind.Part(shard, first, ((Number) cursor.get("id")).longValue()));
        }
        MongosCursors.MergedFind merged = new MongosCursors.MergedFind(ns, parts,
            MongosCursors.MergedFind.order((Document) query.get("sort")), limit, skip, new MongosCursors.MergedFind.ShardGetMore() {
                @Override
                public Document getMore(MongosCursors.MergedFind.Part part) {
                    return call(part.shard, db, "getMore", new Document("getMore", part.cursorId).append("collection", coll)
                        .append("batchSize", batchSize));
                }

                @Override
                public void kill(MongosCursors.MergedFind.Part part) {
                    try {
                        call(part.shard, db, "killCursors", new Document("killCursors", coll).append("cursors", List.of(part.cursorId)));
                    } catch (RuntimeException e) {
                        // an unreachable shard's cursor ends with it
                    }
                }
            });
        return cursors.firstReply(merged, batchSize, singleBatch);
    }

    private Document count(String db, Document query) {
        String ns = db + "." + query.get("count");
        Document filter = (Document) query.get("query");
        Document shardQuery = new Document(query);
        shardQuery.remove("skip");
        shardQuery.remove("limit");
        long n = 0;
        for (ShardingCatalog.Shard shard : catalog.targets(ns, filter)) {
            n += ((Number) call(shard, db, "count", shardQuery).get("n")).longValue();
        }
        n = Math.max(0, n - (query.get("skip") instanceof Number s ? s.longValue() : 0));
        if (query.get("limit") instanceof Number l && l.longValue() != 0) {
            n = Math.min(n, Math.abs(l.longValue()));
        }
        return new Document("n", n).append("ok", 1.0);
    }

    private Document distinct(String db, Document query) {
        String ns = db + "." + query.get("distinct");
        LinkedHashSet<Object> values = new LinkedHashSet<>();
        for (ShardingCatalog.Shard shard : catalog.targets(ns, (Document) query.get("query"))) {
            values.addAll((List<?>) call(shard, db, "distinct", query).get("values"));
        }
        return new Document("values", new ArrayList<>(values)).append("ok", 1.0);
    }

    private Document listDatabases(Document query) {
        Map<String, Document> databases = new LinkedHashMap<>();
        for (ShardingCatalog.Shard shard : catalog.shards()) {
            for (Object o : (List<?>) call(shard, "admin", "listDatabases", query).get("databases")) {
                Document d = (Document) o;
                databases.putIfAbsent(String.valueOf(d.get("name")), d);
            }
        }
        return new Document("databases", new ArrayList<>(databases.values())).append("ok", 1.0);
    }

    private Document aggregate(String db, Document query) {
        if (ChangeStreams.isChangeStream(query)) {
            return changeStream(db, query);
        }
        Object target = query.get("aggregate");
        List<?> pipeline = (List<?>) query.get("pipeline");
        int batchSize = query.get("cursor") instanceof Document c && c.get("batchSize") instanceof Number b && b.intValue() > 0
            ? b.intValue() : 101;
        if (!(target instanceof String coll)) {
            return wrapCursor(db, catalog.primary(db), "aggregate", query);
        }
        String ns = db + "." + coll;
        Document match = pipeline.isEmpty() == false && pipeline.get(0) instanceof Document first && first.get("$match") instanceof Document m
            ? m : null;
        List<ShardingCatalog.Shard> targets = catalog.targets(ns, match);
        List<Document> union = new ArrayList<>();
        for (ShardingCatalog.Shard shard : targets) {
            union.addAll(drain(shard, db, (Document) call(shard, db, "aggregate", query).get("cursor")));
        }
        List<Document> merged = targets.size() == 1 ? union : mergeAggregation(pipeline, union);
        return cursors.firstReply(new MongosCursors.ListCursor(ns, merged), batchSize, false);
    }

    /**
     * The shards' results of a pipeline that ran on each, merged as mongos's merging half would: a sample of the union, sums
     * of groups and counts summed again, a sort and a limit applied to the whole. Other stages ran on the shards already.
     */
    private List<Document> mergeAggregation(List<?> pipeline, List<Document> union) {
        List<Document> merge = new ArrayList<>();
        for (Object o : pipeline) {
            Document stage = (Document) o;
            String name = stage.keySet().iterator().next();
            Object spec = stage.get(name);
            switch (name) {
                case "$sample", "$sort", "$limit" -> merge.add(stage);
                case "$count" -> {
                    merge.clear();
                    merge.add(new Document("$group", new Document("_id", null).append((String) spec, new Document("$sum", "$" + spec))));
                    merge.add(new Document("$project", new Document("_id", 0)));
                }
                case "$group" -> {
                    Document group = new Document("_id", "$_id");
                    for (Map.Entry<String, Object> e : ((Document) spec).entrySet()) {
                        if (e.getKey().equals("_id")) {
                            continue;
                        }
                        if (!(e.getValue() instanceof Document acc) || acc.containsKey("$sum") == false) {
                            throw new MongoServerError(2, "BadValue", "the embedded mongos merges only $sum accumulators of a $group, got " + e.getValue());
                        }
                        group.put(e.getKey(), new Document("$sum", "$" + e.getKey()));
                    }
                    merge.clear();
                    merge.add(new Document("$group", group));
                }
                default -> {
                }
            }
        }
        if (merge.isEmpty()) {
            return union;
        }
        return Aggregation.fromPipeline(merge, this::resolveDatabase, resolveDatabase("admin"), null, oplog).runStages(union.stream());
    }

    /**
     * The cluster's time now: the shared clock's, or with shards in raw mode (whose oplogs hold what a test inserts, at
     * the times it gives), the newest time a shard has majority-committed.
     */
    private long clusterTime() {
        long now = 0;
        boolean raw = false;
        for (ShardingCatalog.Shard shard : catalog.shards()) {
            if (shard.server().isRawOplog()) {
                raw = true;
                now = Math.max(now, shard.server().majorityCommitPoint().getValue());
            }
        }
        return raw ? now : clusterClock.last();
    }

    private Document changeStream(String db, Document query) {
        List<?> pipeline = (List<?>) query.get("pipeline");
        Document spec = new Document((Document) ((Document) pipeline.get(0)).get("$changeStream"));
        List<Document> stages = pipeline.subList(1, pipeline.size()).stream().map(Document.class::cast).toList();
        long start;
        Document initial;
        Object token = spec.get("resumeAfter") != null ? spec.get("resumeAfter") : spec.get("startAfter");
        if (token instanceof Document t) {
            start = ResumeTokens.decode(t).clusterTime();
            initial = t;
        } else if (spec.get("startAtOperationTime") instanceof BsonTimestamp ts) {
            start = ts.getValue();
            initial = ResumeTokens.highWaterMark(start, version.resumeTokenVersion());
        } else {
            // the cluster's time now: every shard's stream starts there
            start = clusterTime() + 1;
            spec.put("startAtOperationTime", new BsonTimestamp(start));
            initial = ResumeTokens.highWaterMark(start, version.resumeTokenVersion());
        }
        int batchSize = query.get("cursor") instanceof Document c && c.get("batchSize") instanceof Number b ? b.intValue() : 101;
        MergedChangeStream stream = new MergedChangeStream(new MergedChangeStream.Shards() {
            @Override
            public List<ShardingCatalog.Shard> current() {
                return catalog.shards();
            }

            @Override
            public List<ShardingCatalog.Shard> since(long time) {
                return catalog.shardsSince(time);
            }

            @Override
            public Document call(ShardingCatalog.Shard shard, String database, String command, Document body) {
                return MongosBackend.this.call(shard, database, command, body);
            }
        }, db, query.get("aggregate"), spec, stages, start, initial);
        return cursors.firstReply(stream, Math.max(0, batchSize), false);
    }

    // ---------------------------------------------------------------- sharding commands

    private Document exclusive(Supplier<Document> action) {
        routing.writeLock().lock();
        try {
            return action.get();
        } finally {
            routing.writeLock().unlock();
        }
    }

    private Document shardCollection(String ns, Document query) {
        int dot = ns.indexOf('.');
        if (dot <= 0 || dot == ns.length() - 1) {
            throw new MongoServerError(73, "InvalidNamespace", "invalid namespace " + ns);
        }
        String db = ns.substring(0, dot);
        String coll = ns.substring(dot + 1);
        ShardKeyPattern key = ShardKeyPattern.parse(query.get("key"));
        ShardingCatalog.Shard primary = catalog.primary(db);
        if (primary.backend().resolveDatabase(db).resolveCollection(coll, false) == null) {
            call(primary, db, "create", new Document("create", coll));
        }
        boolean empty = ((Number) call(primary, db, "count", new Document("count", coll)).get("n")).longValue() == 0;
        UUID uuid = primary.backend().resolveDatabase(db).resolveCollection(coll, false) instanceof OplogCollection c ? c.getUuid() : null;
        Document index = new Document();
        key.pattern().forEach(index::put);
        if (key.fields().equals(List.of("_id")) == false) {
            call(primary, db, "createIndexes", new Document("createIndexes", coll).append("indexes",
                List.of(new Document("key", index).append("name", String.join("_", key.fields()) + "_shardkey"))));
        }
        catalog.shardCollection(ns, key, uuid, empty);
        if (empty) {
            for (ShardingCatalog.Shard shard : catalog.targets(ns, null)) {
                if (shard.backend().resolveDatabase(db).resolveCollection(coll, false) == null) {
                    call(shard, db, "create", new Document("create", coll));
                }
            }
        }
        return new Document("collectionsharded", ns).append("ok", 1.0);
    }

    private Document split(String ns, Document query) {
        ShardingCatalog.Collection c = catalog.sharded(ns);
        Document middle;
        if (query.get("middle") instanceof Document m) {
            middle = m;
        } else if (query.get("find") instanceof Document find) {
            middle = median(c, c.key().exactKey(find) != null ? c.key().exactKey(find) : c.key().keyOf(find));
        } else {
            throw new MongoServerError(2, "BadValue", "split needs middle or find");
        }
        catalog.split(ns, middle);
        return new Document("ok", 1.0);
    }

    /** The median key of the documents of the chunk that holds {@code key}. */
    private Document median(ShardingCatalog.Collection c, Document key) {
        ShardingCatalog.Chunk chunk = catalog.chunkOf(c, key);
        List<Document> keys = new ArrayList<>();
        for (Document d : chunkDocuments(c, chunk)) {
            keys.add(c.key().keyOf(d));
        }
        keys.sort(c.key()::compare);
        if (keys.size() < 2) {
            throw new MongoServerError(2, "BadValue", "cannot find a median in a chunk of fewer than 2 documents");
        }
        return keys.get(keys.size() / 2);
    }

    private List<Document> chunkDocuments(ShardingCatalog.Collection c, ShardingCatalog.Chunk chunk) {
        String db = c.namespace().substring(0, c.namespace().indexOf('.'));
        String coll = collectionOf(c.namespace());
        ShardingCatalog.Shard owner = catalog.shard(chunk.shard());
        List<Document> documents = new ArrayList<>();
        Document cursor = (Document) call(owner, db, "find", new Document("find", coll).append("batchSize", Integer.MAX_VALUE)).get("cursor");
        for (Document d : drain(owner, db, cursor)) {
            Document k = c.key().keyOf(d);
            if (c.key().compare(chunk.min(), k) <= 0 && c.key().compare(k, chunk.max()) < 0) {
                documents.add(d);
            }
        }
        return documents;
    }

    /**
     * {@code moveChunk}: the chunk's documents are inserted on the recipient and deleted from the donor, both as a
     * migration's writes ({@code fromMigrate: true}), and the chunk changes owner, while no other command is routed.
     */
    private Document moveChunk(String ns, Document query) {
        ShardingCatalog.Collection c = catalog.sharded(ns);
        Document key;
        if (query.get("find") instanceof Document find) {
            key = c.key().exactKey(find) != null ? c.key().exactKey(find) : c.key().keyOf(find);
        } else if (query.get("bounds") instanceof List<?> bounds && bounds.size() == 2) {
            key = (Document) bounds.get(0);
        } else {
            throw new MongoServerError(2, "BadValue", "moveChunk needs find or bounds");
        }
        String to = String.valueOf(query.get("to"));
        ShardingCatalog.Shard recipient = catalog.shard(to);
        ShardingCatalog.Chunk chunk = catalog.chunkOf(c, key);
        if (chunk.shard().equals(to)) {
            return new Document("millis", 0).append("ok", 1.0);
        }
        ShardingCatalog.Shard donor = catalog.shard(chunk.shard());
        if (recipient.server().isRunning() == false || donor.server().isRunning() == false) {
            throw new MongoServerError(6, "HostUnreachable", "a shard of the migration is unreachable");
        }
        String db = ns.substring(0, ns.indexOf('.'));
        String coll = collectionOf(ns);
        List<Document> moving = chunkDocuments(c, chunk);
        if (recipient.backend().resolveDatabase(db).resolveCollection(coll, false) == null) {
            recipient.backend().migrationWrite(db, "create", new Document("create", coll));
        }
        long started = System.nanoTime();
        for (int i = 0; i < moving.size(); i += 1000) {
            List<Document> run = moving.subList(i, Math.min(moving.size(), i + 1000));
            recipient.backend().migrationWrite(db, "insert", new Document("insert", coll).append("documents", new ArrayList<>(run)));
        }
        catalog.reassign(ns, key, to);
        for (Document d : moving) {
            donor.backend().migrationWrite(db, "delete", new Document("delete", coll)
                .append("deletes", List.of(new Document("q", new Document("_id", d.get("_id"))).append("limit", 1))));
        }
        return new Document("millis", (System.nanoTime() - started) / 1_000_000).append("ok", 1.0);
    }

    /** {@code addShard: "rsName/host:port"}: a server of this process that is not yet a shard. */
    private Document addShard(Object spec, Document query) {
        String hosts = String.valueOf(spec);
        String setName = hosts.contains("/") ? hosts.substring(0, hosts.indexOf('/')) : null;
        String first = (hosts.contains("/") ? hosts.substring(hosts.indexOf('/') + 1) : hosts).split(",")[0];
        EmbeddedMongo server = knownServers.apply(first);
        if (server == null || server.isRunning() == false) {
            throw new MongoServerError(6, "HostUnreachable", "couldn't connect to new shard " + hosts);
        }
        if (setName != null && setName.equals(server.replicaSetName()) == false) {
            throw new MongoServerError(96, "OperationFailed", "host " + first + " is in replica set " + server.replicaSetName() + ", not " + setName);
        }
        String id = query.get("name") instanceof String name ? name : server.replicaSetName();
        catalog.addShard(id, server, clusterClock.last() + 1);
        return new Document("shardAdded", id).append("ok", 1.0);
    }

    /**
     * {@code removeShard}: as mongos's draining does it, every chunk on the shard moves to the other shards (a migration each,
     * round-robin), then the shard leaves {@code config.shards}; its server keeps running. At once here, so the first answer
     * is already {@code completed}. A shard that is some database's primary is refused (this mongos has no movePrimary).
     */
    private Document removeShard(String id) {
        ShardingCatalog.Shard leaving = catalog.shard(id);
        List<ShardingCatalog.Shard> staying = catalog.shards().stream().filter(s -> s.equals(leaving) == false).toList();
        if (staying.isEmpty()) {
            throw new MongoServerError(20, "IllegalOperation", "Operation not allowed because it would remove the last shard");
        }
        if (catalog.isPrimaryOfAny(id)) {
            throw new MongoServerError(20, "IllegalOperation", "shard " + id + " is the primary shard of a database: the embedded mongos has no movePrimary");
        }
        int next = 0;
        for (String ns : catalog.shardedNamespaces()) {
            for (ShardingCatalog.Chunk chunk : catalog.sharded(ns).chunks().stream().filter(c -> c.shard().equals(id)).toList()) {
                moveChunk(ns, new Document("bounds", List.of(chunk.min(), chunk.max())).append("to", staying.get(next++ % staying.size()).id()));
            }
        }
        catalog.removeShard(id, clusterClock.last());
        return new Document("msg", "removeshard completed successfully").append("state", "completed").append("shard", id).append("ok", 1.0);
    }

    // ---------------------------------------------------------------- identity

    private Document hello(boolean helloCommand) {
        Document response = new Document(helloCommand ? "isWritablePrimary" : "ismaster", true);
        response.put("msg", "isdbgrid");
        return ReplicaSetBackend.withServerLimits(response, version, java.time.Instant.now());
    }

    @Override
    public void close() {
        cursors.closeAll();
        super.close();
    }
}

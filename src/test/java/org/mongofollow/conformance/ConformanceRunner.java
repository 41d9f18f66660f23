package org.mongofollow.conformance;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonArray;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.apply.BsonToJson;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.apply.RejectedDocumentException;
import org.mongofollow.embedded.EmbeddedMongo;
import org.mongofollow.embedded.ShardedCluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The end-to-end conformance harness behind {@code scripts/conformance DIR}: runs every {@code *.json} case
 * (format: OPLOG-FORMAT.md) under DIR through the real path, a follow on a real Elasticsearch node of the
 * embedded MongoDB in raw mode, and compares the follower index with the case's {@code after}.
 *
 * <p>Per case, on a raw-mode MongoDB of its own worker (reset between cases):
 * <ol>
 *   <li>the oplog and every user database are cleared; {@code before} is stored in the followed collection;</li>
 *   <li>a start no-op is injected at {@code (first entry's seconds - 1, 1)}, so the follow, which starts at the
 *       majority commit point (the newest injected entry), starts just before the case;</li>
 *   <li>a fresh index (one shard, no replica, {@code "dynamic": false}) and {@code PUT /{index}/_mongo_follow} with
 *       {@code initial_copy: false}. The cases specify {@code _source}, not field types: under dynamic mapping
 *       Elasticsearch fixes a field's type from its first value and refuses later documents that disagree (an array
 *       mixing numbers and strings, a double beyond the {@code float} range dynamic mapping picks for floating
 *       values), which is the dead-letter index's business ({@code DeadLetterIT}), not the log replay's;</li>
 *   <li>with the majority commit point held: one synthetic insert per {@code before} document (positions
 *       {@code (seconds - 1, 2...)}, so the follower holds {@code before} through the log, as the initial copy would
 *       put it there), then the case's entries in order; the collection is set to {@code after}
 *       (what a majority read then answers: the follow looks up documents it lacks); the majority is released;</li>
 *   <li>waits until the shard's checkpoint reaches the last entry ({@code documents}) or the shard reports a
 *       {@code fatal_exception} with a reason ({@code fatal});</li>
 *   <li>compares every document of the index with {@code after} under the documented mapping
 *       ({@code docs/bson-mapping.md}): the ids, and each {@code _source} as JSON text, so field order and number
 *       types (3 vs 3.0) count; Int32 and Int64 cannot differ in JSON. A document of {@code after} whose mapping
 *       is rejected must be absent, and have a letter with a reason and a position in the dead-letter index
 *       {@code .mongo-follow-rejected};</li>
 *   <li>unfollows and deletes the index.</li>
 * </ol>
 * Prints {@code PASS name} or {@code FAIL name: reason} per case and {@code N passed, M failed}; exits 1 if any failed.
 * A case named in the {@code --known-failures} file (name, then the reason) still runs: failing, it prints
 * {@code KNOWN name: what failed [known failure: reason]} and is counted apart; passing, it fails (take it off the list).
 *
 * <p><b>Modes.</b> With {@code --modes oplog,change_stream} every case runs once per mode: in {@code change_stream} mode
 * the follow reads the collection's change stream ({@code "source": "change_stream"}), which the embedded MongoDB derives
 * from the same injected entries as a real server derives it from its oplog, and the index must end the same. A no-op
 * entry after the case's last one stands for the next write a real server makes (a change stream returns a cluster
 * time once it has seen past it). Cases that expect {@code fatal} run in the modes their {@code modes} field lists
 * (default: oplog only, since a change stream does not carry what the oplog's malformed or unsupported entries carry);
 * {@code documents} cases run in every mode unless {@code modes} says otherwise. A change-stream run reports as
 * {@code name@change_stream}, which is also its name in the known-failures file.
 *
 * <p><b>Shards.</b> A case with {@code shards} instead of {@code oplog} ({@code {"shard0": [entries], "shard1": [...]}})
 * holds each MongoDB shard's oplog: it runs on the worker's embedded sharded cluster ({@link #SHARDS} shards in raw mode,
 * started for the first such case), each shard's entries injected into that shard's oplog, the start no-op and the closing
 * no-op (the next write a real shard makes) into every shard's, {@code before}'s synthetic inserts into the first listed
 * shard's; the follow goes through the mongos, and the collection's documents are stored through it.
 *
 * <p><b>Change events.</b> A case with {@code events} instead of {@code oplog} lists change events as a real server sends
 * them (without {@code _id}, the embedded MongoDB makes the token): it runs in {@code change_stream} mode only, the events
 * given to the follow's stream as they are, each cluster time's in one no-op entry ({@code o.changeEvents}).
 * <p>Arguments: {@code [--es URL] [--parallel N] [--case-timeout SECONDS] [--known-failures FILE] [--modes M,..] DIR...}.
 */
public final class ConformanceRunner {

    private static final String INDEX_PREFIX = "conformance-";
    private static final String DEAD_LETTER_INDEX = ".mongo-follow-rejected";

    private final URI es;
    private final Duration caseTimeout;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private final Map<String, String> knownFailures;
    private final List<String> modes;

    ConformanceRunner(URI es, Duration caseTimeout, Map<String, String> knownFailures, List<String> modes) {
        this.es = es;
        this.caseTimeout = caseTimeout;
        this.knownFailures = knownFailures;
        this.modes = modes;
    }

    static final String OPLOG = "oplog";
    static final String CHANGE_STREAM = "change_stream";

    /** Lines {@code name reason...}; {@code #} starts a comment. */
    static Map<String, String> knownFailures(Path file) throws IOException {
        Map<String, String> known = new TreeMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+", 2);
            known.put(parts[0], parts.length > 1 ? parts[1] : "");
        }
        return known;
    }

    public static void main(String[] args) throws Exception {
        String es = "http://127.0.0.1:9200";
        int parallel = 4;
        int timeoutSeconds = 30;
        Map<String, String> knownFailures = Map.of();
        List<String> modes = List.of(OPLOG);
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> es = args[++i];
                case "--parallel" -> parallel = Integer.parseInt(args[++i]);
                case "--case-timeout" -> timeoutSeconds = Integer.parseInt(args[++i]);
                case "--known-failures" -> knownFailures = knownFailures(Paths.get(args[++i]));
                case "--modes" -> modes = List.of(args[++i].split(","));
                default -> dirs.add(Paths.get(args[i]));
            }
        }
        if (dirs.isEmpty()) {
            System.err.println("usage: ConformanceRunner [--es URL] [--parallel N] [--case-timeout SECONDS] [--known-failures FILE] [--modes oplog,change_stream] DIR...");
            System.exit(2);
        }
        List<Path> cases = new ArrayList<>();
        for (Path dir : dirs) {
            if (Files.isRegularFile(dir)) {
                cases.add(dir);
                continue;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.filter(p -> p.toString().endsWith(".json") && Files.isRegularFile(p)).sorted().forEach(cases::add);
            }
        }
        if (cases.isEmpty()) {
            System.err.println("no *.json cases under " + dirs);
            System.exit(2);
        }
        int failed = new ConformanceRunner(URI.create(es.endsWith("/") ? es.substring(0, es.length() - 1) : es), Duration.ofSeconds(timeoutSeconds), knownFailures, modes)
            .run(cases, Math.max(1, Math.min(parallel, cases.size())));
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Runs the cases on {@code parallel} workers, each with its own raw-mode MongoDB; returns how many failed. */
    int run(List<Path> cases, int parallel) throws InterruptedException {
        BlockingQueue<Map.Entry<Path, String>> queue = new LinkedBlockingQueue<>();
        for (String mode : modes) {
            for (Path file : cases) {
                queue.add(Map.entry(file, mode));
            }
        }
        AtomicInteger passed = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger known = new AtomicInteger();
        Map<String, Boolean> names = new ConcurrentHashMap<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < parallel; w++) {
            Thread worker = new Thread(() -> {
                try (Targets targets = new Targets()) {
                    Map.Entry<Path, String> next;
                    while ((next = queue.poll()) != null) {
                        Path file = next.getKey();
                        String mode = next.getValue();
                        String name = file.getFileName().toString().replaceFirst("\\.json$", "");
                        String failure;
                        CaseRun caseRun = null;
                        try {
                            BsonDocument testCase = BsonDocument.parse(Files.readString(file, StandardCharsets.UTF_8));
                            name = testCase.getString("name", new BsonString(name)).getValue() + (mode.equals(OPLOG) ? "" : "@" + mode);
                            if (runsIn(testCase, mode) == false) {
                                continue;
                            }
                            if (names.putIfAbsent(name, true) != null) {
                                failure = "another case has the same name";
                            } else {
                                caseRun = new CaseRun(name, testCase, testCase.containsKey("shards") ? targets.sharded() : targets.replicaSet(), mode);
                                failure = caseRun.run();
                            }
                        } catch (Exception e) {
                            failure = e.getClass().getSimpleName() + ": " + e.getMessage() + where(e);
                        }
                        report(name, failure, caseRun == null ? List.of() : caseRun.notes, passed, failed, known);
                    }
                } catch (Exception e) {
                    synchronized (System.out) {
                        System.out.println("FAIL worker: " + e);
                    }
                    failed.incrementAndGet();
                }
            }, "conformance-worker-" + w);
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        synchronized (System.out) {
            if (known.get() > 0) {
                System.out.println(known.get() + " known failures, listed with their reasons above (not counted)");
            }
            // the closing line alone, as test runners print it
            System.out.println(passed.get() + " passed, " + failed.get() + " failed");
            System.out.flush();
        }
        return failed.get();
    }

    /** Whether a case runs in {@code mode}: its {@code modes}, else every mode for documents and the oplog for fatal. */
    static boolean runsIn(BsonDocument testCase, String mode) {
        if (testCase.containsKey("events")) {
            return mode.equals(CHANGE_STREAM); // change events as a real server sends them: a stream's only
        }
        if (testCase.containsKey("modes")) {
            return testCase.getArray("modes").stream().anyMatch(m -> m.isString() && m.asString().getValue().equals(mode));
        }
        return mode.equals(OPLOG) || testCase.getString("expect").getValue().equals("documents");
    }

    /** The harness's own frame an exception came from. */
    private static String where(Exception e) {
        for (StackTraceElement frame : e.getStackTrace()) {
            if (frame.getClassName().startsWith(ConformanceRunner.class.getName())) {
                return " (at " + frame.getFileName() + ":" + frame.getLineNumber() + ")";
            }
        }
        return "";
    }

    private void report(String name, String failure, List<String> notes, AtomicInteger passed, AtomicInteger failed, AtomicInteger known) {
        synchronized (System.out) {
            String knownReason = knownFailures.get(name);
            if (knownReason != null) {
                if (failure == null) {
                    failed.incrementAndGet();
                    System.out.println("FAIL " + name + ": passes now, but is listed as a known failure (" + knownReason + "): take it off the list");
                } else {
                    known.incrementAndGet();
                    System.out.println("KNOWN " + name + ": " + failure.replace('\n', ' ') + " [known failure: " + knownReason + "]");
                }
                System.out.flush();
                return;
            }
            if (failure == null) {
                passed.incrementAndGet();
                System.out.println("PASS " + name + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")"));
            } else {
                failed.incrementAndGet();
                System.out.println("FAIL " + name + ": " + failure.replace('\n', ' '));
            }
            System.out.flush();
        }
    }

    /** The oplog of a replica set's case, in {@link Target#oplogs()}. */
    static final String REPLICA_SET = "";

    /**
     * Where a case runs: a replica set, or a sharded cluster (the follow through its mongos, each shard an oplog of its
     * own, by shard id), every server in raw mode.
     */
    private record Target(
        String connectionString,
        MongoClient client,
        Map<String, MongoCollection<BsonDocument>> oplogs,
        List<EmbeddedMongo> servers
    ) {}

    /** A worker's servers: its replica set, and a sharded cluster started for the first case that needs one. */
    private static final class Targets implements AutoCloseable {
        private final List<AutoCloseable> open = new ArrayList<>();
        private Target replicaSet;
        private Target sharded;

        Target replicaSet() {
            if (replicaSet == null) {
                EmbeddedMongo mongo = opened(EmbeddedMongo.start(EmbeddedMongo.options().rawOplog(true)));
                MongoClient client = opened(MongoClients.create(mongo.connectionString()));
                replicaSet = new Target(mongo.connectionString(), client, Map.of(REPLICA_SET, oplog(client)), List.of(mongo));
            }
            return replicaSet;
        }

        Target sharded() {
            if (sharded == null) {
                ShardedCluster cluster = opened(ShardedCluster.start(ShardedCluster.options().shards(SHARDS).rawOplog(true)));
                Map<String, MongoCollection<BsonDocument>> oplogs = new TreeMap<>();
                List<EmbeddedMongo> servers = new ArrayList<>();
                for (int i = 0; i < cluster.shardCount(); i++) {
                    EmbeddedMongo shard = cluster.shard(i);
                    oplogs.put(shard.replicaSetName(), oplog(opened(MongoClients.create(shard.connectionString()))));
                    servers.add(shard);
                }
                sharded = new Target(cluster.connectionString(), opened(MongoClients.create(cluster.connectionString())), oplogs, servers);
            }
            return sharded;
        }

        private static MongoCollection<BsonDocument> oplog(MongoClient client) {
            return client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
        }

        private <T extends AutoCloseable> T opened(T closeable) {
            open.add(0, closeable); // closed in reverse order
            return closeable;
        }

        @Override
        public void close() throws Exception {
            for (AutoCloseable closeable : open) {
                closeable.close();
            }
        }
    }

    /** The shards of the harness's sharded cluster, {@code shard0} ... (a case per shard names some of them). */
    static final int SHARDS = 3;

    /** One case through the real path. */
    private final class CaseRun {
        private final String name;
        private final BsonDocument testCase;
        private final Target target;
        private final MongoClient client;
        private final String index;
        private final String database;
        private final String collection;
        private final List<String> notes = new ArrayList<>();
        private final String mode;

        CaseRun(String name, BsonDocument testCase, Target target, String mode) {
            this.name = name;
            this.mode = mode;
            this.testCase = testCase;
            this.target = target;
            this.client = target.client();
            this.index = INDEX_PREFIX + name.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_-]", "-").replace("-change_stream", "-cs");
            String[] namespace = testCase.getString("namespace").getValue().split("\\.", 2);
            this.database = namespace[0];
            this.collection = namespace[1];
        }

        /** Null when the case passes, otherwise why it failed. */
        String run() throws Exception {
            String expect = testCase.getString("expect").getValue();
            boolean events = testCase.containsKey("events");
            // each oplog's entries: the replica set's ("oplog"), or each shard's ("shards": {shardId: entries})
            Map<String, BsonArray> oplogs = new TreeMap<>();
            if (testCase.containsKey("shards")) {
                for (Map.Entry<String, BsonValue> shard : testCase.getDocument("shards").entrySet()) {
                    if (target.oplogs().containsKey(shard.getKey()) == false) {
                        return "the case names shard [" + shard.getKey() + "]; the harness's sharded cluster has " + target.oplogs().keySet();
                    }
                    oplogs.put(shard.getKey(), shard.getValue().asArray());
                }
            } else if (events == false) {
                oplogs.put(REPLICA_SET, testCase.getArray("oplog"));
            }
            BsonArray allEntries = new BsonArray();
            oplogs.values().forEach(allEntries::addAll);
            BsonArray history = events ? testCase.getArray("events") : allEntries;
            if (history.isEmpty()) {
                return "the case has no " + (events ? "change events" : "oplog entries");
            }
            String timeField = events ? "clusterTime" : "ts";
            BsonTimestamp first = null;
            BsonTimestamp last = null;
            for (BsonValue value : history) {
                BsonTimestamp ts = value.asDocument().getTimestamp(timeField);
                first = first == null || ts.compareTo(first) < 0 ? ts : first;
                last = last == null || ts.compareTo(last) > 0 ? ts : last;
            }
            if (first.getTime() < 2) {
                return "the first entry's ts seconds must be at least 2 (the harness injects entries before it)";
            }
            resetMongo();
            deleteIndex();
            request("POST", "/" + DEAD_LETTER_INDEX + "/_delete_by_query?ignore_unavailable=true&refresh=true",
                "{\"query\": {\"term\": {\"follower_index\": \"" + index + "\"}}}", -1);
            MongoCollection<BsonDocument> followed = client.getDatabase(database).getCollection(collection, BsonDocument.class);
            store(followed, testCase.getArray("before"));
            int seconds = first.getTime() - 1;
            // every oplog starts at the same no-op (a sharded follow starts where all of its shards' oplogs have come to)
            for (MongoCollection<BsonDocument> rawOplog : target.oplogs().values()) {
                rawOplog.insertOne(entry("n", "", new BsonDocument("msg", new BsonString("conformance: start of " + name)), new BsonTimestamp(seconds, 1)));
            }

            // dynamic: false: the cases specify _source, not field types (see the class comment)
            request("PUT", "/" + index, "{\"settings\": {\"number_of_shards\": 1, \"number_of_replicas\": 0}, \"mappings\": {\"dynamic\": false}}", 200);
            String start = "{\"connection\": \"" + target.connectionString() + "\", \"database\": \"" + database + "\", \"collection\": \""
                + collection + "\", \"initial_copy\": false, \"read_poll_timeout\": \"1s\", \"source\": \"" + mode + "\"}";
            Map<String, Object> put = request("PUT", "/" + index + "/_mongo_follow", start, 200);
            String startPosition = seconds + ":1";
            if (startPosition.equals(put.get("start_position")) == false) {
                return "the follow started at [" + put.get("start_position") + "], not at the injected start [" + startPosition + "]";
            }
            try {
                // the synthetic inserts of `before` go to the first oplog (on a sharded cluster: as if its chunks were there)
                Map<String, List<BsonDocument>> entriesOf = new TreeMap<>();
                target.oplogs().keySet().forEach(id -> entriesOf.put(id, new ArrayList<>()));
                List<BsonDocument> entries = entriesOf.get(oplogs.isEmpty() ? REPLICA_SET : oplogs.keySet().iterator().next());
                BsonValue ui = collectionUuid(allEntries);
                int increment = 2;
                for (BsonValue doc : testCase.getArray("before")) {
                    BsonDocument insert = entry("i", database + "." + collection, doc.asDocument().clone(), new BsonTimestamp(seconds, increment++));
                    if (ui != null) {
                        insert.put("ui", ui);
                    }
                    entries.add(insert);
                }
                for (Map.Entry<String, BsonArray> oplog : oplogs.entrySet()) {
                    for (BsonValue value : oplog.getValue()) {
                        entriesOf.get(oplog.getKey()).add(value.asDocument().clone());
                    }
                }
                if (events) {
                    // the case's events as the stream gives them: one no-op per cluster time carries its events, which the
                    // embedded MongoDB's change streams serve whole (o.changeEvents)
                    BsonArray atTime = new BsonArray();
                    for (int i = 0; i < history.size(); i++) {
                        BsonDocument event = history.get(i).asDocument();
                        atTime.add(event);
                        BsonTimestamp time = event.getTimestamp("clusterTime");
                        if (i + 1 == history.size() || history.get(i + 1).asDocument().getTimestamp("clusterTime").equals(time) == false) {
                            entries.add(entry("n", "", new BsonDocument("msg", new BsonString("conformance: change events of " + name))
                                .append("changeEvents", atTime), time));
                            atTime = new BsonArray();
                        }
                    }
                }
                if (mode.equals(CHANGE_STREAM) || entriesOf.size() > 1) {
                    // the next write a real server makes (at the latest its periodic no-op): a change stream shows it has
                    // seen past the case's last cluster time, and every shard's oplog has gone past it
                    for (List<BsonDocument> shardEntries : entriesOf.values()) {
                        shardEntries.add(entry("n", "", new BsonDocument("msg", new BsonString("conformance: after " + name)), new BsonTimestamp(last.getTime() + 1, 1)));
                    }
                }
                target.servers().forEach(EmbeddedMongo::holdMajorityCommitPoint);
                try {
                    for (Map.Entry<String, List<BsonDocument>> shardEntries : entriesOf.entrySet()) {
                        if (shardEntries.getValue().isEmpty() == false) {
                            target.oplogs().get(shardEntries.getKey()).insertMany(shardEntries.getValue());
                        }
                    }
                    if (expect.equals("documents")) {
                        followed.deleteMany(new BsonDocument());
                        store(followed, testCase.getArray("after"));
                    }
                } finally {
                    target.servers().forEach(EmbeddedMongo::releaseMajorityCommitPoint);
                }
                String outcome = awaitOutcome(last);
                if (expect.equals("fatal")) {
                    return outcome.startsWith("fatal: ") ? null : "expected the follow to stop with a fatal error, but " + outcome;
                }
                if (outcome.equals("caught up") == false) {
                    return outcome;
                }
                return compare();
            } finally {
                request("POST", "/" + index + "/_mongo_follow/_unfollow", null, -1);
                deleteIndex();
            }
        }

        /**
         * Stores documents in the raw collection, where the follow looks up documents it lacks. The embedded
         * server cannot store every BSON value (it closes the connection on some deprecated types); such a
         * document is left out of the collection, which only matters to a case that makes the follow look it up.
         */
        private void store(MongoCollection<BsonDocument> followed, BsonArray documents) {
            for (BsonValue doc : documents) {
                try {
                    followed.insertOne(doc.asDocument().clone());
                } catch (RuntimeException e) {
                    notes.add("document " + doc.asDocument().get("_id") + " not stored in MongoDB (" + e.getClass().getSimpleName() + ")");
                }
            }
        }

        private BsonValue collectionUuid(BsonArray oplog) {
            String ns = database + "." + collection;
            for (BsonValue value : oplog) {
                BsonDocument entry = value.asDocument();
                if (ns.equals(entry.getString("ns", new BsonString("")).getValue()) && entry.containsKey("ui")) {
                    return entry.get("ui");
                }
            }
            return null;
        }

        private void resetMongo() {
            target.servers().forEach(EmbeddedMongo::releaseMajorityCommitPoint);
            target.oplogs().values().forEach(oplog -> oplog.deleteMany(new BsonDocument()));
            for (String db : client.listDatabaseNames()) {
                if (Set.of("admin", "local", "config").contains(db) == false) {
                    client.getDatabase(db).drop();
                }
            }
        }

        private void deleteIndex() throws IOException, InterruptedException {
            request("DELETE", "/" + index + "?ignore_unavailable=true", null, -1);
        }

        /**
         * Polls the follow's stats until its shard has passed {@code last} ("caught up"), reports a fatal error
         * ("fatal: reason"), or the case times out (a description of what it saw).
         */
        private String awaitOutcome(BsonTimestamp last) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + caseTimeout.toNanos();
            String seen = "no stats";
            while (System.nanoTime() < deadline) {
                Map<String, Object> stats = request("GET", "/" + index + "/_mongo_follow/_stats", null, 200);
                List<?> indices = (List<?>) stats.get("indices");
                if (indices != null && indices.size() == 1) {
                    List<?> shards = (List<?>) ((Map<?, ?>) indices.get(0)).get("shards");
                    if (shards != null && shards.size() == 1) {
                        Map<?, ?> shard = (Map<?, ?>) shards.get(0);
                        Object fatal = shard.get("fatal_exception");
                        if (fatal instanceof Map<?, ?> f) {
                            Object reason = f.get("reason");
                            if (reason == null || reason.toString().isBlank()) {
                                return "the follow stopped with a fatal error without explanation: " + f;
                            }
                            return "fatal: " + f.get("type") + ": " + reason;
                        }
                        Object checkpoint = shard.get("checkpoint");
                        seen = "checkpoint [" + checkpoint + "], last entry [" + last.getTime() + ":" + last.getInc() + "]"
                            + (shard.get("read_exceptions") instanceof List<?> errors && errors.isEmpty() == false ? ", read exceptions " + errors : "");
                        if (checkpoint instanceof String c && comparePosition(c, last) >= 0) {
                            return "caught up";
                        }
                    }
                }
                Thread.sleep(50);
            }
            return "timed out after " + caseTimeout.toSeconds() + "s: " + seen;
        }

        /** The index against {@code after}; null when equal. */
        private String compare() throws IOException, InterruptedException {
            Map<String, String> expected = new TreeMap<>();
            List<String> rejected = new ArrayList<>();
            for (BsonValue value : testCase.getArray("after")) {
                BsonDocument doc = value.asDocument();
                String id = DocumentIds.toElasticsearchId(doc.get("_id"));
                try {
                    expected.put(id, canonical(json(BsonToJson.toSource(doc))));
                } catch (RejectedDocumentException e) {
                    rejected.add(id);
                }
            }
            request("POST", "/" + index + "/_refresh", null, 200);
            Map<String, Object> search = request("POST", "/" + index + "/_search", "{\"size\": 10000, \"sort\": [\"_doc\"]}", 200);
            Map<String, String> actual = new TreeMap<>();
            for (Object hit : (List<?>) ((Map<?, ?>) search.get("hits")).get("hits")) {
                Map<?, ?> h = (Map<?, ?>) hit;
                actual.put((String) h.get("_id"), canonical(h.get("_source")));
            }
            List<String> differences = new ArrayList<>();
            for (Map.Entry<String, String> e : expected.entrySet()) {
                String got = actual.get(e.getKey());
                if (got == null) {
                    differences.add("[" + e.getKey() + "] missing, expected " + e.getValue());
                } else if (got.equals(e.getValue()) == false) {
                    differences.add("[" + e.getKey() + "] expected " + e.getValue() + " but was " + got);
                }
            }
            for (Map.Entry<String, String> e : actual.entrySet()) {
                if (expected.containsKey(e.getKey()) == false) {
                    differences.add("[" + e.getKey() + "] unexpected " + e.getValue());
                }
            }
            if (differences.isEmpty() == false) {
                return differences.size() + " document(s) differ: " + String.join("; ", differences);
            }
            // documents whose mapping is rejected: absent from the index (checked above) and in the dead-letter index
            if (rejected.isEmpty() == false) {
                request("POST", "/" + DEAD_LETTER_INDEX + "/_refresh", null, 200);
                Map<String, Object> letters = request(
                    "POST",
                    "/" + DEAD_LETTER_INDEX + "/_search",
                    "{\"size\": 1000, \"query\": {\"term\": {\"follower_index\": \"" + index + "\"}}}",
                    200
                );
                Set<String> lettered = new java.util.HashSet<>();
                for (Object hit : (List<?>) ((Map<?, ?>) letters.get("hits")).get("hits")) {
                    Map<?, ?> letter = (Map<?, ?>) ((Map<?, ?>) hit).get("_source");
                    if (letter.get("reason") instanceof String reason && reason.isBlank() == false && letter.get("position") != null) {
                        lettered.add((String) letter.get("document_id"));
                    }
                }
                List<String> missing = rejected.stream().filter(id -> lettered.contains(id) == false).toList();
                if (missing.isEmpty() == false) {
                    return "rejected document(s) " + missing + " have no letter with a reason and a position in " + DEAD_LETTER_INDEX;
                }
            }
            return null;
        }

        private BsonDocument entry(String op, String ns, BsonDocument o, BsonTimestamp ts) {
            return new BsonDocument("op", new BsonString(op)).append("ns", new BsonString(ns))
                .append("o", o)
                .append("ts", ts)
                .append("t", new BsonInt64(1))
                .append("v", new BsonInt64(2))
                .append("wall", new BsonDateTime(ts.getTime() * 1000L));
        }

        /** GET/PUT/POST/DELETE with an optional JSON body; {@code expectStatus} -1 accepts any status. */
        private Map<String, Object> request(String method, String path, String body, int expectStatus) throws IOException, InterruptedException {
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(es + path)).timeout(Duration.ofSeconds(60));
            if (body != null) {
                builder.header("Content-Type", "application/json");
            }
            builder.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            HttpResponse<String> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
            if (expectStatus != -1 && response.statusCode() != expectStatus) {
                throw new IOException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
            }
            String text = response.body();
            if (text == null || text.isBlank() || text.startsWith("{") == false) {
                return Map.of();
            }
            return XContentHelper.convertToMap(XContentType.JSON.xContent(), text, true);
        }
    }

    /** "seconds:increment" against a timestamp. */
    static int comparePosition(String position, BsonTimestamp ts) {
        String[] parts = position.split(":");
        long seconds = Long.parseLong(parts[0]);
        long increment = Long.parseLong(parts[1]);
        int c = Long.compare(seconds, Integer.toUnsignedLong(ts.getTime()));
        return c != 0 ? c : Long.compare(increment, Integer.toUnsignedLong(ts.getInc()));
    }

    static String json(Map<String, Object> source) throws IOException {
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.map(source);
            return Strings.toString(builder);
        }
    }

    /** JSON text through the same parser and writer: field order and number types kept, formatting not. */
    static String canonical(Object value) throws IOException {
        if (value instanceof String text) {
            value = XContentHelper.convertToMap(XContentType.JSON.xContent(), text, true);
        }
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.value(value);
            return Strings.toString(builder);
        }
    }
}

package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.mongofollow.demo.EsHttp;
import org.mongofollow.demo.ParentWatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: bench/follow-vs-bulk runs it against a real node with the plugin and the embedded MongoDB.
 * The same N documents of about 1 KB are indexed twice into an index with one shard and no replica
 * ({@code refresh_interval: -1} while loading):
 * <ol>
 * <li><b>_bulk</b>, the fastest external path: the request bodies are built before the clock starts, then
 * sent over HTTP by C concurrent clients in batches of B documents; B and C are tuned first on a sample
 * (or given). Time: first request sent to last response received.</li>
 * <li><b>follow</b>: the follow is started on the empty collection (initial_copy false needs that) and
 * paused, all N documents are inserted with insertMany (not timed against the follower: that is
 * MongoDB's speed), then the follow is resumed. Time: the resume request sent to the index having
 * indexed N documents (primaries' {@code indexing.index_total}, polled every 25 ms). At the resume every
 * oplog entry is readable, as every bulk body is ready before the bulk clock starts, so both figures are
 * apply throughput from a ready backlog.</li>
 * <li>optionally (--live) a second follow that runs while the documents are inserted: time from the first
 * insertMany acknowledged (the first entry readable) to the index holding N documents; bounded below by
 * the insert rate, reported for information.</li>
 * </ol>
 * Both paths are warmed up first (untimed: two bulk loads and one follow of the tuning sample). The
 * measured loads are interleaved in rounds (default 3: _bulk then follow, into fresh indices and a fresh
 * collection each round), so that the load of a shared machine hits both alike; the ratio is of the best
 * round of each. Every load is checked: a refresh and a count of exactly N, and one document's _source
 * equal across the two indices. The last line printed is {@code ratio follow/bulk: X.XX}.
 */
public final class FollowVsBulkBenchmark {

    private static final String[] WORDS = ("time person year way day thing man world life hand part child eye woman place work week case "
        + "point government company number group problem fact water money story month lot right study book word business issue side "
        + "kind head house service friend father power hour game line end member law car city community name president team minute "
        + "idea kid body information back parent face others level office door health art war history party result change morning "
        + "reason research girl guy moment air teacher force education river mountain engine signal market garden window winter").split(" ");
    private static final String[] CATEGORIES = { "tools", "books", "garden", "music", "sports", "toys", "food", "office" };
    private static final String[] COUNTRIES = { "PT", "NO", "JP", "EC", "GH", "AU", "EE", "FR", "CA", "KE" };

    private final EsHttp es;
    private final String connection;
    private final BenchNode node;
    /** CPU seconds of the last timed follow: the node and MongoDB. */
    private double lastCpuSeconds;
    /** ... of which the node's. */
    private double lastNodeCpuSeconds;

    private FollowVsBulkBenchmark(EsHttp es, String connection, long esPid, long mongoPid, double clockTicks) {
        this.es = es;
        this.connection = connection;
        this.node = new BenchNode(es, esPid, mongoPid, clockTicks);
    }

    public static void main(String[] args) throws Exception {
        String esUrl = "http://127.0.0.1:9200", connection = null;
        int docs = 100_000;
        String candidates = "1000x2,2000x2,2000x3,2000x4,5000x2,5000x3,10000x2";
        int tuneDocs = 30_000;
        boolean live = false;
        int rounds = 3;
        String followBudgets = "";
        String source = "oplog";
        long esPid = -1, mongoPid = -1;
        double clockTicks = 100;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                case "--bulk" -> candidates = args[++i];
                case "--tune-docs" -> tuneDocs = Integer.parseInt(args[++i]);
                case "--live" -> live = true;
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--follow-budgets" -> followBudgets = args[++i];
                case "--source" -> source = args[++i];
                case "--es-pid" -> esPid = Long.parseLong(args[++i]);
                case "--mongo-pid" -> mongoPid = Long.parseLong(args[++i]);
                case "--clock-ticks" -> clockTicks = Double.parseDouble(args[++i]);
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (connection == null) {
            System.err.println("--connection is required");
            System.exit(2);
        }
        ParentWatch.exitWithParent("benchmark");
        System.out.println("source: " + source);
        String body = "\"source\": \"" + source + "\"" + (followBudgets.isBlank() ? "" : ", " + followBudgets);
        new FollowVsBulkBenchmark(new EsHttp(esUrl), connection, esPid, mongoPid, clockTicks).run(docs, candidates, tuneDocs, rounds, live, body);
    }

    private void run(int n, String candidates, int tuneDocs, int rounds, boolean live, String followBudgets) throws Exception {
        List<BsonDocument> documents = documents(n);
        BenchNode.BulkDocuments bulkDocuments = BenchNode.BulkDocuments.of(documents);
        List<String> sources = bulkDocuments.sources();
        List<String> ids = bulkDocuments.ids();
        long bytes = bulkDocuments.sourceBytes();
        System.out.printf(Locale.ROOT, "documents: %d, _source %.0f bytes on average (numbers, short strings, a 100-word text, a small array)%n", n, (double) bytes / n);
        Map<String, Object> nodes = es.expectOk("GET", "/_nodes/jvm?filter_path=nodes.*.jvm.mem.heap_max_in_bytes,nodes.*.version", null);
        System.out.println("node: " + nodes);
        System.out.println("load average at start: " + BenchNode.loadAverage() + " (" + Runtime.getRuntime().availableProcessors() + " cores; figures on a loaded machine move from run to run)");

        // ---- _bulk: tune on a sample, then the measured run ----
        // JIT warm-up of the node's indexing path and of this client, not measured
        List<String> sample = sources.subList(0, Math.min(tuneDocs, n));
        for (int round = 0; round < 2; round++) {
            node.bulk("bench-warmup", sample, ids, 2000, 2);
        }
        es.call("DELETE", "/bench-warmup", null);
        String[] choices = candidates.split(",");
        int bestBatch, bestConcurrency;
        if (choices.length == 1) {
            bestBatch = Integer.parseInt(choices[0].split("x")[0]);
            bestConcurrency = Integer.parseInt(choices[0].split("x")[1]);
        } else {
            double best = -1;
            bestBatch = 0;
            bestConcurrency = 0;
            System.out.printf(Locale.ROOT, "tuning _bulk on %d documents (each candidate into a fresh index):%n", Math.min(tuneDocs, n));
            for (String choice : choices) {
                int batch = Integer.parseInt(choice.split("x")[0]);
                int concurrency = Integer.parseInt(choice.split("x")[1]);
                double rate = node.bulk("bench-tune", sample, ids, batch, concurrency).docsPerSecond();
                System.out.printf(Locale.ROOT, "  batch %5d x %d in flight: %8.0f docs/s%n", batch, concurrency, rate);
                if (rate > best) {
                    best = rate;
                    bestBatch = batch;
                    bestConcurrency = concurrency;
                }
            }
            es.call("DELETE", "/bench-tune", null);
        }
        // ---- the measured runs, interleaved: round r is a _bulk load then a follow load of the same N documents ----
        String budgets = followBudgets.isBlank() ? "" : ", " + followBudgets;
        // each round runs unpinned, then pinned: the node on core 0, the other side (the _bulk client, this JVM, or the
        // embedded MongoDB) on core 1, so that the ratio compares the node's apply path with _bulk's
        boolean pinnable = node.pinnable();
        int modes = pinnable ? 2 : 1;
        double[] bestBulk = new double[2], bestFollow = new double[2], bulkEfficiency = new double[2], followEfficiency = new double[2];
        double[] bulkNodeCpuPerDoc = { Double.MAX_VALUE, Double.MAX_VALUE }, followNodeCpuPerDoc = { Double.MAX_VALUE, Double.MAX_VALUE };
        List<List<String>> bulkRates = List.of(new ArrayList<>(), new ArrayList<>()), followRates = List.of(new ArrayList<>(), new ArrayList<>());
        try (MongoClient client = MongoClients.create(connection)) {
            // JIT warm-up of the follow path on the same sample as the bulk warm-up, not measured
            MongoCollection<BsonDocument> warmup = client.getDatabase("bench").getCollection("warmup", BsonDocument.class);
            followRun(warmup, "bench-follow-warmup", documents.subList(0, Math.min(tuneDocs, n)), budgets, false);
            unfollowAndDelete("bench-follow-warmup");
            warmup.drop();

            for (int round = 1; round <= rounds; round++) {
                for (int mode = 0; mode < modes; mode++) {
                    String label = node.startRound(round, pinnable, mode == 1);
                    BenchNode.Load bulk = node.bulk("bench-bulk", sources, ids, bestBatch, bestConcurrency);
                    double bulkRate = bulk.docsPerSecond();
                    double bulkCpu = bulk.cpuSeconds();
                    double bulkNodeCpu = bulk.nodeCpuSeconds();
                    node.verify("bench-bulk", n);
                    System.out.printf(
                        Locale.ROOT,
                        "%s  _bulk:  %d docs, batch %d x %d in flight: %.0f docs/s; CPU %.1f s (node %.1f + client) = %.0f docs per CPU second%n",
                        label, n, bestBatch, bestConcurrency, bulkRate, bulkCpu, bulkNodeCpu, n / bulkCpu
                    );

                    MongoCollection<BsonDocument> collection = client.getDatabase("bench").getCollection("docs" + round + "_" + mode, BsonDocument.class);
                    double followRate = followRun(collection, "bench-follow", documents, budgets, true);
                    double followCpu = lastCpuSeconds;
                    double followNodeCpu = lastNodeCpuSeconds;
                    System.out.printf(
                        Locale.ROOT,
                        "%s  follow: %d docs from a ready oplog backlog (resume to all indexed): %.0f docs/s; CPU %.1f s (node %.1f + MongoDB) = %.0f docs per CPU second%n",
                        label, n, followRate, followCpu, followNodeCpu, n / followCpu
                    );
                    node.verify("bench-follow", n);
                    printFollowStats("bench-follow");
                    node.compareOne("bench-bulk", "bench-follow", ids.get(n / 2));
                    unfollowAndDelete("bench-follow");
                    collection.drop();
                    bulkRates.get(mode).add(String.format(Locale.ROOT, "%.0f", bulkRate));
                    followRates.get(mode).add(String.format(Locale.ROOT, "%.0f", followRate));
                    bestBulk[mode] = Math.max(bestBulk[mode], bulkRate);
                    bestFollow[mode] = Math.max(bestFollow[mode], followRate);
                    bulkEfficiency[mode] = Math.max(bulkEfficiency[mode], n / bulkCpu);
                    followEfficiency[mode] = Math.max(followEfficiency[mode], n / followCpu);
                    if (bulkNodeCpu > 0 && followNodeCpu > 0) {
                        bulkNodeCpuPerDoc[mode] = Math.min(bulkNodeCpuPerDoc[mode], bulkNodeCpu / n);
                        followNodeCpuPerDoc[mode] = Math.min(followNodeCpuPerDoc[mode], followNodeCpu / n);
                    }
                }
            }
            if (pinnable) {
                node.pin(false);
            }

            if (live) {
                MongoCollection<BsonDocument> liveCollection = client.getDatabase("bench").getCollection("docs_live", BsonDocument.class);
                putFollow("bench-follow-live", "docs_live", budgets);
                long[] firstAck = new long[1];
                long start = System.nanoTime();
                Thread inserter = new Thread(() -> insertAll(liveCollection, documents, firstAck));
                inserter.start();
                long liveDone = waitIndexed("bench-follow-live", n, start);
                inserter.join();
                System.out.printf(
                    Locale.ROOT,
                    "follow (live, for information): %d docs inserted while following, first insertMany acknowledged to all indexed: %.1f s, %.0f docs/s%n",
                    n,
                    (liveDone - firstAck[0]) / 1e9,
                    n / ((liveDone - firstAck[0]) / 1e9)
                );
                node.verify("bench-follow-live", n);
            }
        }
        System.out.println("load average at the end: " + BenchNode.loadAverage());
        for (int mode = 0; mode < modes; mode++) {
            String how = BenchNode.modeLabel(pinnable, mode == 1);
            System.out.printf(
                Locale.ROOT,
                "_bulk  docs/s per round%s: %s; best %.0f (batch %d x %d in flight)%n",
                how, String.join(", ", bulkRates.get(mode)), bestBulk[mode], bestBatch, bestConcurrency
            );
            System.out.printf(Locale.ROOT, "follow docs/s per round%s: %s; best %.0f%n", how, String.join(", ", followRates.get(mode)), bestFollow[mode]);
            if (node.esPid > 0) {
                System.out.printf(
                    Locale.ROOT,
                    "CPU efficiency, best round%s: _bulk %.0f docs per CPU second (node + client), follow %.0f (node + MongoDB): %.2f; "
                        + "node CPU per document: _bulk %.1f us, follow %.1f us (follow/bulk %.2f)%n",
                    how, bulkEfficiency[mode], followEfficiency[mode], followEfficiency[mode] / bulkEfficiency[mode],
                    bulkNodeCpuPerDoc[mode] * 1e6, followNodeCpuPerDoc[mode] * 1e6, followNodeCpuPerDoc[mode] / bulkNodeCpuPerDoc[mode]
                );
            }
        }
        System.out.printf(Locale.ROOT, "ratio follow/bulk%s: %.2f%n", pinnable ? " (unpinned)" : "", bestFollow[0] / bestBulk[0]);
        if (pinnable) {
            System.out.printf(Locale.ROOT, "ratio follow/bulk (pinned): %.2f%n", bestFollow[1] / bestBulk[1]);
        }
    }

    /**
     * Starts a follow of the empty collection, pauses it, inserts the documents, resumes it, and returns
     * documents per second from the resume request to the index having indexed them all.
     */
    private double followRun(MongoCollection<BsonDocument> collection, String index, List<BsonDocument> documents, String budgets, boolean print)
        throws InterruptedException {
        putFollow(index, collection.getNamespace().getCollectionName(), budgets);
        es.expectOk("POST", "/" + index + "/_mongo_follow/_pause", null);
        long t0 = System.nanoTime();
        insertAll(collection, documents);
        double insertSeconds = (System.nanoTime() - t0) / 1e9;
        if (print) {
            System.out.printf(
                Locale.ROOT,
                "         MongoDB insertMany (batches of 1000, oplog on, follow paused): %.0f docs/s (not part of the follow figure)%n",
                documents.size() / insertSeconds
            );
        }
        long nodeBefore = BenchNode.cpuTicks(node.esPid);
        long cpuBefore = nodeBefore + BenchNode.cpuTicks(node.mongoPid);
        long resumed = System.nanoTime();
        es.expectOk("POST", "/" + index + "/_mongo_follow/_resume", null);
        long done = waitIndexed(index, documents.size(), resumed);
        long nodeAfter = BenchNode.cpuTicks(node.esPid);
        lastCpuSeconds = node.seconds(nodeAfter + BenchNode.cpuTicks(node.mongoPid) - cpuBefore);
        lastNodeCpuSeconds = node.seconds(nodeAfter - nodeBefore);
        return documents.size() / ((done - resumed) / 1e9);
    }

    private void unfollowAndDelete(String index) {
        es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
        es.expectOk("DELETE", "/" + index, null);
    }

    // ---------------------------------------------------------------------------------------------------

    /** N documents of about 1 KB, the same for both paths, from a fixed seed. */
    static List<BsonDocument> documents(int n) {
        Random random = new Random(42);
        List<BsonDocument> documents = new ArrayList<>(n);
        long epoch = 1_700_000_000_000L;
        for (int i = 0; i < n; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 100; w++) {
                if (w > 0) {
                    text.append(' ');
                }
                text.append(WORDS[random.nextInt(WORDS.length)]);
            }
            BsonArray tags = new BsonArray();
            for (int t = 0, count = 2 + random.nextInt(4); t < count; t++) {
                tags.add(new BsonString(WORDS[random.nextInt(WORDS.length)]));
            }
            BsonArray scores = new BsonArray();
            for (int s = 0; s < 4; s++) {
                scores.add(new BsonInt32(random.nextInt(1000)));
            }
            documents.add(
                new BsonDocument("_id", new BsonString(String.format(Locale.ROOT, "doc-%08d", i)))
                    .append("seq", new BsonInt32(i))
                    .append("account", new BsonInt64(random.nextLong() & 0xFFFFFFFFFFL))
                    .append("price", new BsonDouble(Math.round(random.nextDouble() * 100_000) / 100.0))
                    .append("quantity", new BsonInt32(random.nextInt(500)))
                    .append("active", BsonBoolean.valueOf(random.nextBoolean()))
                    .append("name", new BsonString("item " + Integer.toString(random.nextInt(1 << 20), 36)))
                    .append("category", new BsonString(CATEGORIES[random.nextInt(CATEGORIES.length)]))
                    .append("country", new BsonString(COUNTRIES[random.nextInt(COUNTRIES.length)]))
                    .append("created", new BsonDateTime(epoch + random.nextInt(1_000_000_000)))
                    .append("sku", new BsonString(String.format(Locale.ROOT, "SKU-%06d-%s", random.nextInt(1_000_000), COUNTRIES[random.nextInt(COUNTRIES.length)])))
                    .append("warehouse", new BsonString("wh-" + random.nextInt(40)))
                    .append("color", new BsonString(WORDS[random.nextInt(WORDS.length)]))
                    .append("weight", new BsonDouble(Math.round(random.nextDouble() * 50_000) / 1000.0))
                    .append("rating", new BsonDouble(Math.round(random.nextDouble() * 50) / 10.0))
                    .append("stock", new BsonInt32(random.nextInt(10_000)))
                    .append("views", new BsonInt64(random.nextInt(Integer.MAX_VALUE)))
                    .append("description", new BsonString(text.toString()))
                    .append("tags", tags)
                    .append("scores", scores)
            );
        }
        return documents;
    }

    private void putFollow(String index, String collection, String budgets) {
        es.call("DELETE", "/" + index, null);
        es.expectOk(
            "PUT",
            "/" + index + "/_mongo_follow",
            "{\"connection\": \"" + connection + "\", \"database\": \"bench\", \"collection\": \"" + collection
                + "\", \"initial_copy\": false, \"settings\": " + BenchNode.LOAD_SETTINGS + budgets + "}"
        );
        es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=30s", null);
    }

    private static void insertAll(MongoCollection<BsonDocument> collection, List<BsonDocument> documents) {
        insertAll(collection, documents, new long[1]);
    }

    private static void insertAll(MongoCollection<BsonDocument> collection, List<BsonDocument> documents, long[] firstAck) {
        for (int from = 0; from < documents.size(); from += 1000) {
            collection.insertMany(documents.subList(from, Math.min(from + 1000, documents.size())));
            if (from == 0) {
                firstAck[0] = System.nanoTime();
            }
        }
    }

    /** Polls the primaries' indexing.index_total until it reaches n; returns System.nanoTime() then. */
    @SuppressWarnings("unchecked")
    private long waitIndexed(String index, int n, long since) throws InterruptedException {
        long deadline = since + TimeUnit.MINUTES.toNanos(5);
        long lastPrint = System.nanoTime();
        while (true) {
            Map<String, Object> stats = es.expectOk("GET", "/" + index + "/_stats/indexing?filter_path=_all.primaries.indexing.index_total", null);
            long total = ((Number) ((Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) stats.get("_all")).get("primaries")).get("indexing"))
                .get("index_total")).longValue();
            long now = System.nanoTime();
            if (total >= n) {
                return now;
            }
            if (now > deadline) {
                printFollowStats(index);
                throw new IllegalStateException(index + ": only " + total + " of " + n + " documents indexed after 5 minutes");
            }
            if (now - lastPrint > TimeUnit.SECONDS.toNanos(5)) {
                System.out.printf(Locale.ROOT, "  %s: %d of %d indexed after %.0f s%n", index, total, n, (now - since) / 1e9);
                lastPrint = now;
            }
            Thread.sleep(25);
        }
    }

    @SuppressWarnings("unchecked")
    private void printFollowStats(String index) {
        Map<String, Object> stats = es.expectOk("GET", "/" + index + "/_mongo_follow/_stats", null);
        for (Map<String, Object> indexStats : (List<Map<String, Object>>) stats.get("indices")) {
            for (Map<String, Object> shard : (List<Map<String, Object>>) indexStats.get("shards")) {
                System.out.printf(
                    Locale.ROOT,
                    "         %s[%s] %s: read requests %s (failed %s, %s ms in total), operations read %s, write requests %s (failed %s, %s ms in total), "
                        + "operations written %s%s%n",
                    index,
                    shard.get("shard_id"),
                    shard.get("status"),
                    shard.get("successful_read_requests"),
                    shard.get("failed_read_requests"),
                    shard.get("total_read_time_millis"),
                    shard.get("operations_read"),
                    shard.get("successful_write_requests"),
                    shard.get("failed_write_requests"),
                    shard.get("total_write_time_millis"),
                    shard.get("operations_written"),
                    shard.get("fatal_exception") == null ? "" : ", FATAL " + shard.get("fatal_exception")
                );
            }
        }
    }
}

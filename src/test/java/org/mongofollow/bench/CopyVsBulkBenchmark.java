package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.mongofollow.demo.EsHttp;
import org.mongofollow.demo.ParentWatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Not a test: bench/copy-vs-bulk runs it against a real node with the plugin and the embedded MongoDB. The initial copy of
 * N documents (about 400 bytes) of the embedded MongoDB into a follower index, against {@code _bulk} of the same N
 * documents (the same {@code _source} after the BSON mapping, bodies built before the clock starts, B documents per
 * request from C clients) into an index with the same settings (one shard, no replica, no refresh while loading). The
 * copy's time runs from the {@code PUT} to its stats saying {@code done} (planning, copy, sweep and the metadata updates
 * included). Untimed warm-up of both first, then rounds of (bulk, copy), each unpinned and then pinned: the node on core
 * 0, the other side (the {@code _bulk} client, this JVM, or the embedded MongoDB) on core 1, so that the pinned ratio
 * compares the node's copy path with its {@code _bulk} path and does not charge the copy for a MongoDB that runs on its
 * own machines in production. Every load ends checked (a count of exactly N, one document equal in both indices). The
 * last line is {@code ratio copy/bulk (pinned): X.XX}, the copy's throughput over {@code _bulk}'s (docs/s over docs/s: below 1
 * is slower).
 */
public final class CopyVsBulkBenchmark {

    private final EsHttp es;
    private final String connection;
    private final BenchNode node;

    private CopyVsBulkBenchmark(EsHttp es, String connection, BenchNode node) {
        this.es = es;
        this.connection = connection;
        this.node = node;
    }

    private static long env(String name, long defaultValue) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? defaultValue : Long.parseLong(value.trim());
    }

    public static void main(String[] args) throws Exception {
        String esUrl = null, connection = null;
        int docs = 100_000, rounds = 2, ranges = 4, batch = 1000, bulkBatch = 1000, bulkClients = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--ranges" -> ranges = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--bulk" -> {
                    String[] bxc = args[++i].split("x");
                    bulkBatch = Integer.parseInt(bxc[0]);
                    bulkClients = Integer.parseInt(bxc[1]);
                }
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (esUrl == null || connection == null) {
            System.err.println("--es and --connection are required");
            System.exit(2);
        }
        ParentWatch.exitWithParent("benchmark");
        EsHttp es = new EsHttp(esUrl);
        BenchNode node = new BenchNode(es, env("BENCH_NODE_PID", -1), env("BENCH_MONGO_PID", -1), env("BENCH_CLOCK_TICKS", 100));
        new CopyVsBulkBenchmark(es, connection, node).run(docs, rounds, ranges, batch, bulkBatch, bulkClients);
    }

    private void run(int n, int rounds, int ranges, int batch, int bulkBatch, int bulkClients) throws Exception {
        List<BsonDocument> documents = documents(n, 42);
        BenchNode.BulkDocuments bulkDocuments = BenchNode.BulkDocuments.of(documents);
        List<String> sources = bulkDocuments.sources();
        List<String> ids = bulkDocuments.ids();
        long bytes = bulkDocuments.sourceBytes();
        System.out.printf(Locale.ROOT, "documents: %d, _source %.0f bytes on average%n", n, (double) bytes / n);
        System.out.println("load average at start: " + BenchNode.loadAverage() + " (" + BenchNode.CORES + " cores)");
        boolean pinnable = node.pinnable();
        int modes = pinnable ? 2 : 1;
        double[] bestBulk = new double[2], bestCopy = new double[2];
        double[] bulkNodeCpuPerDoc = { Double.MAX_VALUE, Double.MAX_VALUE }, copyNodeCpuPerDoc = { Double.MAX_VALUE, Double.MAX_VALUE };
        try (MongoClient client = MongoClients.create(connection)) {
            MongoCollection<BsonDocument> source = client.getDatabase("bench").getCollection("copy_docs", BsonDocument.class);
            source.drop();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i += 1000) {
                source.insertMany(documents.subList(i, Math.min(n, i + 1000)));
            }
            System.out.printf(Locale.ROOT, "MongoDB insertMany of the documents: %.0f docs/s (not part of any figure)%n", n / ((System.nanoTime() - t0) / 1e9));

            // warm-up of both paths on a sample, not measured
            List<BsonDocument> sample = documents(Math.min(n, 10_000), 7);
            MongoCollection<BsonDocument> warm = client.getDatabase("bench").getCollection("copy_warm", BsonDocument.class);
            warm.drop();
            warm.insertMany(sample);
            BenchNode.BulkDocuments bulkSample = BenchNode.BulkDocuments.of(sample);
            node.bulk("bench-warm-bulk", bulkSample.sources(), bulkSample.ids(), bulkBatch, bulkClients);
            copy("bench-warm-copy", "copy_warm", ranges, batch, sample.size());
            es.call("DELETE", "/bench-warm-bulk", null);
            es.call("DELETE", "/bench-warm-copy", null);

            for (int round = 1; round <= rounds; round++) {
                for (int mode = 0; mode < modes; mode++) {
                    String label = node.startRound(round, pinnable, mode == 1);
                    BenchNode.Load bulk = node.bulk("bench-bulk", sources, ids, bulkBatch, bulkClients);
                    node.verify("bench-bulk", n);
                    BenchNode.Load copy = copy("bench-copy", "copy_docs", ranges, batch, n);
                    node.verify("bench-copy", n);
                    node.compareOne("bench-bulk", "bench-copy", ids.get(n / 2));
                    System.out.printf(
                        Locale.ROOT,
                        "%s: _bulk %.0f docs/s (node CPU %.1f us per document), initial copy %.0f docs/s (node CPU %.1f us per document)%n",
                        label, bulk.docsPerSecond(), bulk.nodeCpuSeconds() / n * 1e6, copy.docsPerSecond(), copy.nodeCpuSeconds() / n * 1e6
                    );
                    es.call("DELETE", "/bench-bulk", null);
                    es.call("DELETE", "/bench-copy", null);
                    bestBulk[mode] = Math.max(bestBulk[mode], bulk.docsPerSecond());
                    bestCopy[mode] = Math.max(bestCopy[mode], copy.docsPerSecond());
                    if (bulk.nodeCpuSeconds() > 0 && copy.nodeCpuSeconds() > 0) {
                        bulkNodeCpuPerDoc[mode] = Math.min(bulkNodeCpuPerDoc[mode], bulk.nodeCpuSeconds() / n);
                        copyNodeCpuPerDoc[mode] = Math.min(copyNodeCpuPerDoc[mode], copy.nodeCpuSeconds() / n);
                    }
                }
            }
            if (pinnable) {
                node.pin(false);
            }
        }
        System.out.println("load average at the end: " + BenchNode.loadAverage());
        for (int mode = 0; mode < modes; mode++) {
            String how = BenchNode.modeLabel(pinnable, mode == 1);
            System.out.printf(
                Locale.ROOT,
                "best%s: _bulk %.0f docs/s (%d x %d in flight), initial copy %.0f docs/s (%d ranges, batches of %d); node CPU per document: "
                    + "_bulk %.1f us, copy %.1f us%n",
                how, bestBulk[mode], bulkBatch, bulkClients, bestCopy[mode], ranges, batch, bulkNodeCpuPerDoc[mode] * 1e6, copyNodeCpuPerDoc[mode] * 1e6
            );
        }
        System.out.printf(Locale.ROOT, "ratio copy/bulk%s: %.2f%n", pinnable ? " (unpinned)" : "", bestCopy[0] / bestBulk[0]);
        if (pinnable) {
            System.out.printf(Locale.ROOT, "ratio copy/bulk (pinned): %.2f%n", bestCopy[1] / bestBulk[1]);
        }
    }

    /** A follow with an initial copy of {@code collection} into a fresh {@code index}: from the PUT to the copy done. */
    @SuppressWarnings("unchecked")
    private BenchNode.Load copy(String index, String collection, int ranges, int batch, int expected) throws Exception {
        es.call("DELETE", "/" + index, null);
        long nodeBefore = BenchNode.cpuTicks(node.esPid);
        long cpuBefore = nodeBefore + BenchNode.cpuTicks(node.mongoPid);
        long start = System.nanoTime();
        es.expectOk(
            "PUT",
            "/" + index + "/_mongo_follow",
            "{\"connection\": \"" + connection + "\", \"database\": \"bench\", \"collection\": \"" + collection + "\", \"settings\": "
                + BenchNode.LOAD_SETTINGS + ", \"checkpoint_interval\": \"200ms\", \"initial_copy\": {\"max_concurrent_ranges\": " + ranges
                + ", \"batch_size\": " + batch + "}}"
        );
        // how the rate holds as the index grows: the time at which each tenth of the documents was copied
        long[] tenths = new long[11];
        tenths[0] = start;
        int tenthsSeen = 0;
        while (true) {
            Map<String, Object> stats = es.expectOk("GET", "/" + index + "/_mongo_follow/_stats", null);
            Map<String, Object> copy = (Map<String, Object>) ((List<Map<String, Object>>) stats.get("indices")).get(0).get("initial_copy");
            Number copied = (Number) copy.get("documents_copied");
            while (copied != null && tenthsSeen < 10 && copied.longValue() * 10 >= (long) expected * (tenthsSeen + 1)) {
                tenths[++tenthsSeen] = System.nanoTime();
            }
            if ("done".equals(copy.get("state"))) {
                long end = System.nanoTime();
                if (expected >= 100_000 && tenthsSeen == 10) {
                    StringBuilder rates = new StringBuilder();
                    for (int t = 1; t <= 10; t++) {
                        rates.append(t == 1 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", expected / 10.0 / ((tenths[t] - tenths[t - 1]) / 1e9)));
                    }
                    System.out.println("         copy docs/s by tenth of the documents (stats polled every 100 ms): " + rates);
                }
                long nodeAfter = BenchNode.cpuTicks(node.esPid);
                if (((Number) copy.get("documents_copied")).intValue() != expected) {
                    throw new IllegalStateException("the copy of " + index + " copied " + copy + ", expected " + expected);
                }
                es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
                es.expectOk("PUT", "/" + index + "/_settings", "{\"index\": {\"refresh_interval\": null}}");
                return new BenchNode.Load(
                    expected / ((end - start) / 1e9),
                    node.seconds(nodeAfter + BenchNode.cpuTicks(node.mongoPid) - cpuBefore),
                    node.seconds(nodeAfter - nodeBefore)
                );
            }
            if ("failed".equals(copy.get("state"))) {
                throw new IllegalStateException("the copy of " + index + " failed: " + copy);
            }
            // the polls cost the node (pinned, the copy's core) what _bulk's timing does not pay: every 100 ms until the
            // last tenth, then every 10 ms for the end
            Thread.sleep(copied != null && copied.longValue() * 10 >= (long) expected * 9 ? 10 : 100);
        }
    }

    private static final String[] WORDS = ("time person year way day thing man world life hand part child eye woman place work week case "
        + "point government company number group problem fact water money story month lot right study book word business issue").split(" ");

    /** Documents of about 400 bytes: numbers, short strings, a 30-word text, a small array. */
    static List<BsonDocument> documents(int n, long seed) {
        Random random = new Random(seed);
        List<BsonDocument> documents = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 30; w++) {
                text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
            }
            BsonArray tags = new BsonArray();
            for (int t = random.nextInt(4); t > 0; t--) {
                tags.add(new BsonString("t" + random.nextInt(20)));
            }
            documents.add(
                new BsonDocument("_id", new BsonInt32(i)).append("name", new BsonString("item " + i))
                    .append("qty", new BsonInt32(random.nextInt(1000)))
                    .append("price", new BsonDouble(random.nextInt(100_000) / 100.0))
                    .append("text", new BsonString(text.toString().trim()))
                    .append("tags", tags)
            );
        }
        return documents;
    }
}

package org.mongofollow.bench;

import org.mongofollow.demo.EsHttp;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the benchmarks that compare a follow or a copy with {@code _bulk} share: the node (over HTTP) and the two processes
 * of the run, the node's and the embedded MongoDB's, which they pin to cores with {@code taskset} and whose CPU time they
 * read from {@code /proc}; and the {@code _bulk} load they compare with.
 */
final class BenchNode {

    /** A fresh index for a timed load: one shard, no replica, no refresh while loading. */
    static final String LOAD_SETTINGS = "{\"number_of_shards\": 1, \"number_of_replicas\": 0, \"refresh_interval\": \"-1\"}";

    /** The machine's cores, counted before anything is pinned (a pinned JVM sees only its own). */
    static final int CORES = Runtime.getRuntime().availableProcessors();

    /**
     * One timed load.
     *
     * @param docsPerSecond  documents over the wall-clock time
     * @param cpuSeconds     CPU time of the processes that did the work (the node and the client, or the node and MongoDB)
     * @param nodeCpuSeconds the node's part of it
     */
    record Load(double docsPerSecond, double cpuSeconds, double nodeCpuSeconds) {}

    /** Documents as {@code _bulk} sends them: each one's {@code _source} (the BSON mapping's JSON) and {@code _id}. */
    record BulkDocuments(List<String> sources, List<String> ids, long sourceBytes) {
        static BulkDocuments of(List<org.bson.BsonDocument> documents) {
            List<String> sources = new ArrayList<>(documents.size());
            List<String> ids = new ArrayList<>(documents.size());
            long bytes = 0;
            for (org.bson.BsonDocument document : documents) {
                String json = EsHttp.toJson(org.mongofollow.apply.BsonToJson.toSource(document));
                sources.add(json);
                ids.add(org.mongofollow.operation.DocumentIds.toElasticsearchId(document.get("_id")));
                bytes += json.length();
            }
            return new BulkDocuments(sources, ids, bytes);
        }
    }

    final EsHttp es;
    final long esPid;
    final long mongoPid;
    private final double clockTicks;

    BenchNode(EsHttp es, long esPid, long mongoPid, double clockTicks) {
        this.es = es;
        this.esPid = esPid;
        this.mongoPid = mongoPid;
        this.clockTicks = clockTicks;
    }

    /** Whether rounds can run pinned: both processes known, two cores, and {@code taskset} works (it unpins them all). */
    boolean pinnable() {
        return esPid > 0 && mongoPid > 0 && CORES >= 2 && pin(false);
    }

    /**
     * Pins the node to core 0 and the other side (the embedded MongoDB, and this JVM, which is the _bulk client) to core 1,
     * or lets all three use every core again, with {@code taskset -a} (every thread). Returns whether it worked.
     */
    boolean pin(boolean pinned) {
        String all = "0-" + (CORES - 1);
        return taskset(pinned ? "0" : all, esPid) && taskset(pinned ? "1" : all, mongoPid) && taskset(pinned ? "1" : all, ProcessHandle.current().pid());
    }

    /**
     * Starts a round's load in its mode: pins the processes ({@code pinned}) or lets them use every core, when rounds can
     * be pinned at all. Returns the round's label for the per-round lines.
     */
    String startRound(int round, boolean pinnable, boolean pinned) {
        if (pinnable) {
            pin(pinned);
        }
        return "round " + round + (pinnable ? (pinned ? " pinned  " : " unpinned") : "");
    }

    /** How the summary lines name a mode's figures ("" when rounds could not be pinned). */
    static String modeLabel(boolean pinnable, boolean pinned) {
        return pinnable ? (pinned ? " (pinned: node on core 0, client or MongoDB on core 1)" : " (unpinned)") : "";
    }

    private static boolean taskset(String cpus, long pid) {
        try {
            Process process = new ProcessBuilder("taskset", "-apc", cpus, Long.toString(pid)).redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor() == 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** utime + stime of a process in clock ticks (/proc/PID/stat), 0 if unknown. */
    static long cpuTicks(long pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    double seconds(long ticks) {
        return ticks / clockTicks;
    }

    static String loadAverage() {
        try {
            String[] parts = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /** Bulk-indexes the sources into a fresh index from {@code concurrency} clients; timed from the first request to the last response. */
    Load bulk(String index, List<String> sources, List<String> ids, int batch, int concurrency) throws Exception {
        es.call("DELETE", "/" + index, null);
        es.expectOk("PUT", "/" + index, "{\"settings\": " + LOAD_SETTINGS + "}");
        es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=30s", null);
        List<String> bodies = new ArrayList<>();
        for (int from = 0; from < sources.size(); from += batch) {
            StringBuilder body = new StringBuilder();
            for (int i = from; i < Math.min(from + batch, sources.size()); i++) {
                body.append("{\"index\":{\"_id\":\"").append(ids.get(i)).append("\"}}\n").append(sources.get(i)).append('\n');
            }
            bodies.add(body.toString());
        }
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long nodeBefore = cpuTicks(esPid);
        long cpuBefore = nodeBefore + cpuTicks(ProcessHandle.current().pid());
        long start = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            workers.add(pool.submit(() -> {
                for (int b; (b = next.getAndIncrement()) < bodies.size();) {
                    EsHttp.Reply reply = es.call("POST", "/" + index + "/_bulk", bodies.get(b), "application/x-ndjson");
                    if (reply.ok() == false || reply.body().startsWith("{\"errors\":true") || reply.body().contains("\"errors\":true")) {
                        throw new IllegalStateException("bulk failed: " + reply.status() + " " + reply.body().substring(0, Math.min(2000, reply.body().length())));
                    }
                }
                return null;
            }));
        }
        for (Future<?> worker : workers) {
            worker.get();
        }
        long end = System.nanoTime();
        long nodeAfter = cpuTicks(esPid);
        pool.shutdown();
        es.expectOk("PUT", "/" + index + "/_settings", "{\"index\": {\"refresh_interval\": null}}");
        return new Load(
            sources.size() / ((end - start) / 1e9),
            seconds(nodeAfter + cpuTicks(ProcessHandle.current().pid()) - cpuBefore),
            seconds(nodeAfter - nodeBefore)
        );
    }

    /** Refreshes {@code index} and checks that it holds exactly {@code n} documents. */
    void verify(String index, int n) {
        es.expectOk("POST", "/" + index + "/_refresh", null);
        Number count = (Number) es.expectOk("GET", "/" + index + "/_count", null).get("count");
        if (count.longValue() != n) {
            throw new IllegalStateException(index + " holds " + count + " documents, expected " + n);
        }
    }

    /** Checks that document {@code id} has the same {@code _source} in both indices. */
    @SuppressWarnings("unchecked")
    void compareOne(String left, String right, String id) {
        java.util.Map<String, Object> a = (java.util.Map<String, Object>) es.expectOk("GET", "/" + left + "/_doc/" + id, null).get("_source");
        java.util.Map<String, Object> b = (java.util.Map<String, Object>) es.expectOk("GET", "/" + right + "/_doc/" + id, null).get("_source");
        if (a.equals(b) == false) {
            throw new IllegalStateException("document " + id + " differs:\n  " + left + " " + a + "\n  " + right + " " + b);
        }
    }
}

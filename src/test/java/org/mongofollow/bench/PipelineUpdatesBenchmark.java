package org.mongofollow.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.WriteModel;

import org.bson.Document;
import org.mongofollow.demo.EsHttp;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Benchmark (not a test): the cost of an ingest pipeline to a follow, for inserts and for updates (which, under a pipeline,
 * read each updated document from MongoDB). See {@code bench/pipeline-updates}. The pipeline has no processors, so the
 * figures are the mechanism's own.
 */
public final class PipelineUpdatesBenchmark {

    private static final String PIPELINE = "bench-empty";

    public static void main(String[] args) throws Exception {
        String esUrl = null;
        String connection = null;
        int docs = 20_000;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--es" -> esUrl = args[++i];
                case "--connection" -> connection = args[++i];
                case "--docs" -> docs = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        EsHttp es = new EsHttp(esUrl);
        es.expectOk("PUT", "/_ingest/pipeline/" + PIPELINE, "{\"description\": \"no processors\", \"processors\": []}");
        try (MongoClient mongo = MongoClients.create(connection)) {
            MongoDatabase database = mongo.getDatabase("bench_pipeline");
            run(es, database, connection, false, docs / 2); // untimed: the JIT and the pools warm up
            run(es, database, connection, true, docs / 2);
            double[] none = { 0, 0 };
            double[] piped = { 0, 0 };
            for (int round = 1; round <= rounds; round++) {
                double[] a = run(es, database, connection, false, docs);
                double[] b = run(es, database, connection, true, docs);
                System.out.printf(Locale.ROOT, "round %d: inserts %.0f / %.0f docs/s, updates %.0f / %.0f docs/s (none / pipeline)%n",
                    round, a[0], b[0], a[1], b[1]);
                for (int k = 0; k < 2; k++) {
                    none[k] = Math.max(none[k], a[k]);
                    piped[k] = Math.max(piped[k], b[k]);
                }
            }
            System.out.printf(Locale.ROOT, "best: inserts %.0f / %.0f docs/s, updates %.0f / %.0f docs/s (none / pipeline)%n",
                none[0], piped[0], none[1], piped[1]);
            System.out.printf(Locale.ROOT, "ratio pipeline/none (inserts): %.2f%n", piped[0] / none[0]);
            System.out.printf(Locale.ROOT, "ratio pipeline/none (updates): %.2f%n", piped[1] / none[1]);
        } finally {
            es.call("DELETE", "/_ingest/pipeline/" + PIPELINE, null);
        }
    }

    /** {inserts/s, updates/s} of one follow, each a ready backlog applied from a resume. */
    private static double[] run(EsHttp es, MongoDatabase database, String connection, boolean pipeline, int docs) throws InterruptedException {
        String index = pipeline ? "bench-piped" : "bench-plain";
        MongoCollection<Document> collection = database.getCollection(index);
        es.call("DELETE", "/" + index, null);
        collection.drop();
        database.createCollection(index);
        es.expectOk("PUT", "/" + index + "/_mongo_follow", """
            {"connection": "%s", "database": "%s", "collection": "%s", "initial_copy": false,
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0, "index.refresh_interval": "1s"%s}}
            """.formatted(connection, database.getName(), index, pipeline ? ", \"index.default_pipeline\": \"" + PIPELINE + "\"" : ""));
        es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null);

        es.expectOk("POST", "/" + index + "/_mongo_follow/_pause", null);
        List<Document> batch = new ArrayList<>();
        for (int i = 0; i < docs; i++) {
            batch.add(new Document("_id", "doc-" + i).append("n", i).append("text", "y".repeat(400)));
            if (batch.size() == 1000 || i == docs - 1) {
                collection.insertMany(batch);
                batch = new ArrayList<>();
            }
        }
        double inserts = applied(es, index, docs, docs);

        es.expectOk("POST", "/" + index + "/_mongo_follow/_pause", null);
        List<WriteModel<Document>> updates = new ArrayList<>();
        for (int i = 0; i < docs; i++) {
            updates.add(new UpdateOneModel<>(Filters.eq("_id", "doc-" + i), Updates.set("n", -i - 1))); // never a no-op (MongoDB logs none for those)
            if (updates.size() == 1000 || i == docs - 1) {
                collection.bulkWrite(updates);
                updates = new ArrayList<>();
            }
        }
        double updated = applied(es, index, docs, 2L * docs);

        es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
        es.call("DELETE", "/" + index, null);
        collection.drop();
        return new double[] { inserts, updated };
    }

    /** Resumes the follow and returns docs/s until the primary's index_total reaches {@code total}. */
    private static double applied(EsHttp es, String index, int docs, long total) throws InterruptedException {
        long start = System.nanoTime();
        es.expectOk("POST", "/" + index + "/_mongo_follow/_resume", null);
        while (Backlog.indexed(es, index) < total) {
            Thread.sleep(25);
        }
        return docs / ((System.nanoTime() - start) / 1e9);
    }
}

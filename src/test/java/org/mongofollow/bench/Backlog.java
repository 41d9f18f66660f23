package org.mongofollow.bench;

import com.mongodb.client.MongoDatabase;

import org.bson.Document;
import org.mongofollow.demo.EsHttp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A follow's rate of applying a ready backlog (benchmarks only). */
final class Backlog {

    private Backlog() {}

    /**
     * Follows {@code database.collection} into a fresh one-shard {@code index} ({@code initial_copy: false}), pauses it,
     * inserts {@code docs} documents of about 450 bytes, resumes it and returns docs/s from the resume until the primary
     * has indexed them all. The follow, the index and the collection are removed afterwards.
     */
    static double applyRate(EsHttp es, MongoDatabase database, String connection, String index, String collection, int docs)
        throws InterruptedException {
        es.call("DELETE", "/" + index, null);
        database.getCollection(collection).drop();
        database.createCollection(collection);
        es.expectOk("PUT", "/" + index + "/_mongo_follow", """
            {"connection": "%s", "database": "%s", "collection": "%s", "initial_copy": false,
             "settings": {"index.number_of_shards": 1, "index.number_of_replicas": 0, "index.refresh_interval": "1s"}}
            """.formatted(connection, database.getName(), collection));
        es.expectOk("GET", "/_cluster/health/" + index + "?wait_for_status=green&timeout=60s", null);
        es.expectOk("POST", "/" + index + "/_mongo_follow/_pause", null);
        List<Document> batch = new ArrayList<>();
        for (int i = 0; i < docs; i++) {
            batch.add(new Document("_id", "doc-" + i).append("n", i).append("text", "y".repeat(400)));
            if (batch.size() == 1000 || i == docs - 1) {
                database.getCollection(collection).insertMany(batch);
                batch = new ArrayList<>();
            }
        }
        long start = System.nanoTime();
        es.expectOk("POST", "/" + index + "/_mongo_follow/_resume", null);
        while (indexed(es, index) < docs) {
            Thread.sleep(25);
        }
        double rate = docs / ((System.nanoTime() - start) / 1e9);
        es.expectOk("POST", "/" + index + "/_mongo_follow/_unfollow", null);
        es.call("DELETE", "/" + index, null);
        database.getCollection(collection).drop();
        return rate;
    }

    @SuppressWarnings("unchecked")
    static long indexed(EsHttp es, String index) {
        Map<String, Object> stats = es.expectOk("GET", "/" + index + "/_stats/indexing", null);
        Map<String, Object> primaries = (Map<String, Object>) ((Map<String, Object>) stats.get("_all")).get("primaries");
        return ((Number) ((Map<String, Object>) primaries.get("indexing")).get("index_total")).longValue();
    }
}

package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.RawBsonDocument;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;

/**
 * Not a test: bench/embedded-mongo runs it. Prints insertMany throughput of ~1 KB documents with the oplog
 * on, and the rate of reading the oplog back by ts range, through the real driver over the wire.
 */
public final class EmbeddedMongoBenchmark {

    private EmbeddedMongoBenchmark() {
    }

    public static void main(String[] args) {
        int docs = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> coll = client.getDatabase("bench").getCollection("docs");
            Random random = new Random(42);
            String[] words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split(" ");

            // warm-up (JIT) of both paths, not measured
            MongoCollection<RawBsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", RawBsonDocument.class);
            for (int i = 0; i < 20_000; i += batch) {
                coll.insertMany(documents(i, batch, random, words));
            }
            for (int round = 0; round < 3; round++) {
                try (MongoCursor<RawBsonDocument> cursor = oplog.find(new Document("ts", new Document("$gt", new BsonTimestamp(0))))
                    .batchSize(10_000).iterator()) {
                    cursor.forEachRemaining(d -> { });
                }
            }
            coll.drop();

            BsonTimestamp before = mongo.lastAppliedOpTime();
            long t0 = System.nanoTime();
            for (int i = 0; i < docs; i += batch) {
                coll.insertMany(documents(i, Math.min(batch, docs - i), random, words));
            }
            double insertSeconds = (System.nanoTime() - t0) / 1e9;
            BsonTimestamp after = mongo.lastAppliedOpTime();
            System.out.printf("insertMany: %d docs of ~%d bytes in batches of %d: %.2f s, %.0f docs/s (oplog on, %d entries)%n",
                docs, RawBsonDocument.parse(documents(0, 1, new Random(1), words).get(0).toJson()).getByteBuffer().remaining(),
                batch, insertSeconds, docs / insertSeconds, mongo.oplogEntryCount());

            for (int round = 0; round < 3; round++) {
                long t1 = System.nanoTime();
                long read = 0;
                try (MongoCursor<RawBsonDocument> cursor = oplog.find(new Document("ts", new Document("$gt", before).append("$lte", after)))
                    .batchSize(10_000).iterator()) {
                    while (cursor.hasNext()) {
                        cursor.next();
                        read++;
                    }
                }
                double readSeconds = (System.nanoTime() - t1) / 1e9;
                System.out.printf("oplog range read (round %d): %d entries in %.2f s, %.0f entries/s%n", round + 1, read,
                    readSeconds, read / readSeconds);
            }

            long t2 = System.nanoTime();
            int polls = 200;
            for (int i = 0; i < polls; i++) {
                oplog.find(new Document("ts", new Document("$gt", after))).batchSize(100).first();
            }
            System.out.printf("empty poll {ts: {$gt: newest}} over %d entries: %.2f ms per poll%n", mongo.oplogEntryCount(),
                (System.nanoTime() - t2) / 1e6 / polls);

            // the copy's read: a batch of an _id range, sorted on _id. Sorted on _id alone it is read from the _id order (as
            // mongod reads its _id index); sorted on _id and another field, the library matches and sorts the collection.
            // Side by side, interleaved, so the machine's load hits both alike.
            int ranges = 50;
            double[] best = { Double.MAX_VALUE, Double.MAX_VALUE };
            for (int round = 0; round < 3; round++) {
                for (int path = 0; path < 2; path++) {
                    org.bson.conversions.Bson sort = path == 0 ? com.mongodb.client.model.Sorts.ascending("_id")
                        : com.mongodb.client.model.Sorts.ascending("_id", "n");
                    Random starts = new Random(7);
                    long t3 = System.nanoTime();
                    long read = 0;
                    for (int r = 0; r < ranges; r++) {
                        int from = starts.nextInt(docs);
                        try (MongoCursor<RawBsonDocument> cursor = client.getDatabase("bench").getCollection("docs", RawBsonDocument.class)
                            .find(new Document("_id", new Document("$gt", from))).sort(sort).limit(batch).batchSize(batch).iterator()) {
                            while (cursor.hasNext()) {
                                cursor.next();
                                read++;
                            }
                        }
                    }
                    double ms = (System.nanoTime() - t3) / 1e6 / ranges;
                    best[path] = Math.min(best[path], ms);
                    System.out.printf("_id range read of %d (round %d, %s): %.2f ms per range, %d documents%n", batch, round + 1,
                        path == 0 ? "sorted on _id: the _id order" : "sorted on _id, n: match and sort", ms, read);
                }
            }
            System.out.printf("_id range read, best round: _id order %.2f ms, match and sort %.2f ms per range of %d over %d documents: %.1fx%n",
                best[0], best[1], batch, docs, best[1] / best[0]);
        }
    }

    private static List<Document> documents(int start, int count, Random random, String[] words) {
        List<Document> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 130; w++) {
                text.append(words[random.nextInt(words.length)]).append(' ');
            }
            out.add(new Document("_id", start + i)
                .append("n", random.nextInt(1_000_000))
                .append("price", random.nextDouble() * 100)
                .append("name", "item-" + (start + i))
                .append("category", "cat-" + random.nextInt(20))
                .append("text", text.toString())
                .append("tags", List.of("t" + random.nextInt(10), "t" + random.nextInt(10), "t" + random.nextInt(10))));
        }
        return out;
    }

}

package org.mongofollow.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code $sample} as mongod serves it when it is the pipeline's first stage: when it asks for fewer than 5% of the
 * documents of a collection of more than 100, from a pseudo-random cursor that reads only the documents it returns;
 * otherwise by a scan and a random sort. The library would draw a secure random key at every comparison of a sort of the
 * whole collection (slow, and a broken comparator). The stages after it run the library's way on the sampled documents.
 */
final class RandomSample {

    private RandomSample() {}

    /** The aggregate's reply, or null when its pipeline does not start with {@code $sample}. */
    static Document serve(MongoDatabase database, Document query, DatabaseResolver resolver, Oplog oplog) {
        if (!(query.get("aggregate") instanceof String collectionName) || !(query.get("pipeline") instanceof List<?> pipeline)
            || pipeline.isEmpty() || !(pipeline.get(0) instanceof Document first) || first.size() != 1
            || !(first.get("$sample") instanceof Document sample) || !(sample.get("size") instanceof Number size)) {
            return null;
        }
        MongoCollection<?> collection = database.resolveCollection(collectionName, false);
        if (!(collection instanceof OplogCollection documents)) {
            return null;
        }
        int count = documents.count();
        if (size.longValue() <= 0) {
            throw new de.bwaldvogel.mongo.exception.MongoServerError(28747, "Location28747", "size argument to $sample must be a positive integer");
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        List<Document> sampled = count > 100 && size.longValue() * 20 < count ? documents.randomDocuments(size.intValue(), random) : null;
        if (sampled == null) {
            // a collection scan and a random sort, as mongod samples a larger part (the library's own sort draws a new
            // random key at every comparison, which breaks the sort's contract on larger collections)
            List<Document> all = documents.allDocuments();
            java.util.Collections.shuffle(all, random);
            sampled = all.subList(0, (int) Math.min(all.size(), size.longValue()));
        }
        List<Document> rest = pipeline.subList(1, pipeline.size()).stream().map(Document.class::cast).toList();
        List<Document> results = rest.isEmpty()
            ? sampled
            : Aggregation.fromPipeline(rest, resolver, database, collection, oplog).runStages(sampled.stream());
        Document cursor = new Document("id", 0L).append("ns", database.getDatabaseName() + "." + collectionName).append("firstBatch", results);
        return new Document("cursor", cursor).append("ok", 1.0);
    }
}

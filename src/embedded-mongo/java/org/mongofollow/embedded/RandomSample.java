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
 * {@code $sample} as mongod serves it when it is the pipeline's first stage, asks for fewer than 5% of the documents of a
 * collection of more than 100: from a pseudo-random cursor that reads only the documents it returns, where the library
 * would draw a secure random key for every document of the collection and sort them all. The stages after it run the
 * library's way on the sampled documents. Anything else (a larger sample, a small collection) goes the library's way.
 */
final class RandomSample {

    private RandomSample() {}

    /** The aggregate's reply, or null when it is not such a sample. */
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
        if (count <= 100 || size.longValue() <= 0 || size.longValue() * 20 >= count) {
            return null;
        }
        List<Document> sampled = documents.randomDocuments(size.intValue(), ThreadLocalRandom.current());
        if (sampled == null) {
            return null;
        }
        List<Document> rest = pipeline.subList(1, pipeline.size()).stream().map(Document.class::cast).toList();
        List<Document> results = rest.isEmpty()
            ? sampled
            : Aggregation.fromPipeline(rest, resolver, database, collection, oplog).runStages(sampled.stream());
        Document cursor = new Document("id", 0L).append("ns", database.getDatabaseName() + "." + collectionName).append("firstBatch", results);
        return new Document("cursor", cursor).append("ok", 1.0);
    }
}

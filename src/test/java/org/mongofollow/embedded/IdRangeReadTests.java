package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.bson.types.ObjectId;
import org.junit.Test;

import com.mongodb.client.FindIterable;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;

/**
 * Queries sorted on {@code _id} alone are read from the collection's {@code _id} order (as mongod reads its {@code _id}
 * index): through the official driver they return exactly what the library's match-and-sort returns for the same query
 * (a sort on {@code _id} and another field, which the {@code _id} order does not serve, gives that), over ids of mixed
 * types, with bounds, limits, skips, batches, projections and both directions, also after deletes and re-inserts.
 */
public class IdRangeReadTests {

    @Test
    public void idSortedQueriesReturnWhatMatchingAndSortingReturns() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("db").getCollection("items");
            Random random = new Random(42);
            List<Object> ids = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                Object id = switch (i % 4) {
                    case 0 -> i;
                    case 1 -> (long) i * 7;
                    case 2 -> "s" + random.nextInt(100_000);
                    default -> new ObjectId();
                };
                if (ids.contains(id)) {
                    continue;
                }
                ids.add(id);
                items.insertOne(new Document("_id", id).append("n", i).append("odd", i % 2 == 1));
            }
            // deletes and re-inserts move documents to other positions
            for (int i = 0; i < 60; i++) {
                Object id = ids.get(random.nextInt(ids.size()));
                items.deleteOne(Filters.eq("_id", id));
                items.insertOne(new Document("_id", id).append("n", -i).append("odd", true));
            }
            List<Bson> filters = List.of(
                new BsonDocument(),
                Filters.gt("_id", 100),
                Filters.gte("_id", 100),
                Filters.and(Filters.gt("_id", 40), Filters.lt("_id", 2000)),
                Filters.and(Filters.gte("_id", "s2"), Filters.lte("_id", "s7")),
                Filters.or(Filters.gt("_id", 300), Filters.type("_id", "string")),
                Filters.and(Filters.gt("_id", 10), Filters.eq("odd", true)),
                Filters.eq("_id", ids.get(17)),
                Filters.in("_id", ids.get(3), ids.get(4), ids.get(500)),
                Filters.lt("_id", new ObjectId())
            );
            int checked = 0;
            for (Bson filter : filters) {
                for (int direction : new int[] { 1, -1 }) {
                    for (int[] skipLimit : new int[][] { { 0, 0 }, { 0, 7 }, { 5, 50 }, { 3, 0 } }) {
                        List<Document> read = query(items, filter, Sorts.orderBy(direction == 1 ? Sorts.ascending("_id") : Sorts.descending("_id")), skipLimit);
                        List<Document> matched = query(items, filter, direction == 1
                            ? Sorts.ascending("_id", "n") : Sorts.descending("_id", "n"), skipLimit);
                        assertEquals(filter + " direction " + direction + " skip/limit " + skipLimit[0] + "/" + skipLimit[1], matched, read);
                        checked += read.size();
                    }
                }
            }
            assertTrue("the queries return documents: " + checked, checked > 1000);
            // a projection, in batches
            List<Document> projected = items.find(Filters.gt("_id", 0)).sort(Sorts.ascending("_id")).projection(Projections.include("n"))
                .batchSize(10).into(new ArrayList<>());
            assertEquals(items.find(Filters.gt("_id", 0)).sort(Sorts.ascending("_id", "n")).projection(Projections.include("n"))
                .into(new ArrayList<>()), projected);
            assertTrue(projected.stream().allMatch(d -> d.keySet().equals(java.util.Set.of("_id", "n"))));
        }
    }

    /**
     * {@code _id}s of the types the library cannot order (kept as raw values: DBPointer, binary subtypes, ...) turn the
     * {@code _id} order off for their collection: they are stored and found as before, and other collections keep it.
     */
    @Test
    public void idsTheLibraryCannotOrderAreStoredAndFoundAsBefore() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<BsonDocument> exotic = client.getDatabase("db").getCollection("exotic", BsonDocument.class);
            List<org.bson.BsonValue> ids = List.of(
                new org.bson.BsonSymbol("sym"),
                new org.bson.BsonDbPointer("a.b", new ObjectId()),
                new org.bson.BsonBinary((byte) 2, new byte[] { 1, 2 }),
                new org.bson.BsonJavaScriptWithScope("x", new BsonDocument()),
                new org.bson.BsonUndefined(),
                new org.bson.BsonDecimal128(org.bson.types.Decimal128.parse("1.5")),
                new org.bson.BsonMaxKey(),
                new org.bson.BsonInt32(1)
            );
            for (org.bson.BsonValue id : ids) {
                exotic.insertOne(new BsonDocument("_id", id).append("n", new org.bson.BsonInt32(1)));
            }
            assertEquals(ids.size(), exotic.countDocuments());
            for (org.bson.BsonValue id : ids) {
                assertEquals(id.getBsonType().toString(), 1, exotic.find(Filters.eq("_id", id)).into(new ArrayList<>()).size());
            }
            exotic.deleteOne(Filters.eq("_id", ids.get(1)));
            assertEquals(ids.size() - 1, exotic.countDocuments());
            // another collection keeps its _id order
            MongoCollection<Document> plain = client.getDatabase("db").getCollection("plain");
            for (int i = 0; i < 20; i++) {
                plain.insertOne(new Document("_id", i));
            }
            assertEquals(List.of(new Document("_id", 17), new Document("_id", 18)),
                plain.find(Filters.gt("_id", 16)).sort(Sorts.ascending("_id")).limit(2).into(new ArrayList<>()));
        }
    }

    private static List<Document> query(MongoCollection<Document> items, Bson filter, Bson sort, int[] skipLimit) {
        FindIterable<Document> find = items.find(filter).sort(sort).batchSize(4);
        if (skipLimit[0] > 0) {
            find = find.skip(skipLimit[0]);
        }
        if (skipLimit[1] > 0) {
            find = find.limit(skipLimit[1]);
        }
        return find.into(new ArrayList<>());
    }

    /**
     * A small {@code $sample} (under 5% of a collection of more than 100 documents) is served as mongod's pseudo-random
     * cursor serves it: distinct documents of the collection, the stages after it applied; a larger one the library's way.
     */
    @Test
    public void smallSamplesAreDistinctDocumentsOfTheCollection() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("db").getCollection("items");
            List<Document> batch = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                batch.add(new Document("_id", i).append("n", i * 2));
            }
            items.insertMany(batch);
            items.deleteMany(Filters.lt("_id", 500)); // holes in the storage
            for (int size : new int[] { 1, 40, 74, 200 }) {
                List<Document> sample = items.aggregate(List.of(
                    new Document("$sample", new Document("size", size)),
                    new Document("$project", new Document("_id", 1)),
                    new Document("$sort", new Document("_id", 1))
                )).into(new ArrayList<>());
                assertEquals(size, sample.size());
                int previous = -1;
                for (Document document : sample) {
                    int id = document.getInteger("_id");
                    assertTrue("a deleted or repeated document: " + sample, id >= 500 && id < 2_000 && id > previous);
                    assertEquals(List.of("_id"), new ArrayList<>(document.keySet()));
                    previous = id;
                }
            }
        }
    }
}

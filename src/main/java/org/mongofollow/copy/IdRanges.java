package org.mongofollow.copy;

import com.mongodb.MongoException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonType;
import org.bson.BsonValue;
import org.bson.conversions.Bson;
import org.mongofollow.metadata.CopyState;

import java.util.ArrayList;
import java.util.List;

/**
 * How a copy cuts a collection into {@code _id} ranges and reads one range batch by batch.
 *
 * <p><b>Split points.</b> A {@code $sample} of the {@code _id}s (about 20 per wanted range), sorted by the server
 * in BSON order, gives the split points: every 20th sample. {@code $sample} is cheap on a real server (a random
 * cursor on the {@code _id} index) and works on the embedded test server too; where it fails, the {@code _id}s
 * are read sorted (projection {@code _id} only) and cut every {@code estimate / ranges} documents. The number
 * of ranges grows with the collection (one per {@link #DOCUMENTS_PER_RANGE} documents) between one and
 * {@code 4 * max_concurrent_ranges}, at most {@link #MAX_RANGES}; a range is {@code [lower, upper)}, the first
 * has no lower bound and the last no upper bound, so together they cover every {@code _id}. Through mongos, a collection
 * sharded on {@code _id} is also cut where its chunks begin ({@link ChunkBounds}): up to as many more ranges, each read from
 * one shard.
 *
 * <p><b>Type brackets.</b> MongoDB's {@code $gt}/{@code $lt} only match values of the bound's type class
 * (numbers with numbers, strings with strings, ...), while sorting orders across classes. When the smallest
 * and the largest {@code _id} are of the same class, every {@code _id} is, and plain bounds are exact. When
 * they differ, each bound also admits the whole type classes before (upper bound) or after (lower bound) its
 * own, with {@code $type}, so ranges still partition the {@code _id}s in BSON order.
 */
public final class IdRanges {

    public static final int DOCUMENTS_PER_RANGE = 5_000;
    public static final int MAX_RANGES = 256;
    private static final int SAMPLES_PER_RANGE = 20;

    private IdRanges() {}

    /** The plan: the collection's estimated size, whether its ids span type classes, and the ranges. */
    public record Plan(long estimate, boolean mixedTypes, List<CopyState.Range> ranges) {}

    /**
     * The plan, its ranges also cut at {@code chunkBounds} (the {@code _id}s where the chunks of a collection sharded on
     * {@code _id} begin, {@link ChunkBounds}), so that each range is read from one shard.
     */
    public static Plan plan(MongoCollection<BsonDocument> collection, int maxConcurrentRanges, List<BsonValue> chunkBounds) {
        long estimate = collection.estimatedDocumentCount();
        BsonDocument min = collection.find().projection(Projections.include("_id")).sort(Sorts.ascending("_id")).limit(1).first();
        BsonDocument max = collection.find().projection(Projections.include("_id")).sort(Sorts.descending("_id")).limit(1).first();
        if (min == null || max == null) {
            return new Plan(estimate, false, List.of(new CopyState.Range(null, null, null, 0, false)));
        }
        boolean mixed = typeClass(min.get("_id")) != typeClass(max.get("_id"));
        int wanted = (int) Math.max(1, Math.min(Math.min(MAX_RANGES, 4L * maxConcurrentRanges), (estimate + DOCUMENTS_PER_RANGE - 1) / DOCUMENTS_PER_RANGE));
        List<BsonValue> splits = wanted <= 1 ? List.of() : ChunkBounds.merge(splitPoints(collection, estimate, wanted), chunkBounds, wanted - 1);
        // a chunk bound of another type class than the ids (a split left by ids deleted since) needs the typed bounds too
        for (BsonValue split : splits) {
            mixed |= typeClass(split) != typeClass(min.get("_id"));
        }
        List<CopyState.Range> ranges = new ArrayList<>();
        BsonValue lower = null;
        for (BsonValue split : splits) {
            if (lower != null && lower.equals(split)) {
                continue;
            }
            ranges.add(new CopyState.Range(lower, split, null, 0, false));
            lower = split;
        }
        ranges.add(new CopyState.Range(lower, null, null, 0, false));
        return new Plan(estimate, mixed, ranges);
    }

    private static List<BsonValue> splitPoints(MongoCollection<BsonDocument> collection, long estimate, int wanted) {
        List<BsonValue> sorted = new ArrayList<>();
        try {
            int size = (int) Math.min(estimate, (long) wanted * SAMPLES_PER_RANGE);
            List<Bson> pipeline = List.of(
                new BsonDocument("$sample", new BsonDocument("size", new BsonInt32(size))),
                new BsonDocument("$project", new BsonDocument("_id", new BsonInt32(1))),
                new BsonDocument("$sort", new BsonDocument("_id", new BsonInt32(1)))
            );
            for (BsonDocument doc : collection.aggregate(pipeline).allowDiskUse(true)) {
                sorted.add(doc.get("_id"));
            }
            List<BsonValue> splits = new ArrayList<>();
            int step = Math.max(1, sorted.size() / wanted);
            for (int i = step; i < sorted.size() && splits.size() < wanted - 1; i += step) {
                splits.add(sorted.get(i));
            }
            return splits;
        } catch (MongoException e) {
            // no $sample: cut a sorted scan of the _ids
            List<BsonValue> splits = new ArrayList<>();
            long step = Math.max(1, estimate / wanted);
            long seen = 0;
            for (BsonDocument doc : collection.find().projection(Projections.include("_id")).sort(Sorts.ascending("_id")).batchSize(10_000)) {
                seen++;
                if (seen % step == 0 && splits.size() < wanted - 1) {
                    splits.add(doc.get("_id"));
                }
            }
            return splits;
        }
    }

    /** The filter of the next batch of a range: after its last copied {@code _id} (or from its lower bound), below its upper bound. */
    public static Bson nextBatch(CopyState.Range range, boolean mixedTypes) {
        List<Bson> clauses = new ArrayList<>(2);
        if (range.last() != null) {
            clauses.add(after(range.last(), false, mixedTypes));
        } else if (range.lower() != null) {
            clauses.add(after(range.lower(), true, mixedTypes));
        }
        if (range.upper() != null) {
            clauses.add(before(range.upper(), mixedTypes));
        }
        return clauses.isEmpty() ? new BsonDocument() : clauses.size() == 1 ? clauses.get(0) : Filters.and(clauses);
    }

    private static Bson after(BsonValue bound, boolean inclusive, boolean mixedTypes) {
        Bson plain = inclusive ? Filters.gte("_id", bound) : Filters.gt("_id", bound);
        if (mixedTypes == false) {
            return plain;
        }
        BsonArray later = new BsonArray();
        for (int rank = typeClass(bound) + 1; rank < TYPE_CLASSES.length; rank++) {
            for (int code : TYPE_CLASSES[rank]) {
                later.add(new BsonInt32(code));
            }
        }
        return later.isEmpty() ? plain : Filters.or(plain, new BsonDocument("_id", new BsonDocument("$type", later)));
    }

    private static Bson before(BsonValue bound, boolean mixedTypes) {
        Bson plain = Filters.lt("_id", bound);
        if (mixedTypes == false) {
            return plain;
        }
        BsonArray earlier = new BsonArray();
        for (int rank = 0; rank < typeClass(bound); rank++) {
            for (int code : TYPE_CLASSES[rank]) {
                earlier.add(new BsonInt32(code));
            }
        }
        return earlier.isEmpty() ? plain : Filters.or(plain, new BsonDocument("_id", new BsonDocument("$type", earlier)));
    }

    /**
     * MongoDB's comparison order of BSON types, as classes of type codes that compare with each other: MinKey,
     * null, numbers, strings, objects, arrays, binary, ObjectId, booleans, dates, timestamps, regular expressions, MaxKey.
     */
    private static final int[][] TYPE_CLASSES = {
        { -1 },
        { 10 },
        { 1, 16, 18, 19 },
        { 2 },
        { 3 },
        { 4 },
        { 5 },
        { 7 },
        { 8 },
        { 9 },
        { 17 },
        { 11 },
        { 127 } };

    static int typeClass(BsonValue value) {
        BsonType type = value.getBsonType();
        return switch (type) {
            case MIN_KEY -> 0;
            case NULL, UNDEFINED -> 1;
            case INT32, INT64, DOUBLE, DECIMAL128 -> 2;
            case STRING, SYMBOL -> 3;
            case DOCUMENT -> 4;
            case ARRAY -> 5;
            case BINARY -> 6;
            case OBJECT_ID -> 7;
            case BOOLEAN -> 8;
            case DATE_TIME -> 9;
            case TIMESTAMP -> 10;
            case REGULAR_EXPRESSION -> 11;
            case MAX_KEY -> 12;
            default -> 11; // JavaScript and DBPointer ids: not in any realistic collection; treated like regular expressions
        };
    }
}

package org.mongofollow.copy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonNumber;
import org.bson.BsonType;
import org.bson.BsonValue;
import org.bson.conversions.Bson;
import org.mongofollow.source.WireVersions;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where the chunks of a collection sharded on {@code _id} (a range key, {@code {_id: 1}}) begin, for a copy through mongos:
 * a copy range inside one chunk is read from one shard, so ranges cut at chunk bounds spread the copy's reads over the
 * shards, and no read is sent to two. Other shard keys (hashed, or on other fields) say nothing of {@code _id} ranges.
 */
final class ChunkBounds {

    private static final org.apache.logging.log4j.Logger LOGGER = org.apache.logging.log4j.LogManager.getLogger(ChunkBounds.class);

    private ChunkBounds() {}

    /**
     * The {@code _id}s at which the collection's chunks after the first begin, in order; empty unless sharded on
     * {@code {_id: 1}}, or when the follow's user may not read {@code config.collections} and {@code config.chunks} (a
     * change-stream follow's user needs no more than the collection: its copy is cut by samples alone).
     */
    static List<BsonValue> of(MongoClient client, String namespace) {
        if (WireVersions.isMongos(client) == false) {
            return List.of();
        }
        try {
            return read(client, namespace);
        } catch (com.mongodb.MongoServerException e) {
            // Unauthorized, or a hosted service's own refusal (Atlas's AtlasError): the chunks only speed the copy up
            LOGGER.debug(() -> "cannot read the chunks of [" + namespace + "]: its copy is cut by samples alone", e);
            return List.of();
        }
    }

    private static List<BsonValue> read(MongoClient client, String namespace) {
        var config = client.getDatabase("config");
        BsonDocument collection = config.getCollection("collections", BsonDocument.class).find(Filters.eq("_id", namespace)).first();
        if (collection == null || collection.getBoolean("dropped", org.bson.BsonBoolean.FALSE).getValue()
            || new BsonDocument("_id", new BsonInt32(1)).equals(collection.get("key")) == false) {
            return List.of();
        }
        if (collection.get("defaultCollation") instanceof BsonDocument collation
            && "simple".equals(collation.getString("locale", new org.bson.BsonString("simple")).getValue()) == false) {
            // the copy's range filters compare strings by the collection's collation, the chunks by their bytes: the two
            // orders differ, so chunk bounds would not cut the ranges in order
            return List.of();
        }
        List<Bson> owners = new ArrayList<>(List.of(Filters.eq("ns", namespace))); // chunks by namespace before 5.0
        if (collection.get("uuid") != null) {
            owners.add(Filters.eq("uuid", collection.get("uuid"))); // by the collection's uuid from 5.0
        }
        List<BsonValue> bounds = new ArrayList<>();
        for (BsonDocument chunk : config.getCollection("chunks", BsonDocument.class).find(Filters.or(owners)).sort(Sorts.ascending("min"))) {
            BsonValue min = chunk.get("min") instanceof BsonDocument m ? m.get("_id") : null;
            if (min != null && min.getBsonType() != BsonType.MIN_KEY && min.getBsonType() != BsonType.MAX_KEY) {
                bounds.add(min);
            }
        }
        return bounds;
    }

    /**
     * {@code _id}s in MongoDB's order (type class, then value) where this class can tell it: numbers, strings (binary, as
     * without a collation: {@link #of} gives no bounds for a collection with a default collation), ObjectIds, dates and
     * booleans.
     */
    static final Comparator<BsonValue> ORDER = (a, b) -> {
        int byClass = Integer.compare(IdRanges.typeClass(a), IdRanges.typeClass(b));
        if (byClass != 0) {
            return byClass;
        }
        if (a.isNumber() || a.isDecimal128()) {
            return decimal(a).compareTo(decimal(b));
        }
        return switch (a.getBsonType()) {
            case STRING -> compareBytes(a.asString().getValue().getBytes(StandardCharsets.UTF_8), b.asString().getValue().getBytes(StandardCharsets.UTF_8));
            case OBJECT_ID -> a.asObjectId().getValue().compareTo(b.asObjectId().getValue());
            case DATE_TIME -> Long.compare(a.asDateTime().getValue(), b.asDateTime().getValue());
            case BOOLEAN -> Boolean.compare(a.asBoolean().getValue(), b.asBoolean().getValue());
            default -> throw new IllegalArgumentException("no order for " + a.getBsonType());
        };
    };

    /** Whether {@link #ORDER} can place the value. */
    static boolean ordered(BsonValue value) {
        return switch (value.getBsonType()) {
            case INT32, INT64, STRING, OBJECT_ID, DATE_TIME, BOOLEAN -> true;
            case DOUBLE -> Double.isFinite(value.asDouble().getValue());
            case DECIMAL128 -> hasBigDecimal(value.asDecimal128().getValue());
            default -> false;
        };
    }

    /** Finite, and not negative zero (which has no BigDecimal). */
    private static boolean hasBigDecimal(org.bson.types.Decimal128 value) {
        try {
            return value.isFinite() && value.bigDecimalValue() != null;
        } catch (ArithmeticException e) {
            return false;
        }
    }

    private static BigDecimal decimal(BsonValue value) {
        if (value.isDecimal128()) {
            return value.asDecimal128().getValue().bigDecimalValue();
        }
        BsonNumber number = value.asNumber();
        return value.isDouble() ? BigDecimal.valueOf(number.doubleValue()) : BigDecimal.valueOf(number.longValue());
    }

    private static int compareBytes(byte[] a, byte[] b) {
        return java.util.Arrays.compareUnsigned(a, b);
    }

    /**
     * The split points of a copy: the sampled ones and the chunk bounds together, in order, without repeats; at most
     * {@code max} chunk bounds (every n-th, when there are more). When some value cannot be placed, the sampled ones alone.
     */
    static List<BsonValue> merge(List<BsonValue> sampled, List<BsonValue> chunkBounds, int max) {
        if (chunkBounds.isEmpty()) {
            return sampled;
        }
        List<BsonValue> bounds = chunkBounds;
        if (bounds.size() > max) {
            List<BsonValue> thinned = new ArrayList<>();
            double step = (double) bounds.size() / max;
            for (int i = 0; i < max; i++) {
                thinned.add(bounds.get((int) (i * step)));
            }
            bounds = thinned;
        }
        if (sampled.stream().allMatch(ChunkBounds::ordered) == false || bounds.stream().allMatch(ChunkBounds::ordered) == false) {
            return sampled;
        }
        List<BsonValue> all = new ArrayList<>(sampled);
        all.addAll(bounds);
        all.sort(ORDER);
        List<BsonValue> merged = new ArrayList<>();
        for (BsonValue value : all) {
            if (merged.isEmpty() || ORDER.compare(merged.get(merged.size() - 1), value) != 0) {
                merged.add(value);
            }
        }
        return merged;
    }
}

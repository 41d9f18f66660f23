package org.mongofollow.it;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.conversions.Bson;

import java.util.Random;

/**
 * Random writes through the driver on a small id space: inserts, replacements, updates with many
 * operators (nested and array ones too) and deletes, so that the oplog carries every form the embedded
 * MongoDB writes for them ($v:2 diffs with u/i/d, nested s sub-diffs, array diffs).
 */
final class RandomWorkload {

    private final MongoCollection<BsonDocument> collection;
    private final Random random;
    private final int idSpace;

    RandomWorkload(MongoCollection<BsonDocument> collection, long seed, int idSpace) {
        this.collection = collection;
        this.random = new Random(seed);
        this.idSpace = idSpace;
    }

    void run(int operations) {
        for (int i = 0; i < operations; i++) {
            step();
        }
    }

    /**
     * Runs {@code operations} steps, going on past steps that MongoDB failed (an election in progress, a member killed);
     * returns how many failed. A failed step may or may not have been applied: compare with what MongoDB holds.
     */
    int runThroughFailures(int operations) {
        int failed = 0;
        for (int i = 0; i < operations; i++) {
            try {
                step();
            } catch (com.mongodb.MongoException e) {
                failed++;
            }
        }
        return failed;
    }

    private void step() {
        BsonInt32 id = new BsonInt32(random.nextInt(idSpace));
        int kind = random.nextInt(100);
        if (kind < 30) {
            if (collection.find(Filters.eq("_id", id)).first() == null) {
                collection.insertOne(document(id));
            } else {
                collection.replaceOne(Filters.eq("_id", id), document(id));
            }
        } else if (kind < 90) {
            collection.updateOne(Filters.eq("_id", id), update());
        } else {
            collection.deleteOne(Filters.eq("_id", id));
        }
    }

    private BsonDocument document(BsonInt32 id) {
        BsonArray tags = new BsonArray();
        for (int i = random.nextInt(4); i > 0; i--) {
            tags.add(new BsonString("t" + random.nextInt(10)));
        }
        return new BsonDocument("_id", id).append("name", new BsonString("doc-" + random.nextInt(1000)))
            .append("qty", new BsonInt32(random.nextInt(100)))
            .append("price", new BsonDouble(random.nextInt(10_000) / 100.0))
            .append("big", new BsonInt64(random.nextLong()))
            .append("tags", tags)
            .append("address", new BsonDocument("city", new BsonString("c" + random.nextInt(5))).append("zip", new BsonInt32(random.nextInt(99999))));
    }

    private Bson update() {
        return switch (random.nextInt(11)) {
            case 0 -> Updates.set("name", "renamed-" + random.nextInt(1000));
            case 1 -> Updates.inc("qty", random.nextInt(10) - 5);
            case 2 -> Updates.unset("price");
            case 3 -> Updates.push("tags", "p" + random.nextInt(10));
            case 4 -> Updates.pull("tags", "t" + random.nextInt(10));
            case 5 -> Updates.set("address.city", "moved-" + random.nextInt(5));
            case 6 -> Updates.set("address.floor", random.nextInt(20));
            case 7 -> Updates.rename("name", "title");
            case 8 -> Updates.combine(Updates.set("extra." + "k" + random.nextInt(3), random.nextInt()), Updates.inc("qty", 1));
            case 9 -> Updates.addToSet("tags", "s" + random.nextInt(3));
            default -> Updates.mul("price", 2);
        };
    }
}

package org.mongofollow.bench;

import org.bson.BsonDocument;
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.mongofollow.apply.FieldSelection;
import org.mongofollow.apply.ShardOperation;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Benchmark (not a test): the follow's BSON to JSON writer against the MongoDB driver's own JSON writer, side by side in
 * one JVM. Both write the {@code _source} of the same documents (those of {@link FollowVsBulkBenchmark}, about 1 KB):
 * <ul>
 *   <li>{@code raw}: {@code ShardOperation.index} of a document still in its BSON bytes, as the follow, the copy and
 *       the look-ups read them;</li>
 *   <li>{@code decoded}: the same of a decoded {@code BsonDocument}, the path of a follow with field selection;</li>
 *   <li>{@code driver}: the driver's {@code RawBsonDocument.toJson} in relaxed Extended JSON, the reference.</li>
 * </ul>
 * Rounds interleave the three; each figure is the best round. The last line is {@code ratio raw/driver: X.XX}
 * (documents per second of ours over the driver's; above 1 is faster).
 *
 * <pre>bench/bson-to-json [documents (20000)] [rounds (15)]</pre>
 */
public final class BsonToJsonBenchmark {

    private static final JsonWriterSettings RELAXED = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        List<BsonDocument> decoded = FollowVsBulkBenchmark.documents(n);
        List<RawBsonDocument> raw = new ArrayList<>(n);
        for (BsonDocument document : decoded) {
            raw.add(new RawBsonDocument(document, new BsonDocumentCodec()));
        }
        long bytes = 0;
        for (RawBsonDocument document : raw) {
            bytes += ShardOperation.index("x", 1, document, FieldSelection.ALL).payload().length();
        }
        System.out.printf(Locale.ROOT, "%d documents, %d bytes of _source on average, %d rounds%n", n, bytes / n, rounds);
        double bestRaw = 0, bestDecoded = 0, bestDriver = 0;
        long sink = 0;
        for (int round = 1; round <= rounds; round++) {
            long t0 = System.nanoTime();
            for (RawBsonDocument document : raw) {
                sink += ShardOperation.index("x", 1, document, FieldSelection.ALL).payload().length();
            }
            long t1 = System.nanoTime();
            for (BsonDocument document : decoded) {
                sink += ShardOperation.index("x", 1, document, FieldSelection.ALL).payload().length();
            }
            long t2 = System.nanoTime();
            for (RawBsonDocument document : raw) {
                sink += document.toJson(RELAXED).length();
            }
            long t3 = System.nanoTime();
            double rawRate = n * 1e9 / (t1 - t0), decodedRate = n * 1e9 / (t2 - t1), driverRate = n * 1e9 / (t3 - t2);
            System.out.printf(Locale.ROOT, "round %2d: raw %,9.0f docs/s, decoded %,9.0f, driver %,9.0f%n", round, rawRate, decodedRate, driverRate);
            bestRaw = Math.max(bestRaw, rawRate);
            bestDecoded = Math.max(bestDecoded, decodedRate);
            bestDriver = Math.max(bestDriver, driverRate);
        }
        System.out.printf(Locale.ROOT, "best: raw %,.0f docs/s, decoded %,.0f, driver %,.0f (checksum %d)%n", bestRaw, bestDecoded, bestDriver, sink);
        System.out.printf(Locale.ROOT, "ratio decoded/driver: %.2f%n", bestDecoded / bestDriver);
        System.out.printf(Locale.ROOT, "ratio raw/driver: %.2f%n", bestRaw / bestDriver);
    }
}

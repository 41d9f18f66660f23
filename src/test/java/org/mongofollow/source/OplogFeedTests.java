package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;

import org.bson.Document;
import org.bson.RawBsonDocument;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.indices.breaker.CircuitBreakerMetrics;
import org.elasticsearch.indices.breaker.HierarchyCircuitBreakerService;
import org.mongofollow.memory.FollowBreaker;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mongofollow.embedded.EmbeddedMongo;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The node's shared oplog read against the embedded MongoDB: what it serves a namespace equals what a direct read of that
 * namespace returns, and MongoDB serves each entry about once however many readers ask (its serverStatus says so).
 */
public class OplogFeedTests {

    private static EmbeddedMongo mongo;
    private static MongoClient client;
    private static final String A = "feed.a";
    private static final String B = "feed.b";

    @BeforeClass
    public static void start() {
        org.elasticsearch.common.logging.LogConfigurator.configureESLogging(); // the breakers log (tests outside ESTestCase)
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
        client = MongoClients.create(mongo.connectionString());
        Random random = new Random(42);
        for (int i = 0; i < 600; i++) {
            String collection = random.nextInt(3) == 0 ? "b" : random.nextInt(5) == 0 ? "other" : "a";
            client.getDatabase("feed").getCollection(collection).insertOne(new Document("_id", i).append("pad", "x".repeat(random.nextInt(200))));
            if (i % 97 == 0) {
                client.getDatabase("feed").getCollection("a").updateOne(new Document("_id", i), new Document("$set", new Document("u", i)));
            }
        }
        client.getDatabase("feed").getCollection("gone").insertOne(new Document("_id", 1));
        client.getDatabase("feed").getCollection("gone").drop(); // a command of the database: both namespaces see it
    }

    @AfterClass
    public static void stop() {
        client.close();
        mongo.close();
    }

    private static List<RawBsonDocument> oplog() {
        return client.getDatabase("local").getCollection("oplog.rs", RawBsonDocument.class).find().into(new ArrayList<>());
    }

    private static OplogPosition majority() {
        return new OplogReader(client, "feed", "a").majorityCommitPoint();
    }

    @Test
    public void servesWhatADirectReadReturns() {
        List<RawBsonDocument> entries = oplog();
        OplogPosition head = majority();
        Random random = new Random(7);
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 1 << 20, breaker(ByteSizeValue.ofMb(100)));
        feed.subscribe(A);
        feed.subscribe(B);
        for (int round = 0; round < 300; round++) {
            String namespace = random.nextBoolean() ? A : B;
            OplogPosition from = OplogReader.position(entries.get(random.nextInt(entries.size() - 1)));
            OplogPosition to = random.nextInt(4) == 0 ? head : OplogReader.position(entries.get(random.nextInt(entries.size())));
            if (to.compareTo(from) <= 0) {
                continue;
            }
            int maxOperations = 1 + random.nextInt(120);
            long maxBytes = random.nextInt(4) == 0 ? 2_000 : Long.MAX_VALUE;
            OplogFeed.Read read = readThrough(feed, namespace, from, to, maxOperations, maxBytes, 0);
            OplogReader.Batch direct = new OplogReader(client, namespace.split("\\.")[0], namespace.split("\\.")[1])
                .readRange(from, read.batch().scannedTo(), Integer.MAX_VALUE, Long.MAX_VALUE);
            assertEquals("round " + round + " " + namespace + " (" + from + ", " + read.batch().scannedTo() + "]", direct.entries(), read.batch().entries());
            assertTrue(read.batch().scannedTo().compareTo(from) > 0);
            assertTrue(read.batch().scannedTo().compareTo(to) <= 0);
            assertTrue(read.batch().entries().size() <= maxOperations);
        }
        assertTrue(feed.stats().toString(), feed.stats().servedFromWindow() > 0);
    }

    @Test
    public void manyReadersOfTheSameRangesReadMongoDBOnce() throws Exception {
        OplogPosition head = majority();
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
        int readers = 8;
        for (int i = 0; i < readers; i++) {
            feed.subscribe(i % 2 == 0 ? A : B);
        }
        long returnedBefore = returned();
        ExecutorService pool = Executors.newFixedThreadPool(readers);
        List<Integer> counts = new ArrayList<>();
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int r = 0; r < readers; r++) {
                String namespace = r % 2 == 0 ? A : B;
                results.add(pool.submit(() -> {
                    OplogPosition from = OplogPosition.MIN;
                    int count = 0;
                    while (from.before(head)) {
                        OplogReader.Batch batch = readThrough(feed, namespace, from, head, 50, Long.MAX_VALUE, 0).batch();
                        count += batch.entries().size();
                        from = batch.scannedTo();
                    }
                    return count;
                }));
            }
            for (Future<Integer> result : results) {
                counts.add(result.get());
            }
        } finally {
            pool.shutdownNow();
        }
        long returned = returned() - returnedBefore;
        for (int r = 0; r < readers; r++) {
            String collection = r % 2 == 0 ? "a" : "b";
            int expected = new OplogReader(client, "feed", collection).readRange(OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE).entries().size();
            assertEquals(expected, (int) counts.get(r));
        }
        int union = new OplogReader(client, java.util.Set.of(A, B)).readRange(OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE).entries().size();
        // every entry of the two namespaces once (plus the few majority look-ups' zero documents), not once per reader
        assertTrue("MongoDB returned " + returned + " documents for " + union + " entries to " + readers + " readers", returned <= union * 1.2);
        assertFalse(feed.stats().toString(), feed.stats().mongoReads() == 0);
    }

    @Test
    public void aLaterNamespaceReadsOnlyWhatTheWindowLacks() {
        OplogPosition head = majority();
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
        feed.subscribe(A);
        int a = readThrough(feed, A, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0).batch().entries().size();
        feed.subscribe(B);
        long returnedBefore = returned();
        List<RawBsonDocument> b = readThrough(feed, B, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0).batch().entries();
        long returned = returned() - returnedBefore;
        assertEquals(new OplogReader(client, "feed", "b").readRange(OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE).entries(), b);
        assertEquals("B's read fetched B's entries only, not A's again (" + a + ")", b.size(), returned);
        // and A is still served from the window
        long before = returned();
        readThrough(feed, A, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0);
        assertEquals(before, returned());
    }

    @Test
    public void eachEntryIsDecodedOncePerNamespace() {
        OplogPosition head = majority();
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
        feed.subscribe(A);
        OplogFeed.Read first = readThrough(feed, A, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0);
        OplogFeed.Read second = readThrough(feed, A, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0);
        assertFalse(second.fromMongo());
        assertEquals(first.batch().entries().size(), first.decoded().size());
        int operations = 0;
        for (int i = 0; i < first.decoded().size(); i++) {
            DecodedEntry decoded = first.decoded().get(i);
            org.junit.Assert.assertSame("one decoding serves every reader", decoded, second.decoded().get(i));
            RawBsonDocument entry = first.batch().entries().get(i);
            if (entry.getString("ns").getValue().equals(A) && entry.getString("op").getValue().equals("i")) {
                assertEquals(DecodedEntry.Outcome.OPERATIONS, decoded.outcome());
                assertEquals(OplogReader.position(entry), decoded.position());
                assertEquals(
                    org.mongofollow.operation.DocumentIds.toElasticsearchId(entry.getDocument("o").get("_id")),
                    decoded.operations().get(0).documentId()
                );
                operations++;
            }
        }
        assertTrue(operations > 100);
    }

    @Test
    public void aReadPastTheOldestEntryIsHistoryLostAndNotServedToOthers() {
        try (EmbeddedMongo capped = EmbeddedMongo.start(EmbeddedMongo.options().oplogMaxEntries(50).noopIntervalMillis(0));
             MongoClient cappedClient = MongoClients.create(capped.connectionString())) {
            cappedClient.getDatabase("feed").getCollection("a").insertOne(new Document("_id", -1));
            OplogPosition first = OplogReader.position(
                cappedClient.getDatabase("local").getCollection("oplog.rs", RawBsonDocument.class).find().first()
            );
            for (int i = 0; i < 200; i++) {
                cappedClient.getDatabase("feed").getCollection("a").insertOne(new Document("_id", i));
            }
            OplogPosition head = new OplogReader(cappedClient, "feed", "a").majorityCommitPoint();
            OplogFeed feed = new OplogFeed(() -> cappedClient, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
            feed.subscribe(A);
            OplogFeed.HistoryLostException lost = org.junit.Assert.assertThrows(
                OplogFeed.HistoryLostException.class,
                () -> readThrough(feed, A, first, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0)
            );
            assertEquals(first, lost.from());
            assertTrue(lost.oldest().after(first));
            assertEquals("an incomplete read is not kept for other readers", 0, feed.stats().windowSegments());
        }
    }

    @Test
    public void readsGoToThePrimaryWhateverTheConnectionStringPrefers() {
        // the embedded replica set has no secondary: a read that honoured readPreference=secondary would find no member
        try (MongoClient secondaryPreferring = MongoClients.create(mongo.connectionString() + "&readPreference=secondary&serverSelectionTimeoutMS=2000")) {
            OplogPosition head = new OplogReader(secondaryPreferring, "feed", "a").majorityCommitPoint();
            assertEquals(majority(), head);
            OplogFeed feed = new OplogFeed(() -> secondaryPreferring, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
            feed.subscribe(A);
            List<RawBsonDocument> entries = readThrough(feed, A, OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE, 0).batch().entries();
            assertEquals(new OplogReader(client, "feed", "a").readRange(OplogPosition.MIN, head, Integer.MAX_VALUE, Long.MAX_VALUE).entries(), entries);
        }
    }

    /** A read through the feed as a shard task makes it: parked while another read brings what it needs, then tried again. */
    static OplogFeed.Read readThrough(OplogFeed feed, String namespace, OplogPosition from, OplogPosition to, int maxOperations, long maxBytes,
        long pollMillis) {
        return readThrough(feed, namespace, from, to, maxOperations, maxBytes, pollMillis, false);
    }

    static OplogFeed.Read readThrough(OplogFeed feed, String namespace, OplogPosition from, OplogPosition to, int maxOperations, long maxBytes,
        long pollMillis, boolean essential) {
        while (true) {
            java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(1);
            OplogFeed.Read read = feed.read(namespace, from, to, maxOperations, maxBytes, pollMillis, essential, () -> false, parked::countDown);
            if (read != null) {
                return read;
            }
            try {
                assertTrue("the read it waits for ends", parked.await(30, java.util.concurrent.TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * A read that another read in flight will answer is parked, not waited for: it returns at once, holding no thread,
     * and its continuation runs when that read ends.
     */
    @Test
    public void aReadThatAnotherReadAnswersIsParkedWithoutAThread() throws Exception {
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker(ByteSizeValue.ofMb(100)));
        feed.subscribe(A);
        feed.subscribe(A);
        OplogPosition head = majority();
        ExecutorService tailing = Executors.newSingleThreadExecutor();
        try {
            // a tail at the head of a quiet oplog: it waits its poll timeout
            Future<OplogFeed.Read> tail = tailing.submit(() -> readThrough(feed, A, head, null, 10, Long.MAX_VALUE, 1500));
            java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(1);
            OplogFeed.Read read;
            do { // (a read made before the other thread's tail started is the tail itself: try again)
                read = feed.read(A, head, null, 10, Long.MAX_VALUE, 1500, false, () -> false, parked::countDown);
            } while (read != null && tail.isDone() == false);
            assertNull("parked: it returned at once, waiting on no thread", read);
            tail.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue("the continuation runs when the tail ends", parked.await(30, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            tailing.shutdownNow();
        }
    }

    /** The plugin's breaker as the node makes it (under a parent breaker), with the given limit. */
    static CircuitBreaker breaker(ByteSizeValue limit) {
        Settings settings = Settings.builder().put("breaker." + FollowBreaker.NAME + ".limit", limit).build();
        return new HierarchyCircuitBreakerService(
            CircuitBreakerMetrics.NOOP,
            Settings.builder().put("indices.breaker.total.use_real_memory", false).build(),
            List.of(FollowBreaker.settings(settings)),
            new ClusterSettings(Settings.EMPTY, ClusterSettings.BUILT_IN_CLUSTER_SETTINGS)
        ).getBreaker(FollowBreaker.NAME);
    }

    @Test
    public void theWindowIsChargedToTheBreakerUntilTheLastSubscriberLeaves() {
        CircuitBreaker breaker = breaker(ByteSizeValue.ofMb(100));
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker);
        feed.subscribe(A);
        readThrough(feed, A, OplogPosition.MIN, majority(), 10_000, Long.MAX_VALUE, 0);
        long window = feed.stats().windowBytes();
        assertTrue(window > 10_000);
        assertEquals("the window's bytes, and nothing left of the read", window, breaker.getUsed());
        assertTrue(feed.unsubscribe(A));
        assertEquals(0, breaker.getUsed());
    }

    @Test
    public void aReadThatWouldPassTheBreakerLimitEndsEarlyAsAFullBatch() {
        CircuitBreaker breaker = breaker(ByteSizeValue.ofKb(8));
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker);
        feed.subscribe(A);
        OplogPosition head = majority();
        OplogFeed.Read read = readThrough(feed, A, OplogPosition.MIN, head, 10_000, Long.MAX_VALUE, 0);
        assertTrue(read.batch().entries().size() > 0);
        assertTrue("cut short of the range", read.batch().scannedTo().before(head));
        assertTrue(read.batch().bytes() <= 8 * 1024);
        // it is what a direct read of the same range returns: nothing skipped where the batch was cut
        assertEquals(
            new OplogReader(client, "feed", "a").readRange(OplogPosition.MIN, read.batch().scannedTo(), Integer.MAX_VALUE, Long.MAX_VALUE).entries(),
            read.batch().entries()
        );
        assertEquals("only the window stays charged", feed.stats().windowBytes(), breaker.getUsed());
    }

    @Test
    public void aReadWhoseFirstEntryDoesNotFitFailsRetryablyAndLetsTheWindowGo() {
        CircuitBreaker breaker = breaker(ByteSizeValue.ofKb(16));
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 64 << 20, breaker);
        feed.subscribe(A);
        OplogPosition head = majority();
        OplogPosition from = OplogPosition.MIN;
        long read = 0;
        for (int i = 0; i < 20; i++) {
            OplogFeed.Read batch = readThrough(feed, A, from, head, 5, Long.MAX_VALUE, 0);
            from = batch.batch().scannedTo();
            read += batch.batch().bytes();
        }
        assertTrue(read > 8 * 1024);
        long window = feed.stats().windowBytes();
        assertTrue(window > 0);
        assertTrue("at most a quarter of the breaker's limit", window <= 4 * 1024);
        // the shard tasks' buffers take the rest of the budget
        long others = breaker.getLimit() - window - 10;
        breaker.addEstimateBytesAndMaybeBreak(others, "buffers");
        OplogPosition next = from;
        CircuitBreakingException e = org.junit.Assert.assertThrows(
            CircuitBreakingException.class,
            () -> readThrough(feed, A, next, head, 5, Long.MAX_VALUE, 0)
        );
        assertTrue(e.getMessage(), e.getMessage().contains("[" + FollowBreaker.NAME + "]"));
        assertTrue(org.mongofollow.task.FollowFailures.shouldRetry(e));
        assertEquals("the window went", 0, feed.stats().windowBytes());
        assertEquals("nothing of the read stays charged", others, breaker.getUsed());
        // the buffers were written: the retry goes through
        breaker.addWithoutBreaking(-others);
        OplogFeed.Read retried = readThrough(feed, A, from, head, 5, Long.MAX_VALUE, 0);
        assertEquals(5, retried.batch().entries().size());
        // the buffers take all the room again: the read a shard task's whole buffer waits for brings its first entry all the
        // same, and only that one
        OplogPosition after = retried.batch().scannedTo();
        long full = breaker.getLimit() - breaker.getUsed() - 10;
        breaker.addWithoutBreaking(full);
        org.junit.Assert.assertThrows(CircuitBreakingException.class, () -> readThrough(feed, A, after, head, 5, Long.MAX_VALUE, 0));
        breaker.addWithoutBreaking(breaker.getLimit() - breaker.getUsed() - 10); // and the room of the window it let go
        long used = breaker.getUsed();
        OplogFeed.Read essential = readThrough(feed, A, after, head, 5, Long.MAX_VALUE, 0, true);
        assertEquals(1, essential.batch().entries().size());
        assertEquals("only the window keeps it", used + feed.stats().windowBytes(), breaker.getUsed());
    }

    /**
     * A transaction of three entries (the first two {@code partialTxn}): its earlier entries, looked up while its commit
     * is decoded, are charged to the breaker. A chain that does not fit the breaker's free room fails the read retryably
     * and leaves nothing charged; one larger than the breaker's whole limit fails it with an explanation that is not
     * retried; under a larger limit the same read decodes the whole transaction.
     */
    @Test
    public void aTransactionChainIsChargedWhileItIsDecoded() {
        try (
            EmbeddedMongo raw = EmbeddedMongo.start(EmbeddedMongo.options().rawOplog(true).noopIntervalMillis(0));
            MongoClient rawClient = MongoClients.create(raw.connectionString())
        ) {
            String lsid = "lsid: {id: {$binary: {base64: 'bxwuPUtaSWiHdqW0w9Lh8A==', subType: '04'}}}, txnNumber: NumberLong(1)";
            String pad = "x".repeat(1000);
            List<org.bson.BsonDocument> chain = new ArrayList<>();
            for (int part = 0; part < 3; part++) {
                StringBuilder ops = new StringBuilder();
                for (int i = 0; i < 20; i++) {
                    ops.append(i == 0 ? "" : ", ").append("{op: 'i', ns: 'feed.a', o: {_id: ").append(part * 100 + i).append(", pad: '").append(pad).append("'}}");
                }
                String prev = part == 0 ? "{ts: Timestamp(0, 0), t: NumberLong(-1)}" : "{ts: Timestamp(2000, " + part + "), t: NumberLong(1)}";
                String tail = part < 2 ? ", partialTxn: true" : ", count: NumberLong(60)";
                chain.add(org.bson.BsonDocument.parse("{" + lsid + ", op: 'c', ns: 'admin.$cmd', o: {applyOps: [" + ops + "]" + tail
                    + "}, prevOpTime: " + prev + ", ts: Timestamp(2000, " + (part + 1) + "), t: NumberLong(1), v: NumberLong(2), wall: new Date(2000000)}"));
            }
            rawClient.getDatabase("local").getCollection("oplog.rs", org.bson.BsonDocument.class).insertMany(chain);
            OplogPosition commit = OplogPosition.of(2000, 3);

            // the chain fits the breaker's limit but not its free room now: a retryable breaker exception
            CircuitBreaker busy = breaker(ByteSizeValue.ofKb(100));
            busy.addWithoutBreaking(70 << 10);
            OplogFeed feed = new OplogFeed(() -> rawClient, OplogSource.INSTANCE, 64 << 20, busy);
            feed.subscribe(A);
            CircuitBreakingException e = org.junit.Assert.assertThrows(
                CircuitBreakingException.class,
                () -> readThrough(feed, A, OplogPosition.of(2000, 2), commit, 10, Long.MAX_VALUE, 0)
            );
            assertTrue(e.getMessage(), e.getMessage().contains("transaction chain"));
            assertTrue(org.mongofollow.task.FollowFailures.shouldRetry(e));
            assertTrue(feed.unsubscribe(A));
            assertEquals("nothing of the chain left charged", 70 << 10, busy.getUsed());

            // a chain larger than the whole limit can never fit: an explained error that is not retried
            CircuitBreaker small = breaker(ByteSizeValue.ofKb(32));
            OplogFeed tooSmall = new OplogFeed(() -> rawClient, OplogSource.INSTANCE, 64 << 20, small);
            tooSmall.subscribe(A);
            TransactionChains.TooLargeException tooLarge = org.junit.Assert.assertThrows(
                TransactionChains.TooLargeException.class,
                () -> readThrough(tooSmall, A, OplogPosition.of(2000, 2), commit, 10, Long.MAX_VALUE, 0)
            );
            assertTrue(tooLarge.getMessage(), tooLarge.getMessage().contains("raise breaker." + FollowBreaker.NAME + ".limit"));
            assertFalse(org.mongofollow.task.FollowFailures.shouldRetry(tooLarge));
            assertTrue(tooSmall.unsubscribe(A));
            assertEquals("nothing left charged", 0, small.getUsed());

            CircuitBreaker large = breaker(ByteSizeValue.ofMb(1));
            OplogFeed roomy = new OplogFeed(() -> rawClient, OplogSource.INSTANCE, 64 << 20, large);
            roomy.subscribe(A);
            OplogFeed.Read read = readThrough(roomy, A, OplogPosition.of(2000, 2), commit, 10, Long.MAX_VALUE, 0);
            assertEquals(60, read.decoded().get(0).operations().size());
            assertEquals("the window only, once decoded", roomy.stats().windowBytes(), large.getUsed());
            // the window holds the commit entry (about 20 KB) and its decoded form: 60 operations, each a copy of its
            // own 1 KB document, counted too
            assertTrue(roomy.stats().toString(), roomy.stats().windowBytes() > 60 * 1000 + 20 * 1000);
            assertTrue(roomy.unsubscribe(A));
            assertEquals("nothing left charged once the window went", 0, large.getUsed());
        }
    }

    @Test
    public void theWindowStaysWithinItsBudget() {
        OplogPosition head = majority();
        OplogFeed feed = new OplogFeed(() -> client, OplogSource.INSTANCE, 10_000, breaker(ByteSizeValue.ofMb(100)));
        feed.subscribe(A);
        OplogPosition from = OplogPosition.MIN;
        while (from.before(head)) {
            from = readThrough(feed, A, from, head, 20, Long.MAX_VALUE, 0).batch().scannedTo();
            OplogFeed.Stats stats = feed.stats();
            assertTrue(stats.toString(), stats.windowBytes() <= 10_000 || stats.windowSegments() == 1);
        }
        assertTrue(feed.unsubscribe(A));
        assertEquals(0, feed.stats().windowBytes());
    }

    private static long returned() {
        Document status = client.getDatabase("admin").runCommand(new Document("serverStatus", 1));
        return ((Number) status.get("metrics", Document.class).get("document", Document.class).get("returned")).longValue();
    }
}

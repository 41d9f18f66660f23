package org.mongofollow.task;

import org.mongofollow.operation.FollowOperation;

import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.junit.Test;
import org.mongofollow.metadata.FollowBudgets;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Runs {@link ShardFollowCoordinator} against a simulated MongoDB oplog and a simulated follower shard, on a deterministic
 * scheduler (a simulated clock and a task queue), with random budgets, latencies, failures, restarts and a source that keeps
 * being written, and non-retryable failures after which the follow resumes from its checkpoint. Asserts, at every step, that no budget is exceeded, that no document sees an operation while an earlier
 * one of its own is unapplied, that the checkpoint never passes an unapplied operation nor the majority commit point; and
 * at the end that the follower holds exactly the source's documents.
 * <p>
 * Seeds are fixed ({@code -Dtests.seed=N} changes the first one, {@code -Dtests.iters=N} the count); every seed's summary is
 * printed, and a failure names its seed.
 */
public class ShardFollowCoordinatorRandomTests {

    @Test
    public void testRandomSimulations() {
        long[] totalOps = new long[1];
        RandomSimulations.run(20261122L, 200, Simulation::new, simulation -> totalOps[0] += simulation.source.shardOps.size());
        System.out.println(totalOps[0] + " operations");
    }

    /** The oplog: entries in position order, a moving majority commit point, this shard's operations in order. */
    static final class Source {
        record Entry(OplogPosition position, List<TestOp> ops, int otherOps, long bytes) {}

        final Random random;
        final int idSpace;
        final boolean barriers;
        final List<Entry> entries = new ArrayList<>();
        final List<TestOp> shardOps = new ArrayList<>();
        final Map<String, Integer> opIndex = new HashMap<>();
        final Map<String, List<Integer>> opsById = new HashMap<>();
        final List<Integer> barrierIndexes = new ArrayList<>();
        int majorityIndex = -1;
        int seconds = 1_000_000;
        int increment = 0;

        Source(Random random) {
            this.random = random;
            this.idSpace = 1 + random.nextInt(30);
            this.barriers = random.nextInt(3) == 0;
        }

        OplogPosition majority() {
            return majorityIndex < 0 ? OplogPosition.MIN : entries.get(majorityIndex).position();
        }

        OplogPosition last() {
            return entries.isEmpty() ? OplogPosition.MIN : entries.get(entries.size() - 1).position();
        }

        void append() {
            int gap = random.nextInt(20) == 0 ? 1 + random.nextInt(300) : random.nextInt(3) == 0 ? 1 : 0;
            if (gap > 0) {
                seconds += gap;
                increment = 1 + random.nextInt(4);
            } else {
                increment += 1 + (random.nextInt(4) == 0 ? random.nextInt(100) : 0);
            }
            OplogPosition position = OplogPosition.of(seconds, increment);
            List<TestOp> ops = new ArrayList<>();
            int otherOps = 0;
            int kind = random.nextInt(100);
            if (kind < 25) {
                otherOps = 1; // another collection, another shard, a no-op
            } else if (kind < 37) {
                int n = 2 + random.nextInt(4); // a transaction, some of its operations for other shards
                for (int i = 0; i < n; i++) {
                    if (random.nextInt(4) == 0) {
                        otherOps++;
                    } else {
                        ops.add(documentOp(position, i));
                    }
                }
            } else if (barriers && kind < 39) {
                ops.add(new TestOp(position, 0, null, 10, null));
            } else {
                ops.add(documentOp(position, 0));
            }
            long bytes = 50 + ops.stream().mapToLong(TestOp::sizeInBytes).sum() + otherOps * 100L;
            entries.add(new Entry(position, ops, otherOps, bytes));
            for (TestOp op : ops) {
                int index = shardOps.size();
                shardOps.add(op);
                opIndex.put(op.key(), index);
                if (op.documentId() == null) {
                    barrierIndexes.add(index);
                } else {
                    opsById.computeIfAbsent(op.documentId(), k -> new ArrayList<>()).add(index);
                }
            }
        }

        private TestOp documentOp(OplogPosition position, int indexInEntry) {
            String id = "d" + random.nextInt(idSpace);
            String value = random.nextInt(5) == 0 ? null : "v" + random.nextInt(1000);
            return new TestOp(position, indexInEntry, id, 10 + random.nextInt(190), value);
        }

        void advanceMajority(boolean toTheEnd) {
            int target = toTheEnd ? entries.size() - 1 : Math.min(entries.size() - 1, majorityIndex + random.nextInt(6));
            majorityIndex = Math.max(majorityIndex, target);
        }

        /** Index of the first entry after {@code from}. */
        int firstAfter(OplogPosition from) {
            int lo = 0;
            int hi = entries.size();
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (entries.get(mid).position().compareTo(from) <= 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        /** Reads {@code (from, upper]} from entry {@code first} on, as the oplog reader does (see {@link ReadResponse}). */
        ReadResponse<TestOp> read(ReadRequest request, OplogPosition upper, int first) {
            List<TestOp> ops = new ArrayList<>();
            int raw = 0;
            long skipped = 0;
            long bytes = 0;
            OplogPosition scannedTo = upper;
            for (int i = first; i < entries.size(); i++) {
                Entry entry = entries.get(i);
                if (entry.position().after(upper)) {
                    break;
                }
                raw++;
                bytes += entry.bytes();
                ops.addAll(entry.ops());
                skipped += entry.otherOps();
                if (raw >= request.maxOperations() || bytes >= request.maxBytes()) {
                    scannedTo = entry.position();
                    break;
                }
            }
            if (scannedTo.before(request.fromExclusive())) {
                scannedTo = request.fromExclusive();
            }
            return new ReadResponse<>(ops, scannedTo, majority(), raw, skipped, bytes);
        }

        /** The documents after every operation, in order. */
        Map<String, String> finalState() {
            Map<String, String> docs = new TreeMap<>();
            for (TestOp op : shardOps) {
                if (op.documentId() == null) {
                    docs.clear();
                } else if (op.value() == null) {
                    docs.remove(op.documentId());
                } else {
                    docs.put(op.documentId(), op.value());
                }
            }
            return docs;
        }
    }

    /** The follower shard: documents with external versions; a delete leaves a versioned tombstone. */
    static final class Sink {
        record Doc(long version, String value) {}

        final Source source;
        final Map<String, Doc> docs = new HashMap<>();
        final boolean[] applied;
        int appliedPrefix;

        Sink(Source source, int capacity) {
            this.source = source;
            this.applied = new boolean[capacity];
        }

        void apply(TestOp op) {
            int index = source.opIndex.get(op.key());
            // per-document order: every earlier operation of this document (and every earlier barrier) is applied
            if (op.documentId() == null) {
                advanceAppliedPrefix();
                assertTrue("barrier " + op + " applied before all earlier operations", appliedPrefix >= index);
            } else {
                for (int earlier : source.opsById.get(op.documentId())) {
                    if (earlier >= index) {
                        break;
                    }
                    assertTrue(op + " applied before " + source.shardOps.get(earlier), applied[earlier]);
                }
                for (int earlier : source.barrierIndexes) {
                    if (earlier >= index) {
                        break;
                    }
                    assertTrue(op + " applied before barrier " + source.shardOps.get(earlier), applied[earlier]);
                }
            }
            applied[index] = true;
            long version = op.position().key();
            if (op.documentId() == null) {
                docs.replaceAll((id, doc) -> doc.version() <= version ? new Doc(version, null) : doc);
            } else {
                Doc current = docs.get(op.documentId());
                if (current == null || current.version() <= version) {
                    docs.put(op.documentId(), new Doc(version, op.value()));
                }
            }
        }

        void advanceAppliedPrefix() {
            while (appliedPrefix < source.shardOps.size() && applied[appliedPrefix]) {
                appliedPrefix++;
            }
        }

        Map<String, String> documents() {
            Map<String, String> result = new TreeMap<>();
            docs.forEach((id, doc) -> {
                if (doc.value() != null) {
                    result.put(id, doc.value());
                }
            });
            return result;
        }
    }

    static final class Simulation implements RandomSimulations.Simulation {
        final long seed;
        final Random random;
        final SimulatedScheduler scheduler = new SimulatedScheduler();
        final Source source;
        final Sink sink;
        final FollowBudgets budgets;
        final int totalEntries;
        final double readFailureRate;
        final double writeFailureRate;
        final int maxLatencyMillis;
        final int restarts;
        final int fatalFailures;
        int fatalFailuresDone;
        boolean resuming;
        final boolean[] delivered;
        int deliveredPrefix;
        SimCoordinator current;
        OplogPosition persisted = OplogPosition.MIN;
        int generation;
        int restartsDone;
        long steps;
        long readRequests;
        long writeRequests;

        Simulation(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            this.source = new Source(random);
            this.totalEntries = 50 + random.nextInt(500);
            this.sink = new Sink(source, totalEntries * 6);
            this.delivered = new boolean[totalEntries * 6];
            this.budgets = FollowBudgets.builder()
                .maxReadRequestOperationCount(1 + random.nextInt(random.nextBoolean() ? 8 : 64))
                .maxOutstandingReadRequests(1 + random.nextInt(8))
                .maxReadRequestSize(random.nextBoolean() ? ByteSizeValue.ofMb(32) : ByteSizeValue.ofBytes(100 + random.nextInt(3000)))
                .maxWriteRequestOperationCount(1 + random.nextInt(random.nextBoolean() ? 4 : 64))
                .maxWriteRequestSize(
                    random.nextBoolean() ? FollowBudgets.DEFAULT_MAX_WRITE_REQUEST_SIZE : ByteSizeValue.ofBytes(50 + random.nextInt(2000))
                )
                .maxOutstandingWriteRequests(1 + random.nextInt(8))
                .maxWriteBufferCount(random.nextBoolean() ? Integer.MAX_VALUE : 1 + random.nextInt(100))
                .maxWriteBufferSize(random.nextBoolean() ? ByteSizeValue.ofMb(512) : ByteSizeValue.ofBytes(100 + random.nextInt(5000)))
                .maxRetryDelay(TimeValue.timeValueMillis(5 + random.nextInt(500)))
                .readPollTimeout(TimeValue.timeValueMillis(20 + random.nextInt(1000)))
                .build();
            this.readFailureRate = random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.25;
            this.writeFailureRate = random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.25;
            this.maxLatencyMillis = 1 + random.nextInt(50);
            this.restarts = random.nextInt(3) == 0 ? 1 + random.nextInt(3) : 0;
            this.fatalFailures = random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0;
        }

        /** Sometimes a non-retryable failure, while the seed still has some to inject. */
        boolean injectFatal() {
            if (fatalFailuresDone < fatalFailures && random.nextInt(50) == 0) {
                fatalFailuresDone++;
                return true;
            }
            return false;
        }

        @Override
        public String describe() {
            return String.format(
                "%d entries, %d ops, %d ids, barriers %s, %s, read failures %.2f, write failures %.2f, restarts %d, fatal %d, "
                    + "%d reads, %d writes, %d steps, %d ms simulated",
                source.entries.size(), source.shardOps.size(), source.idSpace, source.barriers, budgets,
                readFailureRate, writeFailureRate, restartsDone, fatalFailuresDone, readRequests, writeRequests, steps, scheduler.nanos() / 1_000_000
            );
        }

        @Override
        public void run() {
            int backlog = random.nextInt(totalEntries);
            for (int i = 0; i < backlog; i++) {
                source.append();
            }
            source.advanceMajority(random.nextBoolean());
            scheduler.schedule(0, this::generate);
            startCoordinator();
            for (int r = 0; r < restarts; r++) {
                scheduler.schedule(random.nextInt(3000), this::restart);
            }
            while (done() == false) {
                if (scheduler.runNext() == false) {
                    fail("nothing left to run, not done: " + current.getStatus());
                }
                steps++;
                checkInvariants();
                if (current.getFatalException() != null && resuming == false) {
                    // the follow failed and kept its checkpoint; the user fixes the cause and resumes
                    assertTrue(current.isStopped());
                    resuming = true;
                    scheduler.schedule(random.nextInt(500), () -> {
                        resuming = false;
                        startCoordinator();
                    });
                }
                if (steps > 5_000_000 || scheduler.nanos() > 3_600_000_000_000L) {
                    fail("did not converge: " + current.getStatus());
                }
            }
            assertEquals(source.finalState(), sink.documents());
            assertEquals(source.majority(), current.getCheckpoint());
            ShardFollowStatus status = current.getStatus();
            assertEquals("active", status.status());
            assertEquals(0, status.lagMillis());
        }

        void generate() {
            if (source.entries.size() >= totalEntries) {
                source.advanceMajority(true);
                return;
            }
            int n = random.nextInt(4);
            for (int i = 0; i < n && source.entries.size() < totalEntries; i++) {
                source.append();
            }
            source.advanceMajority(false);
            scheduler.schedule(1 + random.nextInt(30), this::generate);
        }

        boolean done() {
            return current.isRunning()
                && source.entries.size() >= totalEntries
                && source.majorityIndex == source.entries.size() - 1
                && current.getCheckpoint().equals(source.majority())
                && current.outstandingWrites() == 0;
        }

        void startCoordinator() {
            current = new SimCoordinator(this);
            current.start(persisted, random.nextBoolean() ? null : source.majority());
        }

        void restart() {
            current.stop();
            restartsDone++;
            scheduler.schedule(random.nextInt(100), this::startCoordinator);
        }

        void checkInvariants() {
            if (current.isRunning()) {
                assertTrue(current.outstandingReads() <= budgets.maxOutstandingReadRequests());
                assertTrue(current.outstandingWrites() <= budgets.maxOutstandingWriteRequests());
                // a read goes out only while the buffer is under its limits; a response can add at most one batch of
                // entries of at most six operations each
                long slack = (long) budgets.maxOutstandingReadRequests() * budgets.maxReadRequestOperationCount() * 6;
                assertTrue(
                    "buffer " + current.bufferedOperations(),
                    current.bufferedOperations() < (long) budgets.maxWriteBufferCount() + slack
                );
            }
        }

        void markDelivered(TestOp op) {
            delivered[source.opIndex.get(op.key())] = true;
            while (deliveredPrefix < source.shardOps.size() && delivered[deliveredPrefix]) {
                deliveredPrefix++;
            }
        }
    }

    static final class SimCoordinator extends ShardFollowCoordinator<TestOp> {
        final Simulation sim;
        int readsAtSource;
        int writesAtSink;
        final Set<String> documentsInFlight = new HashSet<>();
        boolean barrierInFlight;
        OplogPosition lastPersisted;
        final OplogPosition startedFrom;

        SimCoordinator(Simulation sim) {
            super("follower", 0, "sim", sim.budgets);
            this.sim = sim;
            this.startedFrom = sim.persisted;
        }

        @Override
        protected void innerSendReadRequest(ReadRequest request, Consumer<ReadResponse<TestOp>> onResponse, Consumer<Exception> onFailure) {
            FollowBudgets budgets = sim.budgets;
            sim.readRequests++;
            readsAtSource++;
            assertTrue("reads at the source " + readsAtSource, readsAtSource <= budgets.maxOutstandingReadRequests());
            assertEquals(budgets.maxReadRequestOperationCount(), request.maxOperations());
            assertEquals(budgets.maxReadRequestSize().getBytes(), request.maxBytes());
            if (request.isTail() == false) {
                assertTrue(request + " past the majority commit point " + sim.source.majority(),
                    request.toInclusive().compareTo(sim.source.majority()) <= 0);
            }
            assertTrue(isRunning());
            long deadline = sim.scheduler.nanos() + request.pollTimeout().nanos();
            sim.scheduler.schedule(sim.random.nextInt(sim.maxLatencyMillis), () -> serve(request, deadline, onResponse, onFailure));
        }

        private void serve(ReadRequest request, long deadline, Consumer<ReadResponse<TestOp>> onResponse, Consumer<Exception> onFailure) {
            Source source = sim.source;
            if (sim.random.nextDouble() < sim.readFailureRate) {
                readsAtSource--;
                onFailure.accept(sim.injectFatal() ? new IllegalStateException("fatal read") : new RandomSimulations.TransientException("read failed"));
                return;
            }
            OplogPosition upper = request.isTail() ? source.majority() : request.toInclusive();
            int first = source.firstAfter(request.fromExclusive());
            if (request.isTail() && (first >= source.entries.size() || source.entries.get(first).position().after(upper))
                && sim.scheduler.nanos() < deadline) {
                // an await-data cursor: nothing committed after from yet, look again a bit later
                sim.scheduler.schedule(1 + sim.random.nextInt(20), () -> serve(request, deadline, onResponse, onFailure));
                return;
            }
            ReadResponse<TestOp> response = source.read(request, upper, first);
            List<TestOp> ops = new ArrayList<>(response.operations());
            Collections.shuffle(ops, sim.random); // the coordinator orders them
            ops.forEach(sim::markDelivered);
            readsAtSource--;
            onResponse.accept(new ReadResponse<>(ops, response.scannedTo(), response.majorityCommitPosition(),
                response.rawEntriesRead(), response.operationsSkipped(), response.bytesRead()));
        }

        @Override
        protected void innerSendWriteRequest(List<TestOp> ops, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {
            FollowBudgets budgets = sim.budgets;
            sim.writeRequests++;
            writesAtSink++;
            assertTrue(isRunning());
            assertTrue("writes in flight " + writesAtSink, writesAtSink <= budgets.maxOutstandingWriteRequests());
            assertTrue("batch of " + ops.size(), ops.size() >= 1 && ops.size() <= budgets.maxWriteRequestOperationCount());
            long bytes = ops.stream().mapToLong(TestOp::sizeInBytes).sum();
            assertTrue("batch of " + bytes + " bytes", ops.size() == 1 || bytes <= budgets.maxWriteRequestSize().getBytes());
            assertTrue("a batch after a barrier in flight", barrierInFlight == false);
            boolean barrier = ops.get(0).documentId() == null;
            if (barrier) {
                assertEquals("a barrier goes alone", 1, ops.size());
                assertEquals("a barrier goes when nothing else is in flight", 1, writesAtSink);
            }
            Set<String> ids = new HashSet<>();
            for (int i = 0; i < ops.size(); i++) {
                TestOp op = ops.get(i);
                if (i > 0) {
                    assertTrue("batch out of order " + ops, FollowOperation.ORDER.compare(ops.get(i - 1), op) < 0);
                    assertTrue("barrier inside a batch " + ops, op.documentId() != null);
                }
                // the read watermark: every operation before this one has been read
                int index = sim.source.opIndex.get(op.key());
                assertTrue(op + " written before everything before it was read", index < sim.deliveredPrefix);
                if (op.documentId() != null) {
                    ids.add(op.documentId());
                }
            }
            for (String id : ids) {
                assertTrue("document " + id + " in two batches in flight", documentsInFlight.contains(id) == false);
            }
            documentsInFlight.addAll(ids);
            barrierInFlight = barrier;
            sim.scheduler.schedule(sim.random.nextInt(sim.maxLatencyMillis), () -> {
                boolean failed = sim.random.nextDouble() < sim.writeFailureRate;
                if (isStopped() && sim.current != this) {
                    failed = true; // a replaced task's shard copy is fenced off: nothing applies
                } else {
                    int applied = failed ? sim.random.nextInt(ops.size() + 1) : ops.size();
                    for (int i = 0; i < applied; i++) {
                        sim.sink.apply(ops.get(i));
                    }
                }
                writesAtSink--;
                documentsInFlight.removeAll(ids);
                barrierInFlight = false;
                if (failed) {
                    onFailure.accept(sim.injectFatal() ? new IllegalStateException("fatal write") : new RandomSimulations.TransientException("write failed"));
                } else {
                    onSuccess.accept(WriteResponse.OK);
                }
            });
        }

        @Override
        protected void innerReserveMemory(long bytes, boolean force) {}

        @Override
        protected void innerReleaseMemory(long bytes) {}

        @Override
        protected void innerPersistCheckpoint(OplogPosition checkpoint, boolean applied) {
            assertTrue("checkpoint went back", lastPersisted == null || checkpoint.after(lastPersisted));
            assertTrue("checkpoint before the start", checkpoint.after(startedFrom));
            lastPersisted = checkpoint;
            Source source = sim.source;
            assertTrue("checkpoint " + checkpoint + " past the majority commit point", checkpoint.compareTo(source.majority()) <= 0);
            sim.sink.advanceAppliedPrefix();
            if (sim.sink.appliedPrefix < source.shardOps.size()) {
                TestOp unapplied = source.shardOps.get(sim.sink.appliedPrefix);
                assertTrue("checkpoint " + checkpoint + " passed unapplied " + unapplied, checkpoint.before(unapplied.position()));
            }
            if (sim.current == this) {
                sim.persisted = OplogPosition.max(sim.persisted, checkpoint);
            }
        }

        @Override
        protected void schedule(TimeValue delay, Runnable task) {
            assertTrue("retry delay " + delay, delay.millis() >= 0 && delay.compareTo(sim.budgets.maxRetryDelay()) <= 0);
            sim.scheduler.schedule(delay.millis(), task);
        }

        @Override
        protected boolean shouldRetry(Exception e) {
            return e instanceof RandomSimulations.TransientException;
        }

        @Override
        protected long relativeTimeNanos() {
            return sim.scheduler.nanos();
        }

        @Override
        protected long randomJitter(long bound) {
            return bound <= 0 ? 0 : (long) (sim.random.nextDouble() * bound);
        }

        @Override
        public String toString() {
            return Objects.toString(getStatus());
        }
    }
}

package org.mongofollow.copy;

import org.bson.BsonInt32;
import org.bson.BsonValue;
import org.elasticsearch.core.TimeValue;
import org.junit.Test;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.task.RandomSimulations;
import org.mongofollow.task.SimulatedScheduler;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Runs {@link CopyCoordinator} against a simulated collection and simulated follower shards, on a deterministic scheduler,
 * with random budgets, latencies (also answers that come back synchronously), transient read and write failures (a failed
 * write may have been applied in part), a node memory budget that refuses batches, documents the index refuses, stops and
 * restarts from the progress last stored (which may be behind), and failures that are not retryable, after which the copy
 * resumes from the stored progress. Asserts at every step that no budget is exceeded and that every stored range progress
 * covers only documents that are in the index, with the exact count; and at the end that the index holds every document,
 * every range is done, the rejected count is exact, and every reserved byte was given back.
 * <p>
 * Seeds are fixed ({@code -Dtests.seed=N} changes the first one, {@code -Dtests.iters=N} the count); a failure names its seed.
 */
public class CopyCoordinatorRandomTests {

    static final class FatalException extends RuntimeException {
        FatalException(String message) {
            super(message, null, false, false);
        }
    }

    @Test
    public void testRandomSimulations() {
        long[] documents = new long[1];
        RandomSimulations.run(20261207L, 200, Simulation::new, simulation -> documents[0] += simulation.collection.size());
        System.out.println(documents[0] + " documents copied");
    }

    static final class Simulation implements RandomSimulations.Simulation {
        final long seed;
        final Random random;
        final SimulatedScheduler scheduler = new SimulatedScheduler();
        /** the collection: _id -> size in bytes */
        final TreeMap<Integer, Integer> collection = new TreeMap<>();
        final Set<Integer> refused = new HashSet<>();
        final int shards;
        final CopyCoordinator.Limits limits;
        final double readFailureRate;
        final double writeFailureRate;
        final double fatalRate;
        final double synchronousRate;
        final long memoryLimit;
        final int restarts;
        /** the follower index: _id -> times written */
        final Map<Integer, Integer> index = new HashMap<>();
        long memoryUsed;
        List<CopyState.Range> stored;
        long storedRejected;
        Coordinator current;
        final List<Coordinator> previous = new ArrayList<>();
        int restartsDone;
        int fatalFailures;
        boolean resuming;
        long steps;

        Simulation(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            int count = random.nextInt(4) == 0 ? random.nextInt(5) : random.nextInt(1500);
            int id = random.nextInt(100) - 50;
            for (int i = 0; i < count; i++) {
                id += 1 + random.nextInt(random.nextBoolean() ? 2 : 40);
                collection.put(id, 50 + random.nextInt(500));
                if (random.nextInt(40) == 0) {
                    refused.add(id);
                }
            }
            this.shards = 1 + random.nextInt(5);
            this.limits = new CopyCoordinator.Limits(
                1 + random.nextInt(6),
                1 + random.nextInt(random.nextBoolean() ? 8 : 120),
                1 + random.nextInt(8),
                1 + random.nextInt(random.nextBoolean() ? 2_000 : 100_000),
                random.nextInt(3) == 0 ? 0 : random.nextInt(300)
            );
            this.readFailureRate = random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.3;
            this.writeFailureRate = random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.3;
            this.fatalRate = random.nextInt(4) == 0 ? random.nextDouble() * 0.02 : 0;
            this.synchronousRate = random.nextDouble() * 0.3;
            this.memoryLimit = random.nextInt(3) == 0 ? 5_000 + random.nextInt(50_000) : Long.MAX_VALUE;
            this.restarts = random.nextInt(4);
            this.stored = plan();
        }

        /** Ranges as {@link IdRanges} plans them: open ends, split points taken from the collection or between its ids. */
        private List<CopyState.Range> plan() {
            int wanted = 1 + random.nextInt(8);
            TreeMap<Integer, Boolean> splits = new TreeMap<>();
            for (int i = 1; i < wanted; i++) {
                // from 20 below the ids to the last id (a collection whose ids all lie below -19 gets the split -20)
                splits.put(random.nextInt(Math.max(1, collection.isEmpty() ? 100 : collection.lastKey() + 20)) - 20, true);
            }
            List<CopyState.Range> ranges = new ArrayList<>();
            BsonValue lower = null;
            for (int split : splits.keySet()) {
                ranges.add(new CopyState.Range(lower, new BsonInt32(split), null, 0, false));
                lower = new BsonInt32(split);
            }
            ranges.add(new CopyState.Range(lower, null, null, 0, false));
            return ranges;
        }

        @Override
        public String describe() {
            return collection.size() + " documents, " + stored.size() + " ranges, " + shards + " shards, " + limits
                + ", failures read " + String.format("%.2f", readFailureRate) + " write " + String.format("%.2f", writeFailureRate)
                + " fatal " + String.format("%.3f", fatalRate) + ", memory " + memoryLimit + ", " + restartsDone + " restarts, "
                + fatalFailures + " fatal, " + steps + " steps";
        }

        @Override
        public void run() {
            startCoordinator();
            for (int r = 0; r < restarts; r++) {
                scheduler.schedule(random.nextInt(2000), this::restart);
            }
            while (current.isCompleted() == false || scheduler.isEmpty() == false) {
                if (scheduler.runNext() == false) {
                    fail("nothing left to run, not done: " + current.progress());
                }
                steps++;
                checkInvariants();
                if (steps > 2_000_000 || scheduler.nanos() > 3_600_000_000_000L) {
                    fail("did not converge: " + current.progress());
                }
            }
            // the copy is done: every document is in the index, every range says done with its exact count
            assertEquals(collection.keySet(), index.keySet());
            List<CopyState.Range> done = current.progress();
            for (CopyState.Range range : done) {
                assertTrue("range not done: " + range, range.done());
                assertEquals(documentsIn(range, null), range.copied());
            }
            assertEquals(refused.size(), storedRejectedNow());
            for (Coordinator coordinator : previous) {
                assertEquals("bytes still charged by a stopped coordinator", 0, coordinator.reservedBytes());
            }
            assertEquals(0, current.reservedBytes());
            assertEquals("bytes still charged to the node", 0, memoryUsed);
        }

        long storedRejectedNow() {
            return current.rejectedBase + current.documentsRejected();
        }

        void startCoordinator() {
            current = new Coordinator(this, stored, storedRejected);
            current.start();
        }

        void restart() {
            if (current.isCompleted() || current.isStopped()) {
                return;
            }
            current.stop();
            restartsDone++;
            scheduler.schedule(random.nextInt(100), this::resume);
        }

        /** A new run from what was stored last (a node picks up the task). */
        void resume() {
            previous.add(current);
            startCoordinator();
        }

        /** Stores the current run's progress (the ES layer stores some updates and loses or delays others). */
        void progressed(Coordinator coordinator) {
            // (checked when it changes: every advance of every run, stopped or not)
            checkProgress(coordinator.progress());
            if (coordinator == current && coordinator.isStopped() == false && random.nextInt(3) != 0) {
                stored = coordinator.progress();
                storedRejected = coordinator.rejectedBase + coordinator.documentsRejected();
            }
        }

        void failed(Coordinator coordinator, Exception e) {
            assertTrue(e instanceof FatalException);
            assertTrue(coordinator.isStopped());
            fatalFailures++;
            if (coordinator == current && resuming == false) {
                // the copy failed with its progress stored; the task starts again from it
                resuming = true;
                scheduler.schedule(random.nextInt(300), () -> {
                    resuming = false;
                    resume();
                });
            }
        }

        long documentsIn(CopyState.Range range, BsonValue after) {
            return between(range, after).size();
        }

        /** The collection's ids of a range (after {@code after} when not null), in order. */
        NavigableMap<Integer, Integer> between(CopyState.Range range, BsonValue after) {
            NavigableMap<Integer, Integer> ids = collection;
            if (after != null) {
                ids = ids.tailMap(after.asInt32().getValue(), false);
            } else if (range.lower() != null) {
                ids = ids.tailMap(range.lower().asInt32().getValue(), true);
            }
            if (range.upper() != null) {
                ids = ids.headMap(range.upper().asInt32().getValue(), false);
            }
            return ids;
        }

        /** A range's progress covers only documents that are in the index, and counts exactly those. */
        void checkProgress(List<CopyState.Range> progress) {
            for (CopyState.Range range : progress) {
                NavigableMap<Integer, Integer> covered = range.last() == null
                    ? new TreeMap<>()
                    : between(range, null).headMap(range.last().asInt32().getValue(), true);
                assertEquals("count of " + range, covered.size(), range.copied());
                for (int id : covered.keySet()) {
                    assertTrue("progress " + range + " passes unwritten document " + id, index.containsKey(id));
                }
                if (range.done()) {
                    assertEquals(documentsIn(range, null), range.copied());
                }
            }
        }

        void checkInvariants() {
            if (current.isStopped() == false) {
                assertTrue(current.outstandingWrites() <= limits.maxOutstandingWrites());
                assertTrue(current.rangesReading() <= limits.maxActiveRanges());
                // a read goes out only while the buffer is under its limit; each range's read adds at most one batch
                long slack = (long) limits.maxActiveRanges() * limits.batchSize() * 550;
                assertTrue("buffered " + current.reservedBytes(), current.reservedBytes() < limits.maxBufferBytes() + slack);
                // and only while fewer shard writes wait than there are write slots: each read in flight adds at most one
                // write per shard, and failed writes come back to wait
                assertTrue(
                    "waiting " + current.writesWaiting(),
                    current.writesWaiting() <= 2 * limits.maxOutstandingWrites() + limits.maxActiveRanges() * shards
                );
            }
            long reserved = current.reservedBytes();
            for (Coordinator coordinator : previous) {
                reserved += coordinator.reservedBytes();
            }
            assertEquals(memoryUsed, reserved);
        }

        boolean chance(double rate) {
            return rate > 0 && random.nextDouble() < rate;
        }

        /** Answers now (synchronously, from inside the call) or later. */
        void answer(Runnable answer) {
            if (chance(synchronousRate)) {
                answer.run();
            } else {
                scheduler.schedule(random.nextInt(20), answer);
            }
        }
    }

    static final class Coordinator extends CopyCoordinator<List<Integer>> {
        final Simulation sim;
        final long rejectedBase;

        Coordinator(Simulation sim, List<CopyState.Range> ranges, long rejectedBase) {
            super(sim.limits, ranges);
            this.sim = sim;
            this.rejectedBase = rejectedBase;
        }

        @Override
        protected void innerRead(Read read, Consumer<Batch<List<Integer>>> onSuccess, Consumer<Exception> onFailure) {
            // the read is answered from the collection as it is when it runs
            sim.answer(() -> {
                if (sim.chance(sim.fatalRate)) {
                    onFailure.accept(new FatalException("not authorized"));
                    return;
                }
                if (sim.chance(sim.readFailureRate)) {
                    onFailure.accept(new RandomSimulations.TransientException("socket closed"));
                    return;
                }
                Map<Integer, List<Integer>> writes = new HashMap<>();
                BsonValue last = null;
                long bytes = 0;
                int documents = 0;
                for (var entry : sim.between(read.bounds(), read.after()).entrySet()) {
                    if (documents == read.limit()) {
                        break;
                    }
                    documents++;
                    last = new BsonInt32(entry.getKey());
                    bytes += entry.getValue();
                    writes.computeIfAbsent(Math.floorMod(entry.getKey(), sim.shards), s -> new ArrayList<>()).add(entry.getKey());
                }
                onSuccess.accept(new Batch<>(documents, last, bytes, writes));
            });
        }

        @Override
        protected void innerWrite(int shard, List<Integer> write, Consumer<Integer> onSuccess, Consumer<Exception> onFailure) {
            for (int id : write) {
                assertEquals(shard, Math.floorMod(id, sim.shards));
            }
            sim.answer(() -> {
                if (sim.chance(sim.fatalRate)) {
                    onFailure.accept(new FatalException("index closed for good"));
                    return;
                }
                boolean failing = sim.chance(sim.writeFailureRate);
                int letters = 0;
                for (int id : write) {
                    if (failing && sim.random.nextBoolean()) {
                        continue; // applied in part
                    }
                    sim.index.merge(id, 1, Integer::sum);
                    if (sim.refused.contains(id)) {
                        letters++;
                    }
                }
                if (failing) {
                    onFailure.accept(new RandomSimulations.TransientException("primary moved"));
                } else {
                    onSuccess.accept(letters);
                }
            });
        }

        @Override
        protected void innerProgress() {
            sim.progressed(this);
        }

        @Override
        protected void innerCompleted() {
            assertTrue(this == sim.current);
        }

        @Override
        protected void innerFailed(Exception e) {
            sim.failed(this, e);
        }

        @Override
        protected void innerReserveMemory(long bytes, boolean force) {
            if (force == false && sim.memoryUsed + bytes > sim.memoryLimit) {
                throw new RandomSimulations.TransientException("breaker: " + (sim.memoryUsed + bytes) + " > " + sim.memoryLimit);
            }
            sim.memoryUsed += bytes;
        }

        @Override
        protected void innerReleaseMemory(long bytes) {
            sim.memoryUsed -= bytes;
            assertTrue(sim.memoryUsed >= 0);
        }

        @Override
        protected void schedule(TimeValue delay, Runnable task) {
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
            return bound <= 0 ? 0 : Math.floorMod(sim.random.nextLong(), bound);
        }
    }

    @Test
    public void testInvalidBatchIsFatal() {
        Simulation sim = new Simulation(1);
        List<Exception> failures = new ArrayList<>();
        CopyCoordinator<List<Integer>> coordinator = new CopyCoordinator<>(sim.limits, List.of(new CopyState.Range(null, null, null, 0, false))) {
            @Override
            protected void innerRead(Read read, Consumer<Batch<List<Integer>>> onSuccess, Consumer<Exception> onFailure) {
                onSuccess.accept(new Batch<>(read.limit() + 1, new BsonInt32(1), 10, Map.of()));
            }

            @Override
            protected void innerWrite(int shard, List<Integer> write, Consumer<Integer> onSuccess, Consumer<Exception> onFailure) {
                fail("nothing to write");
            }

            @Override
            protected void innerProgress() {}

            @Override
            protected void innerCompleted() {
                fail("not complete");
            }

            @Override
            protected void innerFailed(Exception e) {
                failures.add(e);
            }

            @Override
            protected void innerReserveMemory(long bytes, boolean force) {}

            @Override
            protected void innerReleaseMemory(long bytes) {}

            @Override
            protected void schedule(TimeValue delay, Runnable task) {}

            @Override
            protected boolean shouldRetry(Exception e) {
                return true;
            }

            @Override
            protected long relativeTimeNanos() {
                return 0;
            }
        };
        coordinator.start();
        assertEquals(1, failures.size());
        assertTrue(failures.get(0).getMessage(), failures.get(0).getMessage().startsWith("invalid batch"));
        assertTrue(coordinator.isStopped());
        assertNull(coordinator.progress().get(0).last());
    }
}

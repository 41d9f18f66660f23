package org.mongofollow.task;

import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.junit.Test;
import org.mongofollow.metadata.FollowBudgets;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * Every budget edge and decision of {@link ShardFollowCoordinator}, against a fake that records the requests and lets each
 * test answer them by hand.
 */
public class ShardFollowCoordinatorTests {

    static final class TransientException extends RuntimeException {
        TransientException(String message) {
            super(message);
        }
    }

    static class Recording extends ShardFollowCoordinator<TestOp> {
        record Read(ReadRequest request, Consumer<ReadResponse<TestOp>> onResponse, Consumer<Exception> onFailure) {}

        record Write(List<TestOp> ops, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure) {}

        record Scheduled(TimeValue delay, Runnable task) {}

        final Deque<Read> reads = new ArrayDeque<>();
        final Deque<Write> writes = new ArrayDeque<>();
        final List<OplogPosition> persisted = new ArrayList<>();
        final List<Boolean> persistedApplied = new ArrayList<>();
        final Deque<Scheduled> scheduled = new ArrayDeque<>();
        long nanos;

        Recording(FollowBudgets budgets) {
            super("follower", 0, "mongodb://h1/db.coll", budgets);
        }

        @Override
        protected void innerSendReadRequest(ReadRequest r, Consumer<ReadResponse<TestOp>> ok, Consumer<Exception> fail) {
            reads.add(new Read(r, ok, fail));
        }

        @Override
        protected void innerSendWriteRequest(List<TestOp> ops, Consumer<WriteResponse> ok, Consumer<Exception> fail) {
            writes.add(new Write(List.copyOf(ops), ok, fail));
        }

        /** a node memory budget, as the breaker is: a reservation over the limit fails (retryably) */
        long memoryLimit = Long.MAX_VALUE;
        long memoryUsed;

        @Override
        protected void innerReserveMemory(long bytes, boolean force) {
            if (force == false && memoryUsed + bytes > memoryLimit) {
                throw new TransientException("memory budget spent");
            }
            memoryUsed += bytes;
        }

        @Override
        protected void innerReleaseMemory(long bytes) {
            memoryUsed -= bytes;
            assertTrue("released more than reserved", memoryUsed >= 0);
        }

        @Override
        protected void innerPersistCheckpoint(OplogPosition checkpoint, boolean applied) {
            persisted.add(checkpoint);
            persistedApplied.add(applied);
        }

        @Override
        protected void schedule(TimeValue delay, Runnable task) {
            scheduled.add(new Scheduled(delay, task));
        }

        @Override
        protected boolean shouldRetry(Exception e) {
            return e instanceof TransientException || e instanceof org.elasticsearch.ElasticsearchTimeoutException; // as FollowFailures
        }

        @Override
        protected long relativeTimeNanos() {
            return nanos;
        }

        @Override
        protected long randomJitter(long bound) {
            return bound - 1; // the longest delay, to check the cap
        }
    }

    static OplogPosition pos(int seconds, int increment) {
        return OplogPosition.of(seconds, increment);
    }

    static ReadResponse<TestOp> response(List<TestOp> ops, OplogPosition scannedTo, OplogPosition majority, int raw) {
        return new ReadResponse<>(ops, scannedTo, majority, raw, 0, raw * 100L);
    }

    static FollowBudgets.Builder budgets() {
        return FollowBudgets.builder().maxReadRequestOperationCount(10).maxOutstandingReadRequests(3);
    }

    static List<String> ids(List<TestOp> ops) {
        return ops.stream().map(op -> op.documentId() == null ? "*" : op.documentId()).collect(Collectors.toList());
    }

    /** A coordinator caught up at {@code at}, its tail read answered with {@code ops} and the next tail read out. */
    static Recording caughtUp(FollowBudgets budgets, OplogPosition at, TestOp... ops) {
        Recording c = new Recording(budgets);
        c.start(OplogPosition.MIN, at);
        Recording.Read probe = c.reads.poll();
        probe.onResponse().accept(response(Arrays.asList(ops), at, at, ops.length));
        return c;
    }

    @Test
    public void testStartWithUnknownHeadSendsOneTailRead() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), null);
        assertEquals(1, c.reads.size());
        ReadRequest r = c.reads.peek().request();
        assertTrue(r.isTail());
        assertEquals(pos(10, 0), r.fromExclusive());
        assertEquals(TimeValue.timeValueMinutes(1), r.pollTimeout());
        assertEquals(10, r.maxOperations());
        assertEquals(ByteSizeValue.ofMb(32).getBytes(), r.maxBytes());
    }

    @Test
    public void testWithoutDensityEstimateOneProbeCoversTheBacklog() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        assertEquals(1, c.reads.size());
        assertEquals(pos(100, 0), c.reads.peek().request().fromExclusive());
        assertEquals(pos(200, 0), c.reads.peek().request().toInclusive());
        assertEquals(pos(200, 0), c.lastRequested());
    }

    @Test
    public void testFullProbeSplitsTheRestIntoParallelRangesWithinReadBudget() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        Recording.Read probe = c.reads.poll();
        // 10 raw entries (a full batch) in one second: ~10 entries/s, so a span of one second holds a batch
        probe.onResponse().accept(response(List.of(), pos(101, 5), pos(200, 0), 10));
        assertEquals(10.0, c.entriesPerSecond(), 0.0);
        assertEquals(3, c.reads.size());
        assertEquals(3, c.outstandingReads());
        List<ReadRequest> requests = c.reads.stream().map(Recording.Read::request).toList();
        // the follow-up of the full batch, cut to one span, then new ranges, contiguous
        assertEquals(pos(101, 5), requests.get(0).fromExclusive());
        assertEquals(pos(102, 5), requests.get(0).toInclusive());
        assertEquals(pos(102, 5), requests.get(1).fromExclusive());
        assertEquals(pos(103, 5), requests.get(1).toInclusive());
        assertEquals(pos(103, 5), requests.get(2).fromExclusive());
        assertEquals(pos(104, 5), requests.get(2).toInclusive());
        assertEquals(pos(104, 5), c.lastRequested());
        assertFalse(c.hasReadBudget());
    }

    @Test
    public void testSparseResponsesWidenTheRangesButNeverPastTheHead() {
        Recording c = new Recording(budgets().maxOutstandingReadRequests(1).build());
        c.start(pos(100, 0), pos(1000, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(101, 0), pos(1000, 0), 10)); // full: 10/s
        Recording.Read followUp = c.reads.poll();
        assertEquals(pos(102, 0), followUp.request().toInclusive());
        followUp.onResponse().accept(response(List.of(), pos(102, 0), pos(1000, 0), 0)); // empty second
        Recording.Read next = c.reads.poll();
        assertEquals(pos(102, 0), next.request().fromExclusive());
        assertEquals(pos(104, 0), next.request().toInclusive()); // 5 entries/s: 2 seconds per batch
        next.onResponse().accept(response(List.of(), pos(104, 0), pos(1000, 0), 0));
        next = c.reads.poll();
        assertEquals(pos(108, 0), next.request().toInclusive()); // 2.5 entries/s: 4 seconds
        for (int i = 0; i < 20 && next.request().isTail() == false; i++) {
            assertTrue(next.request().toInclusive().compareTo(pos(1000, 0)) <= 0);
            OplogPosition to = next.request().toInclusive();
            next.onResponse().accept(response(List.of(), to, pos(1000, 0), 0));
            next = c.reads.poll();
        }
        assertTrue("reached the head, then tailing", next.request().isTail());
        assertEquals(pos(1000, 0), next.request().fromExclusive());
        assertEquals(pos(1000, 0), c.readWatermark());
    }

    @Test
    public void testFullBatchContinuesItsOwnRangeInTheSameSlot() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(101, 5), pos(200, 0), 10));
        Recording.Read middle = c.reads.stream().skip(1).findFirst().orElseThrow();
        c.reads.remove(middle);
        assertEquals(pos(102, 5), middle.request().fromExclusive());
        middle.onResponse().accept(response(List.of(), pos(103, 0), pos(200, 0), 10)); // full
        assertEquals(3, c.outstandingReads());
        Recording.Read followUp = c.reads.pollLast();
        assertEquals(pos(103, 0), followUp.request().fromExclusive());
        assertEquals(pos(103, 5), followUp.request().toInclusive()); // not the last range: its whole remainder
        assertEquals(pos(104, 5), c.lastRequested());
    }

    @Test
    public void testLongRemainderOfAFullBatchIsSharedWithOtherReads() {
        Recording c = new Recording(budgets().maxOutstandingReadRequests(2).build());
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(110, 0), pos(200, 0), 10)); // 1 entry/s: 10s spans
        Recording.Read followUp = c.reads.poll();
        Recording.Read next = c.reads.poll();
        assertEquals(pos(120, 0), followUp.request().toInclusive());
        assertEquals(pos(130, 0), next.request().toInclusive());
        // denser than estimated: 10 entries in one second, so the estimate becomes 5.5/s and a span 2s
        followUp.onResponse().accept(response(List.of(), pos(111, 0), pos(200, 0), 10));
        Recording.Read continued = c.reads.poll();
        assertEquals(pos(111, 0), continued.request().fromExclusive());
        assertEquals(pos(113, 0), continued.request().toInclusive());
        assertTrue(c.reads.isEmpty());
        next.onResponse().accept(response(List.of(), pos(130, 0), pos(200, 0), 3));
        assertEquals("the handed back remainder goes before new ranges", pos(113, 0), c.reads.peek().request().fromExclusive());
        assertEquals(pos(120, 0), c.reads.peek().request().toInclusive());
    }

    @Test
    public void testTailReadOnlyWhenCaughtUpAndNoReadIsOut() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        Recording.Read probe = c.reads.poll();
        assertFalse(probe.request().isTail());
        assertEquals(0, c.reads.size()); // everything is requested but a read is out: no tail read
        probe.onResponse().accept(response(List.of(), pos(200, 0), pos(200, 0), 3));
        assertEquals(1, c.reads.size());
        Recording.Read tail = c.reads.poll();
        assertTrue(tail.request().isTail());
        assertEquals(pos(200, 0), tail.request().fromExclusive());
        // the tail read times out with nothing new: another tail read
        tail.onResponse().accept(response(List.of(), pos(200, 0), pos(200, 0), 0));
        tail = c.reads.poll();
        assertTrue(tail.request().isTail());
        assertEquals(0, c.reads.size());
        // the tail read tells a new head; it returned a full batch, so the rest is read with range reads
        tail.onResponse().accept(response(List.of(), pos(201, 0), pos(300, 0), 10));
        assertEquals(pos(300, 0), c.sourceHead());
        assertTrue(c.reads.size() >= 1);
        for (Recording.Read r : c.reads) {
            assertFalse(r.request().isTail());
            assertTrue(r.request().toInclusive().compareTo(pos(300, 0)) <= 0);
        }
    }

    @Test
    public void testNeverReadsPastTheMajorityCommitPoint() {
        Recording c = new Recording(budgets().maxOutstandingReadRequests(12).build());
        c.start(pos(100, 0), pos(105, 7));
        c.reads.poll().onResponse().accept(response(List.of(), pos(100, 9), pos(105, 7), 10));
        assertFalse(c.reads.isEmpty());
        for (Recording.Read r : c.reads) {
            assertTrue(r.request().toInclusive().compareTo(pos(105, 7)) <= 0);
        }
        assertEquals(pos(105, 7), c.reads.peekLast().request().toInclusive());
        assertEquals(pos(105, 7), c.lastRequested());
    }

    @Test
    public void testCheckpointSaysWhetherOperationsWereAppliedSinceTheLastOne() {
        Recording c = caughtUp(budgets().build(), pos(10, 0));
        // entries of other shards only: the checkpoint moves with the commit point, nothing applied
        c.reads.poll().onResponse().accept(response(List.of(), pos(11, 0), pos(11, 0), 3));
        assertEquals(pos(11, 0), c.persisted.get(c.persisted.size() - 1));
        assertEquals(false, c.persistedApplied.get(c.persistedApplied.size() - 1));
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(12, 1, "a", "1")), pos(12, 5), pos(12, 5), 4));
        int persistedBeforeWrite = c.persisted.size();
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(persistedBeforeWrite + 1, c.persisted.size());
        assertEquals(pos(12, 5), c.persisted.get(c.persisted.size() - 1));
        assertEquals(true, c.persistedApplied.get(c.persistedApplied.size() - 1));
        c.reads.poll().onResponse().accept(response(List.of(), pos(13, 0), pos(13, 0), 2));
        assertEquals(pos(13, 0), c.persisted.get(c.persisted.size() - 1));
        assertEquals(false, c.persistedApplied.get(c.persistedApplied.size() - 1));
    }

    @Test
    public void testAReadWhoseOperationsDoNotFitTheMemoryBudgetIsReadAgainLater() {
        FollowBudgets b = budgets().maxOutstandingWriteRequests(1).maxWriteRequestOperationCount(1).build();
        Recording c = caughtUp(b, pos(10, 0));
        c.memoryLimit = 45;
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(11, 1, "a", "1"), TestOp.put(11, 2, "b", "1"),
            TestOp.put(11, 3, "c", "1")), pos(11, 5), pos(11, 5), 3));
        assertEquals(30, c.memoryUsed); // one in flight, two writable in the buffer
        Recording.Read tail = c.reads.poll();
        List<TestOp> ops = List.of(TestOp.put(12, 1, "d", "1"), TestOp.put(12, 2, "e", "1"));
        tail.onResponse().accept(response(ops, pos(13, 0), pos(13, 0), 2));
        // nothing kept: the buffer is as it was, the checkpoint does not pass the operations, the read waits for its retry
        assertEquals(2, c.bufferedOperations());
        assertEquals(30, c.memoryUsed);
        assertEquals(1, c.scheduled.size());
        assertEquals(1, c.getStatus().readExceptions().size());
        // the shard's own writes give memory back; the read goes out again, with half its limits, and is kept
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(10, c.memoryUsed);
        c.scheduled.poll().task().run();
        Recording.Read again = c.reads.poll();
        assertEquals(tail.request().fromExclusive(), again.request().fromExclusive());
        assertEquals("less at a time", tail.request().maxOperations() / 2, again.request().maxOperations());
        again.onResponse().accept(response(ops, pos(13, 0), pos(13, 0), 2));
        assertEquals(30, c.memoryUsed);
        assertEquals(30, c.reservedBytes());
        while (c.writes.isEmpty() == false) {
            c.writes.poll().onSuccess().accept(WriteResponse.OK);
        }
        assertEquals(0, c.memoryUsed);
        assertEquals(pos(13, 0), c.getCheckpoint());
    }

    @Test
    public void testTheReadEveryBufferedOperationWaitsForIsKeptWhateverTheBudget() {
        Recording c = new Recording(budgets().maxOutstandingReadRequests(2).build());
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(101, 0), pos(200, 0), 10)); // full: ranges of a second
        Recording.Read first = c.reads.poll();
        Recording.Read second = c.reads.poll();
        assertEquals(pos(101, 0), first.request().fromExclusive());
        assertTrue("the read at the watermark brings its first entry whatever the node's budget", first.request().essential());
        assertFalse(second.request().essential());
        // the second range answers first: its operations wait in the buffer for the first range, holding the budget
        second.onResponse().accept(response(List.of(TestOp.put(102, 5, "b", "1")), second.request().toInclusive(), pos(200, 0), 1));
        assertEquals(1, c.bufferedOperations());
        c.memoryLimit = c.memoryUsed; // nothing more fits
        first.onResponse().accept(response(List.of(TestOp.put(101, 5, "a", "1")), first.request().toInclusive(), pos(200, 0), 1));
        assertEquals("kept over the budget: refusing it would stall", 20, c.memoryUsed);
        assertEquals(List.of("a", "b"), ids(c.writes.poll().ops()));
    }

    @Test
    public void testAStoppedCoordinatorKeepsOnlyItsWritesInFlightCharged() {
        FollowBudgets b = budgets().maxOutstandingWriteRequests(1).maxWriteRequestOperationCount(1).build();
        Recording c = caughtUp(b, pos(10, 0));
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(11, 1, "a", "1"), TestOp.put(11, 2, "b", "1"),
            TestOp.put(11, 3, "c", "1")), pos(12, 0), pos(12, 0), 3));
        assertEquals(30, c.memoryUsed);
        assertEquals(1, c.writes.size());
        c.stop();
        assertEquals("the buffer is given back, the write in flight is not", 10, c.memoryUsed);
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(0, c.memoryUsed);
        assertEquals(0, c.reservedBytes());
    }

    @Test
    public void testTheWatchdogSendsALostReadAgainAndDropsItsLateAnswer() {
        Recording c = caughtUp(budgets().build(), pos(10, 0));
        Recording.Read lost = c.reads.poll();
        assertTrue(lost.request().isTail());
        c.nanos += lost.request().pollTimeout().nanos();
        c.checkStalled();
        assertTrue("not yet: within its poll timeout and the grace", c.scheduled.isEmpty());
        c.nanos += ShardFollowCoordinator.STALL_GRACE.nanos() + 1;
        c.checkStalled();
        assertEquals(1, c.scheduled.size());
        ShardFollowStatus.ReadException exception = c.getStatus().readExceptions().get(0);
        assertEquals("timeout_exception", exception.exception().type());
        assertTrue(exception.exception().reason(), exception.exception().reason().contains("no answer to [read (" + pos(10, 0)));
        c.scheduled.poll().task().run();
        Recording.Read again = c.reads.poll();
        assertEquals(lost.request(), again.request());
        assertEquals(1, c.outstandingReads());
        // the lost read answers after all: dropped, nothing is counted twice
        lost.onResponse().accept(response(List.of(TestOp.put(11, 1, "a", "1")), pos(12, 0), pos(12, 0), 1));
        assertEquals(0, c.bufferedOperations());
        assertEquals(1, c.outstandingReads());
        again.onResponse().accept(response(List.of(TestOp.put(11, 1, "a", "1")), pos(12, 0), pos(12, 0), 1));
        assertEquals(1, c.writes.size());
        assertEquals(1, c.outstandingReads()); // the next tail read
    }

    @Test
    public void testTheWatchdogSendsALostWriteAgain() {
        Recording c = caughtUp(budgets().build(), pos(10, 0), TestOp.put(10, 0, "a", "1"));
        Recording.Write lost = c.writes.poll();
        c.nanos += ShardFollowCoordinator.STALL_GRACE.nanos() + 1;
        c.checkStalled();
        c.scheduled.poll().task().run();
        Recording.Write again = c.writes.poll();
        assertEquals(lost.ops(), again.ops());
        lost.onSuccess().accept(WriteResponse.OK); // late: dropped
        assertEquals(1, c.outstandingWrites());
        again.onSuccess().accept(WriteResponse.OK);
        assertEquals(0, c.outstandingWrites());
        assertEquals(1, c.getStatus().operationsWritten());
    }

    @Test
    public void testTheWatchdogLeavesADropSweepBe() {
        Recording c = caughtUp(budgets().build(), pos(10, 0), TestOp.barrier(10, 0));
        Recording.Write sweep = c.writes.poll();
        c.nanos += ShardFollowCoordinator.STALL_GRACE.nanos() * 100;
        c.checkStalled(); // (the tail read is sent again)
        while (c.scheduled.isEmpty() == false) {
            c.scheduled.poll().task().run();
        }
        assertTrue("a barrier (a drop's sweep of the shard) may take as long as the shard is large", c.writes.isEmpty());
        assertEquals(1, c.outstandingWrites());
        sweep.onSuccess().accept(WriteResponse.OK);
        assertEquals(0, c.outstandingWrites());
    }

    @Test
    public void testAStoppedCoordinatorsWatchdogGivesBackTheMemoryOfALostWrite() {
        Recording c = caughtUp(budgets().build(), pos(10, 0), TestOp.put(10, 0, "a", "1"));
        assertEquals(10, c.memoryUsed);
        c.stop();
        assertEquals("the write in flight stays charged", 10, c.memoryUsed);
        assertTrue(c.hasOutstandingRequests());
        c.nanos += TimeValue.timeValueMinutes(1).nanos() + ShardFollowCoordinator.STALL_GRACE.nanos() + 1; // the tail's too
        c.checkStalled();
        assertEquals(0, c.memoryUsed);
        assertFalse(c.hasOutstandingRequests());
    }

    @Test
    public void testBufferCountLimitPausesReads() {
        FollowBudgets b = budgets().maxWriteBufferCount(2).maxOutstandingWriteRequests(1).maxWriteRequestOperationCount(1).build();
        Recording c = caughtUp(b, pos(10, 0));
        Recording.Read tail = c.reads.poll();
        tail.onResponse()
            .accept(response(List.of(TestOp.put(11, 1, "a", "1"), TestOp.put(11, 2, "b", "1"), TestOp.put(11, 3, "c", "1"),
                TestOp.put(11, 4, "d", "1")), pos(12, 0), pos(12, 0), 4));
        assertEquals(1, c.writes.size());
        assertEquals(3, c.bufferedOperations());
        assertTrue(c.reads.isEmpty()); // buffer over its count: no read, not even the tail read
        assertFalse(c.hasReadBudget());
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(2, c.bufferedOperations());
        assertTrue(c.reads.isEmpty());
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(1, c.bufferedOperations());
        assertEquals(1, c.reads.size());
        assertTrue(c.reads.peek().request().isTail());
    }

    @Test
    public void testBufferSizeLimitPausesReadsAndDefersFollowUps() {
        FollowBudgets b = budgets().maxWriteBufferSize(ByteSizeValue.ofBytes(100)).maxOutstandingReadRequests(2).build();
        Recording c = new Recording(b);
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(101, 0), pos(200, 0), 10));
        Recording.Read first = c.reads.poll();
        Recording.Read second = c.reads.poll();
        assertEquals(pos(102, 0), second.request().fromExclusive());
        // the second range comes back full first: its operations wait above the read watermark and fill the buffer
        second.onResponse()
            .accept(response(List.of(TestOp.put(102, 5, 0, "a", 60), TestOp.put(102, 6, 0, "b", 60)), pos(102, 6), pos(200, 0), 10));
        assertEquals(2, c.bufferedOperations());
        assertTrue(c.writes.isEmpty());
        assertTrue("its follow-up waits for room in the buffer", c.reads.isEmpty());
        assertEquals(1, c.outstandingReads());
        // the first range completes: the operations are written, the buffer empties, the follow-up goes first
        first.onResponse().accept(response(List.of(), pos(102, 0), pos(200, 0), 3));
        assertEquals(pos(102, 6), c.readWatermark());
        assertEquals(List.of("a", "b"), ids(c.writes.poll().ops()));
        assertEquals(2, c.reads.size());
        assertEquals(pos(102, 6), c.reads.peek().request().fromExclusive());
        assertEquals(pos(103, 0), c.reads.peek().request().toInclusive());
    }

    @Test
    public void testWritesOnlyBelowTheReadWatermark() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(100, 1, "a", "1")), pos(101, 0), pos(200, 0), 10));
        assertEquals(List.of("a"), ids(c.writes.poll().ops()));
        Recording.Read r1 = c.reads.poll();
        Recording.Read r2 = c.reads.poll();
        r2.onResponse().accept(response(List.of(TestOp.put(102, 3, "b", "1")), pos(103, 0), pos(200, 0), 1));
        assertTrue(c.writes.isEmpty());
        r1.onResponse().accept(response(List.of(TestOp.put(101, 3, "c", "1")), pos(102, 0), pos(200, 0), 1));
        assertEquals(List.of("c", "b"), ids(c.writes.poll().ops()));
    }

    @Test
    public void testWriteBatchCountAndSizeLimits() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(3)
            .maxWriteRequestSize(ByteSizeValue.ofBytes(100))
            .maxOutstandingWriteRequests(10)
            .build();
        Recording c = caughtUp(b, pos(20, 0),
            TestOp.put(11, 0, 0, "a", 10), TestOp.put(11, 1, 0, "b", 10), TestOp.put(11, 2, 0, "c", 10), // count limit
            TestOp.put(12, 0, 0, "d", 50), TestOp.put(12, 1, 0, "e", 40), TestOp.put(12, 2, 0, "f", 20), // size limit
            TestOp.put(13, 0, 0, "g", 500), // bigger than a request: alone
            TestOp.put(14, 0, 0, "h", 10));
        List<List<String>> batches = c.writes.stream().map(w -> ids(w.ops())).toList();
        assertEquals(List.of(List.of("a", "b", "c"), List.of("d", "e"), List.of("f"), List.of("g"), List.of("h")), batches);
    }

    @Test
    public void testBatchLimitDoesNotSplitOneDocumentsOperationsOfOneTransaction() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(2).maxOutstandingWriteRequests(5).build();
        Recording c = caughtUp(b, pos(20, 0),
            TestOp.put(15, 1, 0, "a", 10), TestOp.put(15, 1, 1, "b", 10), TestOp.put(15, 1, 2, "a", 10),
            TestOp.put(16, 1, 0, "c", 10), TestOp.put(16, 1, 1, "c", 10), TestOp.put(16, 1, 2, "c", 10));
        // [a, b] would split a's two operations of 15:1: a waits for the next batch; c's three cannot fit any batch
        assertEquals(List.of(List.of("b"), List.of("a", "a"), List.of("c", "c")), c.writes.stream().map(w -> ids(w.ops())).toList());
        c.writes.pollLast().onSuccess().accept(WriteResponse.OK);
        assertEquals(List.of("c"), ids(c.writes.pollLast().ops()));
    }

    @Test
    public void testOutstandingWriteBudget() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(1).maxOutstandingWriteRequests(2).build();
        Recording c = caughtUp(b, pos(20, 0), TestOp.put(11, 0, "a", "1"), TestOp.put(12, 0, "b", "1"), TestOp.put(13, 0, "c", "1"));
        assertEquals(2, c.writes.size());
        assertFalse(c.hasWriteBudget());
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        assertEquals(2, c.writes.size());
        assertEquals(List.of("c"), ids(c.writes.peekLast().ops()));
    }

    @Test
    public void testSameDocumentNeverInTwoBatchesInFlight() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(2).maxOutstandingWriteRequests(5).build();
        Recording c = caughtUp(b, pos(20, 0),
            TestOp.put(11, 0, "a", "1"), TestOp.put(11, 1, "b", "1"), TestOp.put(11, 2, "a", "2"), TestOp.put(11, 3, "c", "1"),
            TestOp.put(11, 4, "a", "3"), TestOp.put(11, 5, "d", "1"));
        // [a, b] in flight; a's later operations wait, c and d pass them (no other document's order changes)
        assertEquals(List.of(List.of("a", "b"), List.of("c", "d")), c.writes.stream().map(w -> ids(w.ops())).toList());
        assertEquals(2, c.bufferedOperations());
        c.writes.poll().onSuccess().accept(WriteResponse.OK);
        // both remaining operations of a go together, in their order
        Recording.Write w = c.writes.pollLast();
        assertEquals(List.of("a", "a"), ids(w.ops()));
        assertEquals(List.of("2", "3"), w.ops().stream().map(TestOp::value).toList());
    }

    @Test
    public void testBarrierIsWrittenAloneAndNothingPassesIt() {
        FollowBudgets b = budgets().maxOutstandingWriteRequests(5).build();
        Recording c = caughtUp(b, pos(20, 0), TestOp.put(11, 0, "a", "1"));
        Recording.Write first = c.writes.poll();
        c.reads.poll().onResponse()
            .accept(response(List.of(TestOp.barrier(21, 0), TestOp.put(21, 1, "b", "1")), pos(22, 0), pos(22, 0), 2));
        assertTrue("the barrier waits for the batch in flight, and b waits behind it", c.writes.isEmpty());
        first.onSuccess().accept(WriteResponse.OK);
        Recording.Write barrier = c.writes.poll();
        assertEquals(List.of("*"), ids(barrier.ops()));
        assertTrue("nothing goes while a barrier is in flight", c.writes.isEmpty());
        assertFalse(c.hasWriteBudget());
        barrier.onSuccess().accept(WriteResponse.OK);
        assertEquals(List.of("b"), ids(c.writes.poll().ops()));
    }

    @Test
    public void testCheckpointNeverPassesAnUnappliedOperationSharingAPosition() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(1).maxOutstandingWriteRequests(5).build();
        Recording c = caughtUp(b, pos(20, 0), TestOp.put(15, 3, 0, "a", 10), TestOp.put(15, 3, 1, "b", 10),
            TestOp.put(16, 0, 0, "c", 10));
        assertEquals(3, c.writes.size());
        assertEquals("just below the first unapplied operation", pos(15, 2), c.getCheckpoint());
        Recording.Write a = c.writes.poll();
        Recording.Write bWrite = c.writes.poll();
        Recording.Write cWrite = c.writes.poll();
        bWrite.onSuccess().accept(WriteResponse.OK);
        cWrite.onSuccess().accept(WriteResponse.OK);
        assertEquals("b and c applied, a of the same transaction not yet", pos(15, 2), c.getCheckpoint());
        a.onSuccess().accept(WriteResponse.OK);
        assertEquals(pos(20, 0), c.getCheckpoint());
        assertEquals(List.of(pos(15, 2), pos(20, 0)), c.persisted);
    }

    @Test
    public void testCheckpointStopsAtAnUnreadRange() {
        Recording c = new Recording(budgets().build());
        c.start(pos(100, 0), pos(200, 0));
        c.reads.poll().onResponse().accept(response(List.of(), pos(101, 0), pos(200, 0), 10));
        assertEquals(pos(101, 0), c.getCheckpoint());
        Recording.Read r1 = c.reads.poll();
        Recording.Read r2 = c.reads.poll();
        r2.onResponse().accept(response(List.of(), pos(103, 0), pos(200, 0), 2));
        assertEquals(pos(101, 0), c.getCheckpoint());
        r1.onResponse().accept(response(List.of(), pos(102, 0), pos(200, 0), 2));
        assertEquals(pos(103, 0), c.getCheckpoint());
    }

    @Test
    public void testCheckpointAdvancesWithTheHeadWhileIdle() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), null);
        for (int s = 11; s < 15; s++) {
            Recording.Read tail = c.reads.poll();
            assertTrue(tail.request().isTail());
            // other collections are busy: the majority commit point moves, nothing for this shard
            tail.onResponse().accept(new ReadResponse<>(List.of(), pos(s, 0), pos(s, 0), 0, 0, 0));
            assertEquals(pos(s, 0), c.getCheckpoint());
        }
        assertEquals(List.of(pos(11, 0), pos(12, 0), pos(13, 0), pos(14, 0)), c.persisted);
        assertEquals(0, c.getStatus().lagMillis());
    }

    @Test
    public void testReadRetriesTheSameRequestWithBackoffCappedByMaxRetryDelay() {
        Recording c = new Recording(budgets().maxRetryDelay(TimeValue.timeValueMillis(300)).build());
        c.start(pos(10, 0), pos(20, 0));
        Recording.Read read = c.reads.poll();
        List<Long> delays = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            read.onFailure().accept(new TransientException("connection reset " + i));
            ShardFollowStatus status = c.getStatus();
            assertEquals(1, status.readExceptions().size());
            assertEquals(pos(10, 0), status.readExceptions().get(0).fromPosition());
            assertEquals(i, status.readExceptions().get(0).retries());
            assertEquals("connection reset " + i, status.readExceptions().get(0).exception().reason());
            assertEquals(i, status.failedReadRequests());
            assertEquals(1, status.outstandingReadRequests());
            Recording.Scheduled retry = c.scheduled.poll();
            delays.add(retry.delay().millis());
            assertTrue(c.reads.isEmpty());
            retry.task().run();
            Recording.Read again = c.reads.poll();
            assertEquals(read.request(), again.request());
            read = again;
        }
        assertEquals(List.of(50L, 100L, 200L, 300L, 300L, 300L), delays);
        read.onResponse().accept(response(List.of(), pos(20, 0), pos(20, 0), 1));
        assertTrue(c.getStatus().readExceptions().isEmpty());
        assertNull(c.getFatalException());
    }

    @Test
    public void testRetryDelayIsJitteredWithinTheUpperHalf() {
        Recording c = new Recording(budgets().build()) {
            @Override
            protected long randomJitter(long bound) {
                return 0;
            }
        };
        assertEquals(25, c.retryDelay(1).millis());
        assertEquals(250, c.retryDelay(20).millis());
        assertEquals(250, c.retryDelay(Integer.MAX_VALUE).millis());
    }

    @Test
    public void testWriteRetriesTheSameBatch() {
        Recording c = caughtUp(budgets().build(), pos(20, 0), TestOp.put(11, 0, "a", "1"));
        Recording.Write w = c.writes.poll();
        w.onFailure().accept(new TransientException("rejected execution"));
        assertEquals(1, c.getStatus().failedWriteRequests());
        assertEquals(1, c.outstandingWrites());
        assertTrue(c.writes.isEmpty());
        c.scheduled.poll().task().run();
        Recording.Write again = c.writes.poll();
        assertEquals(w.ops(), again.ops());
        again.onSuccess().accept(new WriteResponse(1));
        ShardFollowStatus status = c.getStatus();
        assertEquals(1, status.successfulWriteRequests());
        assertEquals(1, status.operationsWritten());
        assertEquals(1, status.documentsRejected());
        assertEquals(pos(20, 0), status.checkpoint());
    }

    @Test
    public void testFatalReadFailureStopsAndKeepsTheCheckpoint() {
        Recording c = caughtUp(budgets().build(), pos(20, 0), TestOp.put(11, 0, "a", "1"));
        Recording.Write inFlight = c.writes.poll();
        Recording.Read tail = c.reads.poll();
        tail.onFailure().accept(new IllegalStateException("oplog history lost"));
        assertTrue(c.isStopped());
        assertEquals("oplog history lost", c.getFatalException().getMessage());
        ShardFollowStatus status = c.getStatus();
        assertEquals("failed", status.status());
        assertEquals("illegal_state_exception", status.fatalException().type());
        assertEquals("oplog history lost", status.fatalException().reason());
        assertEquals(pos(11, 0).key() - 1, status.checkpoint().key());
        // the write in flight completes: accounted, the checkpoint moves, nothing new is sent
        inFlight.onSuccess().accept(WriteResponse.OK);
        assertEquals(pos(20, 0), c.getCheckpoint());
        assertTrue(c.reads.isEmpty());
        assertTrue(c.writes.isEmpty());
        assertTrue(c.scheduled.isEmpty());
    }

    @Test
    public void testFatalWriteFailureKeepsTheBatchBelowTheCheckpoint() {
        FollowBudgets b = budgets().maxWriteRequestOperationCount(1).build();
        Recording c = caughtUp(b, pos(20, 0), TestOp.put(11, 0, "a", "1"), TestOp.put(12, 0, "b", "1"));
        Recording.Write a = c.writes.poll();
        Recording.Write bWrite = c.writes.poll();
        a.onFailure().accept(new IllegalArgumentException("mapper_parsing_exception"));
        assertTrue(c.isStopped());
        bWrite.onSuccess().accept(WriteResponse.OK);
        assertEquals(pos(11, 0).key() - 1, c.getCheckpoint().key());
        // responses to reads sent before the failure are accounted, nothing new goes out
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(21, 0, "c", "1")), pos(22, 0), pos(22, 0), 1));
        assertTrue(c.reads.isEmpty());
        assertTrue(c.writes.isEmpty());
        assertEquals(2, c.getStatus().writeBufferOperationCount());
    }

    @Test
    public void testRetryAfterStopSendsNothing() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), pos(20, 0));
        c.reads.poll().onFailure().accept(new TransientException("timeout"));
        c.stop();
        c.scheduled.poll().task().run();
        assertTrue(c.reads.isEmpty());
        assertEquals(0, c.outstandingReads());
        assertEquals("stopped", c.getStatus().status());
    }

    @Test
    public void testStopSendsNothingNew() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), pos(20, 0));
        c.stop();
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(11, 0, "a", "1")), pos(20, 0), pos(30, 0), 1));
        assertTrue(c.reads.isEmpty());
        assertTrue(c.writes.isEmpty());
        assertEquals(1, c.getStatus().operationsRead());
        assertEquals(pos(30, 0), c.getStatus().sourceHeadPosition());
    }

    @Test
    public void testInvalidResponseIsFatal() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), pos(20, 0));
        c.reads.poll().onResponse().accept(response(List.of(TestOp.put(25, 0, "a", "1")), pos(20, 0), pos(30, 0), 1));
        assertTrue(c.isStopped());
        assertNotNull(c.getFatalException());
        assertTrue(c.getFatalException().getMessage(), c.getFatalException().getMessage().contains("outside"));
        assertEquals(pos(10, 0), c.getCheckpoint());
    }

    @Test
    public void testSynchronousCallbacksDoNotRecurseWithoutBound() {
        // a sink that answers every write at once, a source that answers range reads at once
        final int[] depth = {0, 0};
        ShardFollowCoordinator<TestOp> c = new Recording(budgets().maxWriteRequestOperationCount(1).build()) {
            @Override
            protected void innerSendWriteRequest(List<TestOp> ops, Consumer<WriteResponse> ok, Consumer<Exception> fail) {
                depth[0]++;
                depth[1] = Math.max(depth[1], Thread.currentThread().getStackTrace().length);
                ok.accept(WriteResponse.OK);
            }
        };
        List<TestOp> ops = new ArrayList<>();
        for (int i = 1; i <= 2000; i++) {
            ops.add(TestOp.put(11, i, "d" + i, "1"));
        }
        Recording r = (Recording) c;
        r.start(pos(10, 0), pos(12, 0));
        r.reads.poll().onResponse().accept(response(ops, pos(12, 0), pos(12, 0), 5));
        assertEquals(2000, depth[0]);
        assertTrue("stack depth " + depth[1], depth[1] < 200);
        assertEquals(pos(12, 0), c.getCheckpoint());
        assertSame(c.getStatus().checkpoint(), c.getCheckpoint());
    }

    @Test
    public void testStatusCounters() {
        Recording c = new Recording(budgets().build());
        c.start(pos(10, 0), pos(20, 0));
        Recording.Read read = c.reads.poll();
        c.nanos = 3_000_000;
        read.onResponse().accept(new ReadResponse<>(List.of(TestOp.put(11, 0, "a", "1")), pos(20, 0), pos(30, 0), 4, 3, 900));
        c.nanos = 8_000_000;
        ShardFollowStatus status = c.getStatus("paused");
        assertEquals("paused", status.status());
        assertEquals("follower", status.index());
        assertEquals(1, status.successfulReadRequests());
        assertEquals(1, status.operationsRead());
        assertEquals(3, status.operationsSkipped());
        assertEquals(900, status.bytesRead());
        assertEquals(3, status.totalReadTimeMillis());
        assertEquals(5, status.timeSinceLastReadMillis());
        assertEquals(pos(30, 0), status.sourceHeadPosition());
        assertEquals(1, status.outstandingWriteRequests());
        assertEquals(0, status.writeBufferOperationCount());
        assertEquals(20_000, status.lagMillis()); // head 30:0, checkpoint just below 11:0
    }
}

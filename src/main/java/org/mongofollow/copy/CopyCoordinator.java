package org.mongofollow.copy;

import org.bson.BsonValue;
import org.elasticsearch.core.TimeValue;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.task.RetryScheduling;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The coordinator of a follow's copy: a state machine that decides which {@code _id} ranges to read, which batches to write
 * and how far each range's stored progress may go, with every side effect cut out into an abstract {@code inner*} method,
 * as {@link org.mongofollow.task.ShardFollowCoordinator} is for the oplog. {@link CopyNodeTask} subclasses it with MongoDB
 * reads and follower shard writes; the tests with a simulated collection and simulated shards.
 *
 * <h2>Reads</h2>
 * Up to {@link Limits#maxActiveRanges} ranges are read at a time, in plan order, each by one read at a time of at most
 * {@link Limits#batchSize} documents after the last {@code _id} read ({@link CopyState.Range#last} once the batch before is
 * read, so a range's batches follow each other in {@code _id} order). A range whose last read returned fewer documents than
 * asked has been read to its end and gives its slot to the next range, while its batches are still written. No read goes
 * out while shard writes wait for as many write slots as there are, nor while the batches read and not yet written hold
 * {@link Limits#maxBufferBytes} bytes, unless nothing is buffered: reads run ahead of the writes by about one round of
 * writes, so the copy holds little more than what it writes.
 * Every batch's bytes are charged to the node's memory budget ({@link #innerReserveMemory}) when it arrives, and given back
 * once it is written; a batch the budget refuses is dropped and read again later, in half as many documents.
 *
 * <h2>Writes</h2>
 * A batch is written as one request per follower shard it touches; up to {@link Limits#maxOutstandingWrites} requests are
 * out at a time, oldest batch first. Batches of one range may be written at once, and in any order: their documents differ
 * and all carry the copy's version.
 *
 * <h2>Progress</h2>
 * A range's progress (its last {@code _id} and count, {@link CopyState.Range}) advances over a batch once it and every
 * earlier batch of the range are written, so the stored progress never passes a document that is not in the index, and a
 * copy that starts again from it reads again at most the batches that were in flight. Every advance is reported through
 * {@link #innerProgress}. When every range is done, {@link #innerCompleted} is called once.
 *
 * <h2>Failures</h2>
 * {@link #shouldRetry} decides. A retryable failure sends the same read (after the same {@code _id}) or the same shard write
 * again after a jittered exponential backoff capped by {@link Limits#maxRetryDelayMillis}; any other failure stops the
 * coordinator and is reported once through {@link #innerFailed}. Once stopped, nothing new is sent; writes in flight are
 * still accounted.
 *
 * <h2>Threads</h2>
 * Every transition holds this object's monitor. Callbacks may come from any thread, also synchronously from inside an
 * {@code inner*} call. The {@code inner*} methods and {@link #schedule} are called while holding the monitor: they must hand
 * their work off and never block.
 *
 * @param <W> one follower shard's part of a batch, as the ES layer writes it
 */
public abstract class CopyCoordinator<W> {

    /**
     * The budgets of a copy.
     *
     * @param maxActiveRanges      ranges read at a time ({@code initial_copy_max_concurrent_ranges})
     * @param batchSize            documents per read ({@code initial_copy_batch_size})
     * @param maxOutstandingWrites shard write requests in flight ({@code max_outstanding_write_requests})
     * @param maxBufferBytes       bytes read and not yet written above which no read goes out ({@code max_write_buffer_size})
     * @param maxRetryDelayMillis  the longest wait before a retry ({@code max_retry_delay})
     */
    public record Limits(int maxActiveRanges, int batchSize, int maxOutstandingWrites, long maxBufferBytes, long maxRetryDelayMillis) {
        public Limits {
            if (maxActiveRanges < 1 || batchSize < 1 || maxOutstandingWrites < 1 || maxBufferBytes < 1 || maxRetryDelayMillis < 0) {
                throw new IllegalArgumentException("invalid copy limits " + this);
            }
        }
    }

    /**
     * One read of a range: the documents after {@code after} ({@code null}: from the range's lower bound, inclusive) and
     * below its upper bound, in {@code _id} order, at most {@code limit}.
     */
    public record Read(int range, CopyState.Range bounds, BsonValue after, int limit) {}

    /**
     * What a read returned: the number of documents and the last one's {@code _id} (null when none), their size, and the
     * writes they make per follower shard (documents that cannot be indexed are the ES layer's to turn into dead letters
     * inside a shard's write).
     */
    public record Batch<W>(int documents, BsonValue last, long bytes, Map<Integer, W> writes) {}

    private final Limits limits;
    private final List<RangeState> ranges;
    private final List<RangeState> reading = new ArrayList<>();
    private int nextToActivate;
    private final Deque<ShardWrite> pendingWrites = new ArrayDeque<>();
    private int outstandingWrites;
    /** Bytes of the batches read and not yet written, all charged to the node's memory budget. */
    private long reservedBytes;

    private boolean started;
    private boolean stopped;
    private boolean completed;
    private Exception fatalException;
    private boolean coordinating;
    private boolean coordinateAgain;

    // stats of this run
    private long documentsRead;
    private long documentsRejected;
    private long readNanos;
    private long writeNanos;

    /** @param ranges the planned ranges with their stored progress (done ones are skipped) */
    protected CopyCoordinator(Limits limits, List<CopyState.Range> ranges) {
        this.limits = limits;
        this.ranges = new ArrayList<>(ranges.size());
        for (int i = 0; i < ranges.size(); i++) {
            this.ranges.add(new RangeState(i, ranges.get(i), limits.batchSize()));
        }
    }

    // ------------------------------------------------------------------------------------------------------------------
    // I/O, implemented by the ES layer (and by the tests)

    /** Reads a batch. Exactly one of the callbacks is called, once, from any thread (also synchronously). */
    protected abstract void innerRead(Read read, Consumer<Batch<W>> onSuccess, Consumer<Exception> onFailure);

    /**
     * Writes one follower shard's part of a batch, and the dead letters of its documents that could not be indexed.
     * Exactly one of the callbacks is called, once, from any thread; on success with the number of documents sent to the
     * dead-letter index. A failed write may have been applied in part; it is sent again whole.
     */
    protected abstract void innerWrite(int shard, W write, Consumer<Integer> onSuccess, Consumer<Exception> onFailure);

    /** A range's stored progress advanced (the ES layer stores the copy's progress, rate-limited). */
    protected abstract void innerProgress();

    /** Every range is done. Called once. */
    protected abstract void innerCompleted();

    /** A failure that is not worth retrying stopped the copy. Called once. */
    protected abstract void innerFailed(Exception e);

    /**
     * Charges {@code bytes} of a batch that arrived to the node's memory budget, or throws when the budget is spent (the
     * batch is then read again later). {@code force}: charge without failing (nothing else is buffered).
     */
    protected abstract void innerReserveMemory(long bytes, boolean force);

    /** Gives back bytes reserved with {@link #innerReserveMemory}. */
    protected abstract void innerReleaseMemory(long bytes);

    /** Runs {@code task} after {@code delay} (retries). */
    protected abstract void schedule(TimeValue delay, Runnable task);

    /** Whether a failed request is worth sending again; every other failure stops the coordinator. */
    protected abstract boolean shouldRetry(Exception e);

    /** A monotonic clock for durations. */
    protected abstract long relativeTimeNanos();

    /** A uniformly random value in {@code [0, bound)}, for retry jitter; tests override it to be deterministic. */
    protected long randomJitter(long bound) {
        return bound <= 0 ? 0 : ThreadLocalRandom.current().nextLong(bound);
    }

    // ------------------------------------------------------------------------------------------------------------------
    // life cycle and state

    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("the copy coordinator is already started");
        }
        started = true;
        coordinate();
    }

    /** Sends nothing more; writes in flight are still accounted, every other byte is given back now. */
    public synchronized void stop() {
        stopped = true;
        pendingWrites.clear();
        releaseUnwrittenOnceStopped();
    }

    public synchronized boolean isStopped() {
        return stopped;
    }

    public synchronized boolean isCompleted() {
        return completed;
    }

    public synchronized Exception getFatalException() {
        return fatalException;
    }

    /** The ranges with their progress: what the ES layer stores. */
    public synchronized List<CopyState.Range> progress() {
        List<CopyState.Range> progress = new ArrayList<>(ranges.size());
        for (RangeState range : ranges) {
            progress.add(range.stored);
        }
        return progress;
    }

    /** Documents read by this run. */
    public synchronized long documentsRead() {
        return documentsRead;
    }

    /** Documents of this run's written batches sent to the dead-letter index (counted with their range's progress). */
    public synchronized long documentsRejected() {
        return documentsRejected;
    }

    /** Time spent in reads and writes of this run, summed over the requests in flight. */
    public synchronized long readNanos() {
        return readNanos;
    }

    public synchronized long writeNanos() {
        return writeNanos;
    }

    /** Bytes charged to the node's memory budget: batches read and not yet written. */
    public synchronized long reservedBytes() {
        return reservedBytes;
    }

    synchronized int outstandingWrites() {
        return outstandingWrites;
    }

    synchronized int writesWaiting() {
        return pendingWrites.size();
    }

    synchronized int rangesReading() {
        return reading.size();
    }

    // ------------------------------------------------------------------------------------------------------------------
    // coordination

    /** Runs the coordination loop; a call from inside it (a synchronous callback) makes the loop go round once more. */
    private void coordinate() {
        if (coordinating) {
            coordinateAgain = true;
            return;
        }
        coordinating = true;
        try {
            do {
                coordinateAgain = false;
                step();
            } while (coordinateAgain);
        } finally {
            coordinating = false;
        }
    }

    private void step() {
        if (stopped || started == false) {
            return;
        }
        while (reading.size() < limits.maxActiveRanges() && nextToActivate < ranges.size()) {
            RangeState range = ranges.get(nextToActivate++);
            if (range.stored.done() == false) {
                reading.add(range);
            }
        }
        for (RangeState range : List.copyOf(reading)) {
            if (range.readOutstanding || range.waitingForRetry) {
                continue;
            }
            if (readAheadFull()) {
                break;
            }
            sendRead(range);
        }
        while (stopped == false && outstandingWrites < limits.maxOutstandingWrites() && pendingWrites.isEmpty() == false) {
            sendWrite(pendingWrites.poll());
        }
        if (completed == false && stopped == false && allDone()) {
            completed = true;
            innerCompleted();
        }
    }

    /**
     * Whether reads wait for writes: a write slot's worth of shard writes already waits for every slot (reading more would
     * only hold more memory), or the batches buffered reach the byte budget. With nothing buffered a read always goes out.
     */
    private boolean readAheadFull() {
        return reservedBytes > 0 && (pendingWrites.size() >= limits.maxOutstandingWrites() || reservedBytes >= limits.maxBufferBytes());
    }

    private boolean allDone() {
        for (RangeState range : ranges) {
            if (range.stored.done() == false) {
                return false;
            }
        }
        return true;
    }

    private void sendRead(RangeState range) {
        range.readOutstanding = true;
        Read read = new Read(range.index, range.stored, range.readAfter, range.limit);
        long start = relativeTimeNanos();
        innerRead(read, batch -> handleRead(range, read, start, batch), e -> handleReadFailure(range, e));
    }

    private synchronized void handleRead(RangeState range, Read read, long startNanos, Batch<W> batch) {
        range.readOutstanding = false;
        if (batch.documents() > read.limit() || (batch.documents() > 0) != (batch.last() != null)) {
            markFatal(new IllegalStateException("invalid batch for " + read + ": " + batch.documents() + " documents, last " + batch.last()));
            return;
        }
        if (stopped) {
            return;
        }
        if (batch.bytes() > 0) {
            try {
                innerReserveMemory(batch.bytes(), reservedBytes == 0);
            } catch (RuntimeException e) {
                // the node's budget is spent: read this again later, and less of it at a time
                range.limit = Math.max(1, range.limit / 2);
                handleReadFailure(range, e);
                return;
            }
            reservedBytes += batch.bytes();
        }
        readNanos += Math.max(0, relativeTimeNanos() - startNanos);
        documentsRead += batch.documents();
        range.readRetries = 0;
        range.limit = Math.min(limits.batchSize(), range.limit * 2);
        boolean last = batch.documents() < read.limit();
        if (batch.last() != null) {
            range.readAfter = batch.last();
        }
        if (last) {
            reading.remove(range);
        }
        PendingBatch pending = new PendingBatch(range, batch, last);
        range.batches.addLast(pending);
        for (Map.Entry<Integer, W> write : batch.writes().entrySet()) {
            pending.writesLeft++;
            pendingWrites.addLast(new ShardWrite(pending, write.getKey(), write.getValue()));
        }
        if (pending.writesLeft == 0) {
            advance(range);
        }
        coordinate();
    }

    private synchronized void handleReadFailure(RangeState range, Exception e) {
        range.readOutstanding = false;
        if (stopped) {
            return;
        }
        if (shouldRetry(e) == false) {
            markFatal(e);
            return;
        }
        int retry = ++range.readRetries;
        range.waitingForRetry = true;
        schedule(retryDelay(retry), () -> {
            synchronized (CopyCoordinator.this) {
                range.waitingForRetry = false;
                coordinate();
            }
        });
    }

    private void sendWrite(ShardWrite write) {
        outstandingWrites++;
        write.batch.writesInFlight++;
        long start = relativeTimeNanos();
        innerWrite(write.shard, write.write, letters -> handleWritten(write, start, letters), e -> handleWriteFailure(write, e));
    }

    private synchronized void handleWritten(ShardWrite write, long startNanos, int letters) {
        outstandingWrites--;
        writeNanos += Math.max(0, relativeTimeNanos() - startNanos);
        PendingBatch batch = write.batch;
        batch.writesInFlight--;
        batch.writesLeft--;
        batch.letters += letters;
        if (batch.writesLeft == 0) {
            advance(batch.range);
        }
        releaseUnwrittenOnceStopped();
        coordinate();
    }

    private synchronized void handleWriteFailure(ShardWrite write, Exception e) {
        outstandingWrites--;
        write.batch.writesInFlight--;
        if (stopped) {
            releaseUnwrittenOnceStopped();
            return;
        }
        if (shouldRetry(e) == false) {
            markFatal(e);
            return;
        }
        int retry = ++write.retries;
        schedule(retryDelay(retry), () -> {
            synchronized (CopyCoordinator.this) {
                if (stopped == false) {
                    pendingWrites.addFirst(write);
                    coordinate();
                }
            }
        });
    }

    /** Advances a range over its written batches, oldest first, up to the first one not written yet. */
    private void advance(RangeState range) {
        boolean advanced = false;
        while (range.batches.isEmpty() == false && range.batches.peekFirst().writesLeft == 0) {
            PendingBatch batch = range.batches.pollFirst();
            range.stored = range.stored.advance(batch.batch.last(), batch.batch.documents(), batch.last);
            documentsRejected += batch.letters;
            release(batch);
            advanced = true;
        }
        if (advanced) {
            innerProgress();
        }
    }

    private void release(PendingBatch batch) {
        if (batch.released == false) {
            batch.released = true;
            reservedBytes -= batch.batch.bytes();
            innerReleaseMemory(batch.batch.bytes());
        }
    }

    /** A stopped coordinator writes nothing more: it keeps only the bytes of batches with writes in flight charged. */
    private void releaseUnwrittenOnceStopped() {
        if (stopped == false) {
            return;
        }
        for (RangeState range : ranges) {
            for (PendingBatch batch : range.batches) {
                if (batch.writesInFlight == 0) {
                    release(batch);
                }
            }
        }
    }

    private void markFatal(Exception e) {
        if (stopped) {
            return;
        }
        fatalException = e;
        stop();
        innerFailed(e);
    }

    TimeValue retryDelay(int retry) {
        return RetryScheduling.retryDelay(retry, limits.maxRetryDelayMillis(), this::randomJitter);
    }

    private final class RangeState {
        final int index;
        CopyState.Range stored;
        BsonValue readAfter;
        int limit;
        boolean readOutstanding;
        boolean waitingForRetry;
        int readRetries;
        final Deque<PendingBatch> batches = new ArrayDeque<>();

        RangeState(int index, CopyState.Range stored, int limit) {
            this.index = index;
            this.stored = stored;
            this.readAfter = stored.last();
            this.limit = limit;
        }
    }

    private final class PendingBatch {
        final RangeState range;
        final Batch<W> batch;
        /** the range's last batch: fewer documents than asked */
        final boolean last;
        int writesLeft;
        int writesInFlight;
        int letters;
        boolean released;

        PendingBatch(RangeState range, Batch<W> batch, boolean last) {
            this.range = range;
            this.batch = batch;
            this.last = last;
        }
    }

    private final class ShardWrite {
        final PendingBatch batch;
        final int shard;
        final W write;
        int retries;

        ShardWrite(PendingBatch batch, int shard, W write) {
            this.batch = batch;
            this.shard = shard;
            this.write = write;
        }
    }
}

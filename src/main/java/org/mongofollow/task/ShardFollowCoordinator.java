package org.mongofollow.task;

import org.mongofollow.operation.FollowOperation;

import org.elasticsearch.ElasticsearchTimeoutException;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;
import org.mongofollow.metadata.FollowBudgets;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The read/write coordinator of one follower shard: a state machine that decides which oplog ranges to read, which buffered
 * operations to write and how far the checkpoint may go, with every side effect cut out into an abstract {@code inner*}
 * method (as CCR's {@code ShardFollowNodeTask}). The ES layer subclasses it with real oplog reads and shard writes; the tests
 * subclass it with a simulated source and sink.
 *
 * <h2>Reads</h2>
 * While the follower is behind the source head (the majority commit point last seen), up to
 * {@code max_outstanding_read_requests} range reads {@code (from, to]} go out, each with {@code to} at most the head: reads
 * never go past the majority commit point. Positions are not dense, so a range's end is chosen by time: the coordinator
 * learns the density of the (filtered) oplog in entries per second of the timestamps' clock from the responses (an
 * exponentially weighted average) and spans each range over the whole seconds expected to hold
 * {@code max_read_request_operation_count} entries (at least one second, never past the head). Before it has an estimate it
 * sends one probe read over the whole backlog. A read that comes back full ({@code scannedTo < to}) continues its own range
 * with a follow-up read {@code (scannedTo, to]} in the same slot; a remainder longer than one estimated span is first cut
 * down to one span and the rest handed back (as a pending range, or to the unrequested space if it was the last range
 * requested), so parallel reads can take it. When the follower has
 * requested everything up to the head and no read is out, exactly one tail read ({@link ReadRequest#isTail()}) waits at
 * the head for {@code read_poll_timeout}; its response tells the new head. No read goes out while the buffer holds
 * {@code max_write_buffer_count} operations or {@code max_write_buffer_size} bytes; a follow-up read that meets a full
 * buffer waits, and goes out before any new range. The one exception is the range right after the read watermark when
 * every buffered operation lies above it: they cannot be written until it is read, so it goes out (within the read slots)
 * even then.
 *
 * <h2>Writes</h2>
 * While fewer than {@code max_outstanding_write_requests} writes are out, a batch is taken from the head of the buffer (a
 * priority queue in oplog order), only from operations at or below the read watermark (every range before them read), up to
 * {@code max_write_request_operation_count} operations and {@code max_write_request_size} bytes (a single bigger operation
 * goes alone); a batch cut by a limit does not split one document's operations of one transaction unless they fill it alone.
 * Two batches in flight never touch the same document: an operation whose document is in flight stays in the
 * buffer, and so do the later operations of that document, while operations of other documents pass it. A barrier
 * (an operation with no document id) is written alone, when nothing is in flight and nothing before it waits; nothing passes
 * it.
 *
 * <h2>Checkpoint</h2>
 * The highest position P such that every range up to P has been read and every operation at or below P has been applied:
 * {@code min(read watermark, (lowest unapplied operation's position) - 1)}. It moves with the majority commit point while
 * the shard has nothing to write, and never passes an unapplied operation (operations sharing a position hold it below that
 * position until all of them are applied). Every advance is reported through {@link #innerPersistCheckpoint}. The value can
 * be a position that is not an entry's (for example {@code 99:4294967295}, just below {@code 100:0}); reading from it again
 * reads exactly the unapplied rest.
 *
 * <h2>Failures</h2>
 * {@link #shouldRetry(Exception)} decides. A retryable failure resends the same request after a jittered exponential backoff
 * capped by {@code max_retry_delay} (read failures are listed in {@code read_exceptions} until the read succeeds); any other
 * failure becomes the {@code fatal_exception} and stops the coordinator, which keeps its checkpoint. Once stopped, nothing
 * new is sent; responses of requests still in flight are still accounted (a completed write still advances the checkpoint).
 *
 * <h2>Threads</h2>
 * Every state transition holds this object's monitor. Callbacks may come from any thread, also synchronously from inside
 * an {@code inner*} call. The {@code inner*} methods and {@link #schedule} are called while holding the monitor: they must
 * hand their work off and never block.
 */
public abstract class ShardFollowCoordinator<Op extends FollowOperation> {

    private static final org.apache.logging.log4j.Logger logger = org.apache.logging.log4j.LogManager.getLogger(ShardFollowCoordinator.class);

    /** Smoothing of the density estimate: the weight of the newest observation. */
    private static final double DENSITY_WEIGHT = 0.5;

    private final String index;
    private final int shardId;
    private final String source;
    private final FollowBudgets budgets;

    // reads
    private OplogPosition sourceHead;
    private OplogPosition lastRequested;
    private OplogPosition readWatermark;
    /** Ranges read completely but not contiguous with the watermark yet: fromExclusive -> scannedTo. */
    private final TreeMap<Long, Long> scannedRanges = new TreeMap<>();
    /**
     * Requested ranges waiting for a read slot (follow-ups that met a full buffer, remainders handed back by a full batch,
     * reads interrupted by a stop): fromExclusive -> toInclusive. They go out before any new range.
     */
    private final TreeMap<Long, Long> pendingRanges = new TreeMap<>();
    private int outstandingReads;
    /** Raw entries per second of the oplog's clock, or -1 while unknown. */
    private double entriesPerSecond = -1;

    // writes
    private final PriorityQueue<Op> buffer = new PriorityQueue<>(FollowOperation.ORDER);
    private long bufferSizeInBytes;
    private int outstandingWrites;
    private final Set<String> documentsInFlight = new HashSet<>();
    private boolean barrierInFlight;
    /** The lowest position of each batch in flight, as a multiset. */
    private final TreeMap<Long, Integer> inFlightBatchStarts = new TreeMap<>();
    private long inFlightWriteBytes;
    /** Bytes charged to the node's memory budget: the buffer and the writes in flight while running, then only those. */
    private long reservedBytes;

    // checkpoint and life cycle
    private OplogPosition checkpoint;
    /** {@code operationsWritten} when the checkpoint last advanced */
    private long operationsWrittenAtCheckpoint;
    private boolean started;
    private boolean stopped;
    private Exception fatalException;
    private boolean coordinatingReads;
    private boolean readsRequested;
    private boolean coordinatingWrites;
    private boolean writesRequested;

    // stats
    private final TreeMap<Long, ShardFollowStatus.ReadException> readExceptions = new TreeMap<>();
    private long successfulReadRequests;
    private long failedReadRequests;
    private long operationsRead;
    private long operationsSkipped;
    private long bytesRead;
    private long totalReadTimeNanos;
    private long successfulWriteRequests;
    private long failedWriteRequests;
    private long operationsWritten;
    private long documentsRejected;
    private long totalWriteTimeNanos;
    private long lastReadNanos = -1;

    protected ShardFollowCoordinator(String index, int shardId, String source, FollowBudgets budgets) {
        this.index = index;
        this.shardId = shardId;
        this.source = source;
        this.budgets = budgets;
    }

    // ------------------------------------------------------------------------------------------------------------------
    // I/O, implemented by the ES layer (and by the tests)

    /**
     * Reads the oplog for this shard. Exactly one of the callbacks is called, once, from any thread (also synchronously).
     */
    protected abstract void innerSendReadRequest(
        ReadRequest request,
        Consumer<ReadResponse<Op>> onResponse,
        Consumer<Exception> onFailure
    );

    /**
     * Applies a batch, in its order, to the follower shard (every operation with its position as external version, so a
     * replay is harmless; the operations of one transaction share a version, so an equal version must be accepted).
     * Exactly one of the callbacks is called, once, from any thread (also synchronously). A failed batch may have been
     * applied in part; it is sent again whole.
     */
    protected abstract void innerSendWriteRequest(List<Op> operations, Consumer<WriteResponse> onSuccess, Consumer<Exception> onFailure);

    /**
     * The checkpoint advanced to {@code checkpoint}. The ES layer stores it, batched and rate-limited. {@code applied}:
     * operations were written since the last checkpoint reported (false when only the source's commit point moved over
     * entries that concern no document of this shard, which the ES layer may store much later).
     */
    protected abstract void innerPersistCheckpoint(OplogPosition checkpoint, boolean applied);

    /**
     * Charges {@code bytes} that this coordinator is about to hold (a read's operations: buffered, then written) to the
     * node's memory budget, or throws when the budget is spent (the ES layer's circuit breaker); the read is then
     * retried. {@code force}: charge without failing (the read every buffered operation waits for). Every byte reserved is
     * released through {@link #innerReleaseMemory} once written or once stopped.
     */
    protected abstract void innerReserveMemory(long bytes, boolean force);

    /** Gives back bytes reserved with {@link #innerReserveMemory}. */
    protected abstract void innerReleaseMemory(long bytes);

    /** Runs {@code task} after {@code delay} (used for retries). */
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
    // life cycle

    /**
     * Starts following after {@code checkpoint}.
     *
     * @param knownSourceHead the majority commit position if the caller knows it, else {@code null} (the first read is then
     *                        a tail read, whose response tells the head)
     */
    public synchronized void start(OplogPosition checkpoint, @Nullable OplogPosition knownSourceHead) {
        if (started) {
            throw new IllegalStateException("the coordinator of [" + index + "][" + shardId + "] is already started");
        }
        started = true;
        this.checkpoint = checkpoint;
        this.readWatermark = checkpoint;
        this.lastRequested = checkpoint;
        this.sourceHead = knownSourceHead == null ? checkpoint : OplogPosition.max(checkpoint, knownSourceHead);
        coordinateReads();
    }

    /** Stops sending requests; responses of requests in flight are still accounted. */
    public synchronized void stop() {
        stopped = true;
        releaseMemoryOnceStopped();
    }

    /** Bytes held for this shard and charged to the node's memory budget (buffered and in flight). */
    public synchronized long reservedBytes() {
        return reservedBytes;
    }

    /** A stopped coordinator writes nothing more: it keeps only the bytes of its writes still in flight charged. */
    private void releaseMemoryOnceStopped() {
        if (stopped && reservedBytes > inFlightWriteBytes) {
            long excess = reservedBytes - inFlightWriteBytes;
            reservedBytes = inFlightWriteBytes;
            innerReleaseMemory(excess);
        }
    }

    public synchronized boolean isStopped() {
        return stopped;
    }

    public synchronized boolean isRunning() {
        return started && stopped == false;
    }

    @Nullable
    public synchronized Exception getFatalException() {
        return fatalException;
    }

    public synchronized OplogPosition getCheckpoint() {
        return checkpoint;
    }

    public FollowBudgets getBudgets() {
        return budgets;
    }

    // ------------------------------------------------------------------------------------------------------------------
    // reads

    /** Sends reads while there is read budget: waiting follow-ups first, then new ranges, then (if idle) the tail read. */
    synchronized void coordinateReads() {
        if (coordinatingReads) {
            // re-entered from a synchronous callback: the loop below runs again
            readsRequested = true;
            return;
        }
        coordinatingReads = true;
        try {
            do {
                readsRequested = false;
                while (isRunning()) {
                    Map.Entry<Long, Long> pending = pendingRanges.firstEntry();
                    if (hasReadBudget() == false && hasReadBudgetForWatermarkRange(pending) == false) {
                        break;
                    }
                    if (pending != null) {
                        pendingRanges.pollFirstEntry();
                        outstandingReads++;
                        sendReadRequest(rangeRead(new OplogPosition(pending.getKey()), new OplogPosition(pending.getValue())), 0);
                    } else if (lastRequested.before(sourceHead)) {
                        OplogPosition from = lastRequested;
                        OplogPosition to = nextRangeEnd(from);
                        lastRequested = to;
                        outstandingReads++;
                        sendReadRequest(rangeRead(from, to), 0);
                    } else if (outstandingReads == 0) {
                        outstandingReads++;
                        sendReadRequest(new ReadRequest(lastRequested, null, budgets.maxReadRequestOperationCount(),
                            budgets.maxReadRequestSize().getBytes(), budgets.readPollTimeout()), 0);
                        break;
                    } else {
                        break;
                    }
                }
            } while (readsRequested);
        } finally {
            coordinatingReads = false;
        }
    }

    /** Whether another read may go out: a free read slot and a buffer under both of its limits. */
    synchronized boolean hasReadBudget() {
        return outstandingReads < budgets.maxOutstandingReadRequests() && bufferHasRoom();
    }

    /**
     * Whether {@code pending} is the range right after the read watermark and nothing in the buffer can be written. That
     * range goes out even when the buffer is full: the buffered operations are above it and cannot be written before it is
     * read, so holding it back would stall.
     */
    private boolean hasReadBudgetForWatermarkRange(@Nullable Map.Entry<Long, Long> pending) {
        return outstandingReads < budgets.maxOutstandingReadRequests()
            && pending != null
            && pending.getKey() == readWatermark.key()
            && nothingWritable();
    }

    /** Whether every buffered operation waits for a range before it to be read. */
    private boolean nothingWritable() {
        Op lowest = buffer.peek();
        return lowest == null || lowest.position().after(readWatermark);
    }

    private boolean bufferHasRoom() {
        return buffer.size() < budgets.maxWriteBufferCount() && bufferSizeInBytes < budgets.maxWriteBufferSize().getBytes();
    }

    private ReadRequest rangeRead(OplogPosition from, OplogPosition to) {
        return new ReadRequest(from, to, budgets.maxReadRequestOperationCount(), budgets.maxReadRequestSize().getBytes(),
            TimeValue.ZERO);
    }

    /** The end of the next range after {@code from}: one estimated span of whole seconds, never past the head. */
    private OplogPosition nextRangeEnd(OplogPosition from) {
        if (entriesPerSecond < 0) {
            return sourceHead; // no estimate yet: one probe over the whole backlog
        }
        long spanSeconds = estimatedSpanSeconds();
        long remainingSeconds = (sourceHead.key() - from.key()) >>> 32;
        if (spanSeconds > remainingSeconds) {
            return sourceHead;
        }
        return OplogPosition.min(sourceHead, new OplogPosition(from.key() + (spanSeconds << 32)));
    }

    private long estimatedSpanSeconds() {
        double seconds = budgets.maxReadRequestOperationCount() / Math.max(entriesPerSecond, 1e-9);
        return (long) Math.max(1, Math.min(Math.ceil(seconds), Integer.MAX_VALUE));
    }

    private void sendReadRequest(ReadRequest unmarked, int retries) {
        ReadRequest request;
        synchronized (this) {
            // the read every buffered operation waits for must bring something, however full the node's budget is
            request = unmarked.essential(unmarked.fromExclusive().equals(readWatermark) && nothingWritable());
        }
        long startNanos = relativeTimeNanos();
        long stalledAfter = request.pollTimeout().nanos() + STALL_GRACE.nanos();
        Outstanding sent = track(startNanos, stalledAfter, request.toString(), e -> handleReadFailure(request, retries, e));
        innerSendReadRequest(
            request,
            response -> {
                if (settle(sent)) {
                    handleReadResponse(request, retries, startNanos, response);
                }
            },
            e -> {
                if (settle(sent)) {
                    handleReadFailure(request, retries, e);
                }
            }
        );
    }

    // ------------------------------------------------------------------------------------------------------------------
    // the watchdog

    /**
     * How much longer than it may take (a tail read: its poll timeout) a request may stay unanswered before the watchdog
     * gives up on it: far longer than any answer takes, so only a request that got lost (a hung connection, a dropped
     * callback) is sent again.
     */
    static final TimeValue STALL_GRACE = TimeValue.timeValueMinutes(5);

    /** A request sent and not settled yet: the first of its answer, its failure and the watchdog settles it. */
    private record Outstanding(long startNanos, long stalledAfterNanos, String description, Consumer<Exception> onStall) {}

    private final Set<Outstanding> outstandingRequests = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    private synchronized Outstanding track(long startNanos, long stalledAfterNanos, String description, Consumer<Exception> onStall) {
        Outstanding sent = new Outstanding(startNanos, stalledAfterNanos, description, onStall);
        outstandingRequests.add(sent);
        return sent;
    }

    /** Whether requests are outstanding: a stopped coordinator's watchdog runs until none is (their memory is charged). */
    public synchronized boolean hasOutstandingRequests() {
        return outstandingRequests.isEmpty() == false;
    }

    /** Whether this settles the request (false: the watchdog already gave up on it, and this late answer is dropped). */
    private synchronized boolean settle(Outstanding sent) {
        return outstandingRequests.remove(sent);
    }

    /**
     * The watchdog, which the ES layer runs periodically: every request outstanding longer than it may take plus
     * {@link #STALL_GRACE} fails with a retryable timeout (a {@code read_exceptions} entry for a read) and is sent again,
     * so that a lost request never leaves its read slot or write batch outstanding forever. A late answer to it is dropped.
     */
    public synchronized void checkStalled() {
        long now = relativeTimeNanos();
        List<Outstanding> stalled = new ArrayList<>();
        for (Outstanding sent : outstandingRequests) {
            if (now - sent.startNanos() - sent.stalledAfterNanos() > 0) {
                stalled.add(sent);
            }
        }
        for (Outstanding sent : stalled) {
            outstandingRequests.remove(sent);
            TimeValue waited = TimeValue.timeValueNanos(now - sent.startNanos());
            sent.onStall().accept(
                new ElasticsearchTimeoutException("no answer to [{}] after [{}]: sent again", sent.description(), waited.toHumanReadableString(1))
            );
        }
    }

    /** Accounts a read: buffers its operations, marks its range read, continues a full batch, then coordinates. */
    synchronized void handleReadResponse(ReadRequest request, int retries, long startNanos, ReadResponse<Op> response) {
        long responseBytes = 0;
        for (Op op : response.operations()) {
            responseBytes += op.sizeInBytes();
        }
        if (responseBytes > 0) {
            // the range right after the read watermark, with nothing writable in the buffer, is kept whatever the budget
            // says: every buffered operation waits for it, so refusing it would hold their memory forever (as for the
            // buffer's own limits, see hasReadBudgetForWatermarkRange)
            boolean force = request.fromExclusive().equals(readWatermark) && nothingWritable();
            try {
                innerReserveMemory(responseBytes, force);
            } catch (RuntimeException e) {
                // the node's budget is spent: read this again later, and less of it at a time
                handleReadFailure(request.halved(), retries, e);
                return;
            }
            reservedBytes += responseBytes;
        }
        long now = relativeTimeNanos();
        successfulReadRequests++;
        totalReadTimeNanos += Math.max(0, now - startNanos);
        lastReadNanos = now;
        readExceptions.remove(request.fromExclusive().key());

        String invalid = validate(request, response);
        if (invalid != null) {
            outstandingReads--;
            markFatal(new IllegalStateException("invalid response to " + request + ": " + invalid));
            return;
        }
        operationsRead += response.operations().size();
        operationsSkipped += response.operationsSkipped();
        bytesRead += response.bytesRead();
        sourceHead = OplogPosition.max(sourceHead, response.majorityCommitPosition());
        for (Op op : response.operations()) {
            buffer.add(op);
            bufferSizeInBytes += op.sizeInBytes();
        }
        OplogPosition from = request.fromExclusive();
        OplogPosition scannedTo = response.scannedTo();
        markScanned(from, scannedTo);

        if (request.isTail()) {
            outstandingReads--;
            lastRequested = OplogPosition.max(lastRequested, scannedTo);
        } else {
            learnDensity(from, scannedTo, response.rawEntriesRead(), scannedTo.before(request.toInclusive()));
            if (scannedTo.before(request.toInclusive())) {
                continueRange(scannedTo, request.toInclusive());
            } else {
                outstandingReads--;
            }
        }
        updateCheckpoint();
        releaseMemoryOnceStopped();
        coordinateWrites();
        coordinateReads();
    }

    /**
     * A full batch continues its own range, in the same read slot if the buffer has room. A remainder longer than one
     * estimated span is cut: the slot continues with one span, the rest is handed back (to the unrequested space if it was
     * the last range requested, else as a pending range) so that parallel reads can take it.
     */
    private void continueRange(OplogPosition scannedTo, OplogPosition to) {
        if (entriesPerSecond >= 0) {
            long spanSeconds = estimatedSpanSeconds();
            if (spanSeconds <= ((to.key() - scannedTo.key()) >>> 32) && scannedTo.key() + (spanSeconds << 32) < to.key()) {
                OplogPosition cut = new OplogPosition(scannedTo.key() + (spanSeconds << 32));
                if (to.equals(lastRequested)) {
                    lastRequested = cut;
                } else {
                    pendingRanges.put(cut.key(), to.key());
                }
                to = cut;
            }
        }
        if (isRunning() == false) {
            outstandingReads--;
            pendingRanges.put(scannedTo.key(), to.key());
        } else if (bufferHasRoom() || (scannedTo.equals(readWatermark) && nothingWritable())) {
            sendReadRequest(rangeRead(scannedTo, to), 0);
        } else {
            outstandingReads--;
            pendingRanges.put(scannedTo.key(), to.key());
        }
    }

    private void learnDensity(OplogPosition from, OplogPosition scannedTo, int rawEntries, boolean full) {
        long seconds = (scannedTo.key() - from.key()) >>> 32;
        if (full == false && seconds == 0) {
            return; // a sub-second range that was not full says little about the density
        }
        double observed = rawEntries / (double) Math.max(1, seconds);
        entriesPerSecond = entriesPerSecond < 0 ? observed : (1 - DENSITY_WEIGHT) * entriesPerSecond + DENSITY_WEIGHT * observed;
    }

    private void markScanned(OplogPosition from, OplogPosition scannedTo) {
        if (scannedTo.after(from) == false) {
            return;
        }
        scannedRanges.merge(from.key(), scannedTo.key(), Math::max);
        Long next;
        while ((next = scannedRanges.remove(readWatermark.key())) != null) {
            readWatermark = new OplogPosition(next);
        }
    }

    @Nullable
    private static String validate(ReadRequest request, ReadResponse<?> response) {
        OplogPosition from = request.fromExclusive();
        OplogPosition scannedTo = response.scannedTo();
        if (scannedTo.before(from)) {
            return "scannedTo [" + scannedTo + "] is before the range";
        }
        if (request.isTail() == false && (scannedTo.after(request.toInclusive()) || scannedTo.equals(from))) {
            return "scannedTo [" + scannedTo + "] is outside the range";
        }
        if (scannedTo.after(response.majorityCommitPosition())) {
            return "scannedTo [" + scannedTo + "] is past the majority commit position [" + response.majorityCommitPosition() + "]";
        }
        for (FollowOperation op : response.operations()) {
            if (op.position().after(from) == false || op.position().after(scannedTo)) {
                return "operation at [" + op.position() + "] is outside (" + from + ", " + scannedTo + "]";
            }
        }
        return null;
    }

    private void handleReadFailure(ReadRequest request, int retries, Exception e) {
        synchronized (this) {
            failedReadRequests++;
            if (isRunning() == false) {
                outstandingReads--;
                return;
            }
            if (shouldRetry(e) == false) {
                outstandingReads--;
                markFatal(e);
                return;
            }
            int retry = retries + 1;
            readExceptions.put(
                request.fromExclusive().key(),
                new ShardFollowStatus.ReadException(request.fromExclusive(), retry, ShardFollowStatus.ExceptionInfo.of(e))
            );
            while (readExceptions.size() > 2 * budgets.maxOutstandingReadRequests()) {
                readExceptions.pollFirstEntry();
            }
            schedule(retryDelay(retry), () -> retryRead(request, retry));
        }
    }

    private synchronized void retryRead(ReadRequest request, int retries) {
        if (isRunning()) {
            sendReadRequest(request, retries);
        } else {
            outstandingReads--;
            if (request.isTail() == false) {
                pendingRanges.put(request.fromExclusive().key(), request.toInclusive().key());
            }
        }
    }

    /**
     * The delay before retry number {@code retry} (from 1): uniformly random in the upper half of
     * {@code min(max_retry_delay, 50ms * 2^(retry-1))}, so never more than {@code max_retry_delay}.
     */
    TimeValue retryDelay(int retry) {
        return RetryScheduling.retryDelay(retry, budgets.maxRetryDelay().millis(), this::randomJitter);
    }

    // ------------------------------------------------------------------------------------------------------------------
    // writes

    /** Sends batches while there is write budget and something writable in the buffer. */
    synchronized void coordinateWrites() {
        if (coordinatingWrites) {
            writesRequested = true;
            return;
        }
        coordinatingWrites = true;
        boolean tookAny = false;
        try {
            do {
                writesRequested = false;
                while (isRunning() && hasWriteBudget()) {
                    List<Op> batch = takeBatch();
                    if (batch.isEmpty()) {
                        break;
                    }
                    tookAny = true;
                    sendWriteRequest(batch, 0);
                }
            } while (writesRequested);
        } finally {
            coordinatingWrites = false;
        }
        if (tookAny) {
            coordinateReads(); // the buffer shrank
        }
    }

    /** Whether another write may go out: a free write slot and no barrier in flight. */
    synchronized boolean hasWriteBudget() {
        return outstandingWrites < budgets.maxOutstandingWriteRequests() && barrierInFlight == false;
    }

    /** Takes the next batch off the buffer and marks it in flight (empty if nothing can go now). */
    private List<Op> takeBatch() {
        final long watermark = readWatermark.key();
        final int maxCount = budgets.maxWriteRequestOperationCount();
        final long maxBytes = budgets.maxWriteRequestSize().getBytes();
        // skipping operations of documents in flight costs a poll and an add each: bound it per batch
        final int maxSkipped = Math.max(maxCount, 64);
        List<Op> batch = new ArrayList<>();
        List<Op> skipped = new ArrayList<>();
        Set<String> batchDocuments = new HashSet<>();
        long batchBytes = 0;
        boolean barrier = false;
        Op cutAt = null;
        while (buffer.isEmpty() == false) {
            Op op = buffer.peek();
            if (op.position().key() > watermark) {
                break; // a range before it is not read yet
            }
            String id = op.documentId();
            if (id == null) {
                if (batch.isEmpty() && skipped.isEmpty() && outstandingWrites == 0) {
                    batch.add(buffer.poll());
                    batchBytes += op.sizeInBytes();
                    barrier = true;
                }
                break; // nothing passes a barrier
            }
            if (documentsInFlight.contains(id)) {
                if (skipped.size() >= maxSkipped) {
                    break;
                }
                skipped.add(buffer.poll());
                continue;
            }
            if (batch.size() >= maxCount || (batch.isEmpty() == false && op.sizeInBytes() > maxBytes - batchBytes)) {
                cutAt = op;
                break;
            }
            batch.add(buffer.poll());
            batchBytes += op.sizeInBytes();
            batchDocuments.add(id);
        }
        if (cutAt != null) {
            batchBytes -= keepEntryTogether(batch, cutAt, skipped, batchDocuments);
        }
        buffer.addAll(skipped);
        if (batch.isEmpty()) {
            return batch;
        }
        bufferSizeInBytes -= batchBytes;
        inFlightWriteBytes += batchBytes;
        outstandingWrites++;
        documentsInFlight.addAll(batchDocuments);
        barrierInFlight = barrier;
        inFlightBatchStarts.merge(batch.get(0).position().key(), 1, Integer::sum);
        return batch;
    }

    /**
     * A batch cut by its limits does not split the operations of one document in one oplog entry (one transaction), unless
     * they are all the batch holds: those operations carry the same version, and the writer applies them together. Moves
     * them from {@code batch} to {@code putBack} and returns their size.
     */
    private long keepEntryTogether(List<Op> batch, Op cutAt, List<Op> putBack, Set<String> batchDocuments) {
        String id = cutAt.documentId();
        List<Op> group = new ArrayList<>();
        for (Op op : batch) {
            if (op.position().equals(cutAt.position()) && id.equals(op.documentId())) {
                group.add(op);
            }
        }
        if (group.isEmpty() || group.size() == batch.size()) {
            return 0;
        }
        batch.removeIf(op -> op.position().equals(cutAt.position()) && id.equals(op.documentId()));
        putBack.addAll(group);
        if (batch.stream().noneMatch(op -> id.equals(op.documentId()))) {
            batchDocuments.remove(id);
        }
        return group.stream().mapToLong(Op::sizeInBytes).sum();
    }

    private void sendWriteRequest(List<Op> batch, int retries) {
        long startNanos = relativeTimeNanos();
        String description = "write of " + batch.size() + " operations from " + batch.get(0).position();
        // a barrier (a drop's sweep of the whole shard) may take as long as the shard is large: the watchdog leaves it be
        long stalledAfter = batch.get(0).documentId() == null ? Long.MAX_VALUE : STALL_GRACE.nanos();
        Outstanding sent = track(startNanos, stalledAfter, description, e -> handleWriteFailure(batch, retries, e));
        innerSendWriteRequest(
            batch,
            response -> {
                if (settle(sent)) {
                    handleWriteResponse(batch, startNanos, response);
                }
            },
            e -> {
                if (settle(sent)) {
                    handleWriteFailure(batch, retries, e);
                }
            }
        );
    }

    /** Accounts a written batch, releases its documents, advances the checkpoint, then coordinates. */
    synchronized void handleWriteResponse(List<Op> batch, long startNanos, WriteResponse response) {
        successfulWriteRequests++;
        operationsWritten += batch.size();
        documentsRejected += response.documentsRejected();
        totalWriteTimeNanos += Math.max(0, relativeTimeNanos() - startNanos);
        long written = release(batch);
        reservedBytes -= written;
        innerReleaseMemory(written);
        releaseMemoryOnceStopped();
        updateCheckpoint();
        coordinateWrites();
        coordinateReads();
    }

    /** Takes a batch out of flight; returns its bytes. */
    private long release(List<Op> batch) {
        long bytes = batch.stream().mapToLong(Op::sizeInBytes).sum();
        outstandingWrites--;
        inFlightWriteBytes -= bytes;
        for (Op op : batch) {
            if (op.documentId() == null) {
                barrierInFlight = false;
            } else {
                documentsInFlight.remove(op.documentId());
            }
        }
        inFlightBatchStarts.computeIfPresent(batch.get(0).position().key(), (k, n) -> n == 1 ? null : n - 1);
        return bytes;
    }

    /** An unwritten batch goes back to the buffer, where it holds the checkpoint below it. */
    private void putBack(List<Op> batch) {
        release(batch);
        for (Op op : batch) {
            buffer.add(op);
            bufferSizeInBytes += op.sizeInBytes();
        }
    }

    private void handleWriteFailure(List<Op> batch, int retries, Exception e) {
        synchronized (this) {
            failedWriteRequests++;
            if (isRunning() == false) {
                putBack(batch);
                releaseMemoryOnceStopped();
                return;
            }
            if (shouldRetry(e) == false) {
                putBack(batch);
                markFatal(e);
                return;
            }
            int retry = retries + 1;
            schedule(retryDelay(retry), () -> retryWrite(batch, retry));
        }
    }

    private synchronized void retryWrite(List<Op> batch, int retries) {
        if (isRunning()) {
            sendWriteRequest(batch, retries);
        } else {
            putBack(batch);
            releaseMemoryOnceStopped();
        }
    }

    // ------------------------------------------------------------------------------------------------------------------
    // checkpoint and failures

    private void updateCheckpoint() {
        long bound = readWatermark.key();
        Op lowestBuffered = buffer.peek();
        if (lowestBuffered != null) {
            bound = Math.min(bound, lowestBuffered.position().key() - 1);
        }
        if (inFlightBatchStarts.isEmpty() == false) {
            bound = Math.min(bound, inFlightBatchStarts.firstKey() - 1);
        }
        if (bound > checkpoint.key()) {
            checkpoint = new OplogPosition(bound);
            boolean applied = operationsWritten != operationsWrittenAtCheckpoint;
            operationsWrittenAtCheckpoint = operationsWritten;
            innerPersistCheckpoint(checkpoint, applied);
        }
    }

    /** Records a non-retryable failure and stops; the first one wins. */
    synchronized void markFatal(Exception e) {
        if (fatalException == null) {
            fatalException = e;
            ShardFollowStatus.ExceptionInfo info = ShardFollowStatus.ExceptionInfo.of(e);
            logger.warn("[{}][{}] the follow stopped on a fatal error at checkpoint {}: [{}] {}", index, shardId, checkpoint, info.type(), info.reason());
        }
        stopped = true;
        releaseMemoryOnceStopped();
    }

    // ------------------------------------------------------------------------------------------------------------------
    // status

    /** A snapshot with the status label {@code failed}, {@code stopped} or {@code active}. */
    public synchronized ShardFollowStatus getStatus() {
        String label = fatalException != null ? "failed" : stopped ? "stopped" : started ? "active" : "starting";
        return getStatus(label);
    }

    /** A snapshot with the caller's status label (the ES layer knows about paused or copying follows). */
    public synchronized ShardFollowStatus getStatus(String statusLabel) {
        long lagMillis = -1;
        if (started) {
            lagMillis = Math.max(0L, ((long) sourceHead.seconds() - checkpoint.seconds()) * 1000L);
        }
        long now = relativeTimeNanos();
        return new ShardFollowStatus(
            index,
            shardId,
            source,
            statusLabel,
            sourceHead,
            lastRequested,
            checkpoint,
            lagMillis,
            outstandingReads,
            outstandingWrites,
            buffer.size(),
            bufferSizeInBytes,
            successfulReadRequests,
            failedReadRequests,
            operationsRead,
            operationsSkipped,
            bytesRead,
            TimeUnit.NANOSECONDS.toMillis(totalReadTimeNanos),
            successfulWriteRequests,
            failedWriteRequests,
            operationsWritten,
            documentsRejected,
            TimeUnit.NANOSECONDS.toMillis(totalWriteTimeNanos),
            List.copyOf(readExceptions.values()),
            lastReadNanos < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(Math.max(0, now - lastReadNanos)),
            fatalException == null ? null : ShardFollowStatus.ExceptionInfo.of(fatalException),
            null, // the source's own resume point and the MongoDB shards read are the ES layer's (ShardFollowNodeTask)
            java.util.Map.of()
        );
    }

    // for tests
    synchronized OplogPosition readWatermark() {
        return readWatermark;
    }

    synchronized int bufferedOperations() {
        return buffer.size();
    }

    synchronized int outstandingReads() {
        return outstandingReads;
    }

    synchronized int outstandingWrites() {
        return outstandingWrites;
    }

    synchronized OplogPosition lastRequested() {
        return lastRequested;
    }

    synchronized OplogPosition sourceHead() {
        return sourceHead;
    }

    synchronized double entriesPerSecond() {
        return entriesPerSecond;
    }
}

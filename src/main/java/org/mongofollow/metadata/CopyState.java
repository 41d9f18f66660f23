package org.mongofollow.metadata;

import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonValue;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The state of a follow's (initial or resync) copy, kept in the follower index's metadata next to the
 * shard checkpoints so a copy that is interrupted (node loss, restart, pause) goes on where it stopped.
 *
 * @param t0               the majority commit point the copy started at; copied documents carry it as version,
 *                         and it identifies the copy (a resync is a new copy with a newer t0)
 * @param state            running or done
 * @param resync           whether this copy is a resync ({@code _resync} or {@code on_history_lost: resync}) rather
 *                         than the follow's initial copy; shown in the stats (every copy sweeps what neither it nor
 *                         the log wrote at the end; on a new index the sweep finds nothing)
 * @param gcDeletesBefore  the follower index's {@code index.gc_deletes} before the copy raised it ("" = unset),
 *                         restored when the copy is done
 * @param totalEstimate    the collection's estimated document count when the copy was planned
 * @param startedMillis    wall time the copy started
 * @param documentsRead    documents read from MongoDB by every run of the copy, as last stored
 * @param documentsRejected documents of the copied batches that Elasticsearch refused (sent to the dead-letter
 *                         index), as last stored with the ranges' progress
 * @param mixedIdTypes     whether the collection's {@code _id}s span several BSON type classes (range queries then
 *                         add type-order clauses, see {@code org.mongofollow.copy.IdRanges})
 * @param ranges           the {@code _id} ranges and their progress; empty until the copy task planned them
 * @param failure          a fatal error of the copy, or null
 */
public record CopyState(
    OplogPosition t0,
    State state,
    boolean resync,
    String gcDeletesBefore,
    long totalEstimate,
    long startedMillis,
    long documentsRead,
    long documentsRejected,
    boolean mixedIdTypes,
    List<Range> ranges,
    String failure
) {

    public enum State {
        RUNNING,
        DONE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One {@code _id} range {@code [lower, upper)} in BSON order (null bounds are open), the last {@code _id} the
     * copy wrote in it (null before the first batch), how many documents it copied up to there, and whether it is done.
     */
    public record Range(BsonValue lower, BsonValue upper, BsonValue last, long copied, boolean done) {

        public Range advance(BsonValue newLast, long moreCopied, boolean nowDone) {
            return new Range(lower, upper, newLast == null ? last : newLast, copied + moreCopied, done || nowDone);
        }

        /** The further of two records of the same range (a late progress update never takes a range back). */
        static Range further(Range a, Range b) {
            if (a.done != b.done) {
                return a.done ? a : b;
            }
            return a.copied >= b.copied ? a : b;
        }

        String encode() {
            BsonDocument doc = new BsonDocument();
            if (lower != null) {
                doc.append("lower", lower);
            }
            if (upper != null) {
                doc.append("upper", upper);
            }
            if (last != null) {
                doc.append("last", last);
            }
            doc.append("copied", new BsonInt64(copied));
            doc.append("done", BsonBoolean.valueOf(done));
            return doc.toJson(JSON);
        }

        static Range decode(String json) {
            BsonDocument doc = BsonDocument.parse(json);
            return new Range(doc.get("lower"), doc.get("upper"), doc.get("last"), doc.getNumber("copied").longValue(), doc.getBoolean("done").getValue());
        }
    }

    private static final JsonWriterSettings JSON = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

    static final String PREFIX = "copy.";

    public CopyState {
        Objects.requireNonNull(t0);
        Objects.requireNonNull(state);
        gcDeletesBefore = gcDeletesBefore == null ? "" : gcDeletesBefore;
        ranges = List.copyOf(ranges);
    }

    /** A copy that starts now at {@code t0}, its ranges not planned yet. */
    public static CopyState start(OplogPosition t0, boolean resync, String gcDeletesBefore, long nowMillis) {
        return new CopyState(t0, State.RUNNING, resync, gcDeletesBefore, 0, nowMillis, 0, 0, false, List.of(), null);
    }

    public boolean planned() {
        return ranges.isEmpty() == false;
    }

    public boolean isRunning() {
        return state == State.RUNNING;
    }

    public long documentsCopied() {
        return ranges.stream().mapToLong(Range::copied).sum();
    }

    public int rangesDone() {
        return (int) ranges.stream().filter(Range::done).count();
    }

    public CopyState withPlan(long estimate, boolean mixed, List<Range> planned) {
        return new CopyState(t0, state, resync, gcDeletesBefore, estimate, startedMillis, documentsRead, documentsRejected, mixed, planned, failure);
    }

    public CopyState withProgress(List<Range> newRanges, long read, long rejected) {
        return new CopyState(t0, state, resync, gcDeletesBefore, totalEstimate, startedMillis, read, rejected, mixedIdTypes, newRanges, failure);
    }

    public CopyState done() {
        return new CopyState(t0, State.DONE, resync, gcDeletesBefore, totalEstimate, startedMillis, documentsRead, documentsRejected, mixedIdTypes, ranges, null);
    }

    public CopyState withFailure(String reason) {
        return new CopyState(t0, state, resync, gcDeletesBefore, totalEstimate, startedMillis, documentsRead, documentsRejected, mixedIdTypes, ranges, reason);
    }

    /**
     * The master's merge of an update from a copy task into the stored state: an update of another copy (an older t0)
     * is ignored; ranges only move forward; a plan is taken once; done stays done.
     */
    public CopyState merge(CopyState update) {
        if (update.t0.equals(t0) == false) {
            return this;
        }
        if (state == State.DONE) {
            return this;
        }
        List<Range> merged;
        if (planned() == false) {
            merged = update.ranges;
        } else if (update.ranges.size() != ranges.size()) {
            merged = ranges;
        } else {
            merged = new ArrayList<>(ranges.size());
            for (int i = 0; i < ranges.size(); i++) {
                merged.add(Range.further(ranges.get(i), update.ranges.get(i)));
            }
        }
        return new CopyState(
            t0,
            update.state,
            resync,
            gcDeletesBefore,
            planned() ? totalEstimate : update.totalEstimate,
            startedMillis,
            Math.max(documentsRead, update.documentsRead),
            Math.max(documentsRejected, update.documentsRejected),
            planned() ? mixedIdTypes : update.mixedIdTypes,
            merged,
            update.failure
        );
    }

    void toCustomData(Map<String, String> data) {
        data.put(PREFIX + "t0", Long.toUnsignedString(t0.timestamp()));
        data.put(PREFIX + "state", state.label());
        data.put(PREFIX + "resync", Boolean.toString(resync));
        data.put(PREFIX + "gc_deletes_before", gcDeletesBefore);
        data.put(PREFIX + "total_estimate", Long.toString(totalEstimate));
        data.put(PREFIX + "started_millis", Long.toString(startedMillis));
        data.put(PREFIX + "documents_read", Long.toString(documentsRead));
        data.put(PREFIX + "documents_rejected", Long.toString(documentsRejected));
        data.put(PREFIX + "mixed_id_types", Boolean.toString(mixedIdTypes));
        if (failure != null) {
            data.put(PREFIX + "failure", failure);
        }
        for (int i = 0; i < ranges.size(); i++) {
            data.put(PREFIX + "range." + i, ranges.get(i).encode());
        }
    }

    /** The copy stored in a follow's custom data, or null when it has none. */
    static CopyState fromCustomData(Map<String, String> data) {
        String t0 = data.get(PREFIX + "t0");
        if (t0 == null) {
            return null;
        }
        Map<Integer, Range> ranges = new TreeMap<>();
        data.forEach((key, value) -> {
            if (key.startsWith(PREFIX + "range.")) {
                ranges.put(Integer.parseInt(key.substring((PREFIX + "range.").length())), Range.decode(value));
            }
        });
        return new CopyState(
            OplogPosition.ofTimestamp(Long.parseUnsignedLong(t0)),
            State.valueOf(data.get(PREFIX + "state").toUpperCase(Locale.ROOT)),
            Boolean.parseBoolean(data.get(PREFIX + "resync")),
            data.getOrDefault(PREFIX + "gc_deletes_before", ""),
            Long.parseLong(data.getOrDefault(PREFIX + "total_estimate", "0")),
            Long.parseLong(data.getOrDefault(PREFIX + "started_millis", "0")),
            Long.parseLong(data.getOrDefault(PREFIX + "documents_read", "0")),
            Long.parseLong(data.getOrDefault(PREFIX + "documents_rejected", "0")),
            Boolean.parseBoolean(data.get(PREFIX + "mixed_id_types")),
            new ArrayList<>(ranges.values()),
            data.get(PREFIX + "failure")
        );
    }
}

package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.elasticsearch.core.Nullable;

import java.util.Map;
import java.util.TreeMap;

/**
 * The recent {@link ResumePoint}s of one feed's change stream, learnt from its reads (each read returns the token of the
 * position it read up to) and from the checkpoints its shard tasks start from: a read from MongoDB resumes the stream after
 * the newest point at or shortly before where it starts, and a shard task stores the point at or before its checkpoint.
 * Bounded: the oldest points go first. Thread-safe.
 */
final class ResumePoints {

    /** How many points a feed keeps (a few per shard task reading through it). */
    static final int MAX_POINTS = 1024;
    /**
     * How far before a read's start a point may lie for the read to resume after it (the events in between are read and
     * skipped): seconds of cluster time.
     */
    static final long MAX_RESUME_DISTANCE_SECONDS = 60;

    private final TreeMap<Long, ResumePoint> points = new TreeMap<>();

    synchronized void learn(@Nullable ResumePoint point) {
        if (point == null) {
            return;
        }
        points.put(point.position().key(), point);
        while (points.size() > MAX_POINTS) {
            points.pollFirstEntry();
        }
    }

    /** The newest point at or before {@code position}, or null. */
    @Nullable
    synchronized ResumePoint atOrBefore(OplogPosition position) {
        Map.Entry<Long, ResumePoint> entry = points.floorEntry(position.key());
        return entry == null ? null : entry.getValue();
    }

    /** The point a read from {@code from} resumes after: at or before it, by at most {@link #MAX_RESUME_DISTANCE_SECONDS}. */
    @Nullable
    synchronized ResumePoint forReadFrom(OplogPosition from) {
        ResumePoint point = atOrBefore(from);
        return point == null || from.seconds() - point.position().seconds() > MAX_RESUME_DISTANCE_SECONDS ? null : point;
    }

    synchronized void clear() {
        points.clear();
    }
}

package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * The members of a replica set of several members in one process, and what replication does to them. All members share
 * one copy of the data and one oplog, which is the primary's; a secondary is a prefix of it:
 * <ul>
 *   <li>a secondary has applied everything the primary wrote, unless its replication is paused ({@link #pause}), in
 *   which case its oplog, as its own reads see it, ends where it paused;</li>
 *   <li>the majority commit point is the newest entry that a majority of the members have applied, and only moves to
 *   an entry of an earlier term once an entry of the current term is committed (as in MongoDB);</li>
 *   <li>an election ({@link #stepDown}, or the primary {@link #kill killed}) makes the member that has applied the most
 *   primary in a new term: the entries it does not have are rolled back, out of the oplog and, undone from their
 *   pre-images, out of the data, as the old primary's rollback would do once it rejoins;</li>
 *   <li>a member that is down keeps the entries it had applied; a majority of the members must be up for a primary.</li>
 * </ul>
 * Rollback undoes inserts, updates, deletes and transactions; a rolled-back DDL entry (create, drop, rename, index)
 * leaves the catalog as it is. Everything here runs under the writer's lock, so no write is half done.
 */
final class ReplicaSetMembers {

    private final OplogWriter writer;
    private final OplogStore store;
    private final String[] hosts;
    private final boolean[] up;
    /** The newest entry a member has applied, while its replication is paused or it is down (null: it has everything). */
    private final Long[] frozen;
    private volatile int primary = 0;
    /** ts of the first entry of the current term: the commit point reaches entries of earlier terms only with one of it. */
    private volatile long termStart = 0;
    private volatile long committed = 0;
    /** How to undo each entry that is not majority-committed yet, by ts: what a rollback runs, newest first. */
    private final ConcurrentSkipListMap<Long, List<Runnable>> undo = new ConcurrentSkipListMap<>(Long::compareUnsigned);
    private volatile int rollbacks = 0;
    private volatile java.util.function.IntConsumer rollbackListener = member -> {};

    ReplicaSetMembers(OplogWriter writer, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("a replica set needs at least one member");
        }
        this.writer = writer;
        this.store = writer.store();
        this.hosts = new String[count];
        this.up = new boolean[count];
        this.frozen = new Long[count];
        Arrays.fill(up, true);
        Arrays.fill(hosts, "127.0.0.1:0");
    }

    /** Told of each member that rolls back (its oplog cursors die, as on MongoDB). */
    void onRollback(java.util.function.IntConsumer listener) {
        this.rollbackListener = listener;
    }

    int size() {
        return hosts.length;
    }

    void setHost(int member, String host) {
        hosts[member] = host;
    }

    String host(int member) {
        return hosts[member];
    }

    List<String> hosts() {
        return List.of(hosts);
    }

    /** The member listening on {@code port}, or 0 when none is (a one-member set). */
    int memberOnPort(int port) {
        for (int i = 0; i < hosts.length; i++) {
            if (hosts[i].endsWith(":" + port)) {
                return i;
            }
        }
        return 0;
    }

    /** The primary, or -1 when a majority of the members is down. */
    int primary() {
        return primary;
    }

    boolean isPrimary(int member) {
        return primary == member;
    }

    boolean isUp(int member) {
        return up[member];
    }

    int rollbacks() {
        return rollbacks;
    }

    /** The ts of the newest entry {@code member} has applied. */
    long applied(int member) {
        BsonTimestamp newest = store.newestTs();
        long head = newest == null ? 0 : newest.getValue();
        Long f = member == primary ? null : frozen[member];
        return f == null || Long.compareUnsigned(f, head) > 0 ? head : f;
    }

    /** The newest ts a majority of the members have applied, held to the rule of terms; never goes back. */
    long commitPoint() {
        long[] applied = new long[hosts.length];
        for (int i = 0; i < applied.length; i++) {
            applied[i] = applied(i);
        }
        Long[] sorted = Arrays.stream(applied).boxed().sorted((a, b) -> Long.compareUnsigned(b, a)).toArray(Long[]::new);
        long candidate = sorted[hosts.length / 2]; // the newest entry that more than half of the members hold
        synchronized (this) {
            if (Long.compareUnsigned(candidate, termStart) >= 0 && Long.compareUnsigned(candidate, committed) > 0) {
                committed = candidate;
                undo.headMap(candidate, true).clear();
            }
            return committed;
        }
    }

    /** What to run, newest first, if the entry at {@code ts} is rolled back. */
    void recordUndo(long ts, List<Runnable> actions) {
        if (hosts.length > 1 && actions.isEmpty() == false) {
            undo.put(ts, new ArrayList<>(actions));
        }
    }

    /** Pauses replication to {@code member} (a secondary): its oplog ends where it is now. */
    void pause(int member) {
        requireMember(member);
        if (member == primary) {
            throw new MongoServerError(2, "BadValue", "member " + member + " is the primary: only a secondary's replication can be paused");
        }
        if (frozen[member] == null) {
            frozen[member] = applied(member);
        }
    }

    /** Lets {@code member} catch up with the primary again (at once). */
    void resume(int member) {
        requireMember(member);
        if (up[member]) {
            frozen[member] = null;
        }
    }

    /** Pauses every secondary: what the primary writes from now on is not majority-committed. */
    void pauseSecondaries() {
        for (int member = 0; member < hosts.length; member++) {
            if (member != primary) {
                pause(member);
            }
        }
    }

    /** Every member that is up catches up at once. */
    void resumeAll() {
        for (int member = 0; member < hosts.length; member++) {
            resume(member);
        }
    }

    /**
     * {@code replSetStepDown}: the primary hands over to the secondary that has applied the most, which must have
     * everything unless {@code force}. Entries the new primary lacks are rolled back. Returns the new primary.
     */
    int stepDown(boolean force) {
        int old = primary;
        if (old < 0) {
            throw new MongoServerError(10107, "NotWritablePrimary", "not primary");
        }
        int next = mostApplied(old);
        if (next < 0) {
            throw new MongoServerError(262, "ExceededTimeLimit", "No electable secondaries caught up as of now; a majority of the members is down");
        }
        if (force == false && Long.compareUnsigned(applied(next), applied(old)) < 0) {
            throw new MongoServerError(262, "ExceededTimeLimit", "No electable secondaries caught up as of now: use force to step down anyway");
        }
        elect(next);
        return next;
    }

    /** The member is killed (its listener is closed by the caller); if it was the primary, another one is elected. */
    void kill(int member) {
        requireMember(member);
        frozen[member] = applied(member);
        up[member] = false;
        if (primary == member) {
            int next = mostApplied(member);
            if (next < 0) {
                primary = -1; // no majority: no primary until a member comes back
            } else {
                elect(next);
            }
        }
    }

    /** A killed member is back, as a secondary that catches up (unless paused again); may make a primary possible. */
    void restart(int member) {
        requireMember(member);
        up[member] = true;
        frozen[member] = null;
        if (primary < 0) {
            int next = mostApplied(-1);
            if (next >= 0) {
                elect(next);
            }
        }
    }

    /** The up member, other than {@code except}, that has applied the most; -1 when no majority of the members is up. */
    private int mostApplied(int except) {
        int upCount = 0;
        int best = -1;
        for (int i = 0; i < hosts.length; i++) {
            if (up[i] == false) {
                continue;
            }
            upCount++;
            if (i != except && (best < 0 || Long.compareUnsigned(applied(i), applied(best)) > 0)) {
                best = i;
            }
        }
        return upCount > hosts.length / 2 ? best : -1;
    }

    private void elect(int member) {
        long keep = applied(member);
        writer.abortOpenTransactions();
        for (int i = 0; i < hosts.length; i++) {
            if (Long.compareUnsigned(applied(i), keep) > 0) {
                rollbackListener.accept(i);
            }
        }
        rollBackAfter(keep);
        for (int i = 0; i < frozen.length; i++) {
            if (frozen[i] != null && Long.compareUnsigned(frozen[i], keep) > 0) {
                frozen[i] = keep; // a paused or down member that had entries the new primary lacks rolls them back too
            }
        }
        frozen[member] = null;
        primary = member;
        writer.newTerm();
        BsonTimestamp newest = store.newestTs();
        termStart = newest == null ? 0 : newest.getValue();
    }

    /** Removes the entries after {@code ts} from the oplog and undoes their writes, newest first. */
    private void rollBackAfter(long ts) {
        NavigableMap<Long, Document> after = store.after(ts, false);
        if (after.isEmpty()) {
            return;
        }
        rollbacks++;
        writer.suppressed(() -> {
            for (Map.Entry<Long, List<Runnable>> entry : undo.tailMap(ts, false).descendingMap().entrySet()) {
                List<Runnable> actions = entry.getValue();
                for (int i = actions.size() - 1; i >= 0; i--) {
                    actions.get(i).run();
                }
            }
            return null;
        });
        undo.tailMap(ts, false).clear();
        store.truncateAfter(ts);
        writer.rolledBackTo();
    }

    private void requireMember(int member) {
        if (member < 0 || member >= hosts.length) {
            throw new MongoServerError(2, "BadValue", "no member " + member + " (members are 0 to " + (hosts.length - 1) + ")");
        }
    }

    /** The member's state as replSetGetStatus names it. */
    String stateName(int member) {
        return up[member] == false ? "(not reachable/healthy)" : primary == member ? "PRIMARY" : "SECONDARY";
    }

    int stateCode(int member) {
        return up[member] == false ? 8 : primary == member ? 1 : 2;
    }

    /** {@code {ts, t}} of the entry at {@code ts} (the null optime for 0). */
    Document opTime(long ts) {
        if (ts == 0) {
            return OplogWriter.nullOpTime();
        }
        Document entry = store.all().get(ts);
        Object t = entry == null ? null : entry.get("t");
        return new Document("ts", new BsonTimestamp(ts)).append("t", t instanceof Number ? ((Number) t).longValue() : writer.term());
    }
}

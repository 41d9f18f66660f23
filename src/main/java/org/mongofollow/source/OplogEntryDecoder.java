package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.mongofollow.apply.DiffApplier;
import org.mongofollow.operation.DocumentIds;
import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentOperation.Kind;
import org.mongofollow.apply.UnapplicableUpdateException;
import org.mongofollow.apply.V1UpdateApplier;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Turns raw oplog entries ({@code local.oplog.rs} documents, MongoDB 4.4 to 8.0) into the document
 * operations of one followed collection (OPLOG-FORMAT.md). Feed it every entry in oplog order; each
 * call returns a {@link DecodedEntry}.
 *
 * <ul>
 *   <li>{@code i}: INDEX of {@code o} ({@code o2} ignored); {@code d}: DELETE of {@code o._id} (shard key
 *       fields ignored); {@code u}: classified like the server's {@code extractUpdateType}: {@code o} with
 *       an {@code _id} anywhere is a replacement (INDEX), {@code $v:2} is a delta (UPDATE_DIFF, the
 *       {@code diff}), otherwise ({@code $v:1} or no {@code $v}) a {@code $set}/{@code $unset} update
 *       (UPDATE_V1); the document is the {@code _id} of {@code o2}. Unsupported update shapes are fatal.</li>
 *   <li>Skipped: every {@code n} entry (periodic no-ops, 4.4 findAndModify images, sharding notes),
 *       {@code fromMigrate:true} entries, other namespaces.</li>
 *   <li>Commands on {@code <db>.$cmd}: {@code drop} of the collection, {@code dropDatabase} of its
 *       database and {@code emptycapped} of the collection give a DROP_ALL barrier; a
 *       {@code renameCollection} from or to the followed namespace is fatal (the collection's content
 *       can no longer be followed faithfully), and so is a {@code create} of the followed name as a view or a
 *       time-series collection; {@code create}, {@code createIndexes}, index builds,
 *       {@code dropIndexes} and {@code collMod} are skipped; any other command naming the collection is
 *       fatal, other commands are skipped.</li>
 *   <li>{@code applyOps} (on {@code admin.$cmd}; nested applyOps are flattened): the operations of the
 *       followed namespace in order, all at the entry's position with increasing
 *       {@code indexInEntry}. With {@code lsid} and {@code txnNumber} it is a transaction:
 *       {@code partialTxn:true} entries are buffered until the final entry of the chain (which commits
 *       it), {@code prepare:true} ends a prepared transaction whose operations are applied at its
 *       {@code commitTransaction} entry and discarded at {@code abortTransaction}. An applyOps with
 *       {@code multiOpType:1} (8.0 vectored inserts) or without session fields is applied at once.
 *       A transaction's operations take the position of the entry that commits it.</li>
 *   <li>Retryable writes (plain entries with {@code lsid}/{@code txnNumber}/{@code stmtId}) are applied
 *       like any entry.</li>
 * </ul>
 *
 * The decoder holds state only for open transactions (keyed by {@code lsid} and {@code txnNumber}). A
 * follower's checkpoint must not pass {@link #oldestOpenTransactionPosition()}: on a restart the
 * entries from there must be read again (with a new decoder) so the buffered operations are not lost.
 * Not thread-safe.
 */
public final class OplogEntryDecoder {

    /** Commands that never change the documents of a collection. */
    private static final Set<String> IGNORED_COMMANDS = Set.of(
        "create", "createIndexes", "startIndexBuild", "commitIndexBuild", "abortIndexBuild", "dropIndexes",
        "deleteIndexes", "collMod"
    );
    private static final int MAX_APPLY_OPS_DEPTH = 16;

    private final String database;
    private final String collection;
    private final String namespace;
    private final Map<TransactionKey, OpenTransaction> openTransactions = new LinkedHashMap<>();

    /** A decoder for the collection {@code database.collection}. */
    public OplogEntryDecoder(String database, String collection) {
        this.database = Objects.requireNonNull(database, "database");
        this.collection = Objects.requireNonNull(collection, "collection");
        if (database.isEmpty() || collection.isEmpty() || database.contains(".")) {
            throw new IllegalArgumentException("invalid namespace [" + database + "." + collection + "]");
        }
        this.namespace = database + "." + collection;
    }

    /** The followed namespace, {@code db.collection}. */
    public String namespace() {
        return namespace;
    }

    /**
     * The position of the first entry of the oldest transaction that has buffered entries but is not
     * committed or aborted yet; empty when no transaction is open. A checkpoint must stay below it:
     * after a restart, reading must start at or before this entry, with a new decoder.
     */
    public Optional<OplogPosition> oldestOpenTransactionPosition() {
        OplogPosition oldest = null;
        for (OpenTransaction txn : openTransactions.values()) {
            if (oldest == null || txn.firstPosition.compareTo(oldest) < 0) {
                oldest = txn.firstPosition;
            }
        }
        return Optional.ofNullable(oldest);
    }

    /** How many transactions are open (buffered, not committed or aborted yet). */
    public int openTransactionCount() {
        return openTransactions.size();
    }

    /** Decodes the next oplog entry. */
    public DecodedEntry decode(BsonDocument entry) {
        BsonValue ts = entry.get("ts");
        if (ts == null || ts.isTimestamp() == false) {
            return DecodedEntry.fatal(OplogPosition.MIN, "malformed oplog entry without a timestamp 'ts': " + abbreviate(entry));
        }
        OplogPosition position = OplogPosition.of(ts.asTimestamp().getTime(), ts.asTimestamp().getInc());
        try {
            return decode(entry, position);
        } catch (FatalEntryException e) {
            return DecodedEntry.fatal(position, e.getMessage());
        }
    }

    private DecodedEntry decode(BsonDocument entry, OplogPosition position) {
        String op = string(entry, "op");
        if (op == null) {
            throw new FatalEntryException("malformed oplog entry without 'op' at " + position + ": " + abbreviate(entry));
        }
        if (op.equals("n")) {
            return DecodedEntry.skipped(position, "no-op entry");
        }
        if (isTrue(entry, "fromMigrate")) {
            return DecodedEntry.skipped(position, "chunk migration entry (fromMigrate)");
        }
        if (op.equals("c")) {
            return decodeCommand(entry, position);
        }
        String ns = string(entry, "ns");
        if (namespace.equals(ns) == false) {
            return DecodedEntry.skipped(position, "other namespace [" + ns + "]");
        }
        return DecodedEntry.operations(position, List.of(crud(entry, op, position, 0)));
    }

    // ---- commands ------------------------------------------------------------------------------

    private DecodedEntry decodeCommand(BsonDocument entry, OplogPosition position) {
        BsonDocument o = document(entry, "o", position);
        String command = firstKey(o);
        switch (command == null ? "" : command) {
            case "applyOps":
                return applyOps(entry, o, position);
            case "commitTransaction":
                return commitTransaction(entry, position);
            case "abortTransaction":
                return abortTransaction(entry, position);
            default:
                String skipReason = command(entry, o, command, position);
                return skipReason == null
                    ? DecodedEntry.operations(position, List.of(DocumentOperation.dropAll(position, 0)))
                    : DecodedEntry.skipped(position, skipReason);
        }
    }

    /** Null when the command empties the followed collection (DROP_ALL), else the reason it is skipped. */
    private String command(BsonDocument entry, BsonDocument o, String command, OplogPosition position) {
        String ns = string(entry, "ns");
        if (ns == null || ns.endsWith(".$cmd") == false) {
            return "command on namespace [" + ns + "]";
        }
        String commandDb = ns.substring(0, ns.length() - ".$cmd".length());
        if ("renameCollection".equals(command)) {
            String from = string(o, "renameCollection");
            String to = string(o, "to");
            if (namespace.equals(from)) {
                throw new FatalEntryException("the followed collection [" + namespace + "] was renamed to [" + to + "] at "
                    + position + "; the follow cannot go on: follow [" + to + "] with a new follow (or rename it back and "
                    + "resync)");
            }
            if (namespace.equals(to)) {
                throw new FatalEntryException("collection [" + from + "] was renamed onto the followed namespace ["
                    + namespace + "] at " + position + (o.containsKey("dropTarget") ? ", replacing the followed collection" : "")
                    + "; its documents are not in the oplog, so the follower cannot reproduce the new content: resync the follow");
            }
            return "rename of another collection";
        }
        if (commandDb.equals(database) == false) {
            return "command on another database";
        }
        if (command == null) {
            throw new FatalEntryException("malformed command entry with an empty 'o' at " + position);
        }
        BsonValue target = o.get(command);
        boolean namesCollection = target.isString() && target.asString().getValue().equals(collection);
        switch (command) {
            case "drop", "emptycapped":
                return namesCollection ? null : command + " of another collection";
            case "dropDatabase":
                return null;
            case "create":
                if (namesCollection && (o.containsKey("viewOn") || o.containsKey("timeseries"))) {
                    throw new FatalEntryException("the followed namespace [" + namespace + "] was created as a "
                        + (o.containsKey("timeseries") ? "time-series collection" : "view on [" + o.get("viewOn") + "]") + " at "
                        + position + ": its documents are not written to the oplog under this namespace (a view has none, "
                        + "a time-series collection stores buckets in system.buckets." + collection + "), so the follow stops");
                }
                return "create does not change documents";
            default:
                if (IGNORED_COMMANDS.contains(command)) {
                    return command + " does not change documents";
                }
                if (namesCollection) {
                    throw new FatalEntryException("unsupported command [" + command + "] on the followed collection ["
                        + namespace + "] at " + position + ": its effect on the documents is unknown, so the follow stops "
                        + "rather than diverge: " + abbreviate(o));
                }
                return "command [" + command + "] does not concern the followed collection";
        }
    }

    // ---- applyOps and transactions -----------------------------------------------------------------

    private DecodedEntry applyOps(BsonDocument entry, BsonDocument o, OplogPosition position) {
        BsonArray ops = applyOpsArray(o, position);
        boolean partial = isTrue(o, "partialTxn") || isTrue(entry, "partialTxn");
        boolean prepare = isTrue(o, "prepare") || isTrue(entry, "prepare");
        BsonValue multiOpType = entry.get("multiOpType");
        boolean vectoredInsert = multiOpType != null && multiOpType.isNumber() && multiOpType.asNumber().intValue() == 1;
        TransactionKey key = transactionKey(entry);

        if (vectoredInsert || key == null) {
            if (key == null && (partial || prepare)) {
                throw new FatalEntryException("malformed transaction entry at " + position
                    + ": partialTxn/prepare without lsid and txnNumber");
            }
            List<DocumentOperation> operations = new ArrayList<>();
            unpack(ops, operations, position, 0);
            return emit(position, operations, vectoredInsert ? "vectored insert" : "applyOps");
        }
        if (partial || prepare) {
            OpenTransaction txn = openTransactions.computeIfAbsent(key, k -> new OpenTransaction(position));
            if (txn.prepared) {
                throw new FatalEntryException("transaction " + key + " has an entry after its prepare entry at " + position);
            }
            if (txn.fatal == null) {
                try {
                    unpack(ops, txn.operations, position, 0);
                } catch (FatalEntryException e) {
                    txn.fatal = e.getMessage(); // only fatal if the transaction commits
                    txn.operations.clear();
                }
            }
            txn.prepared = prepare;
            return DecodedEntry.buffered(position, prepare
                ? "prepared transaction " + key + ", applied at its commitTransaction"
                : "partial transaction " + key + ", applied when the transaction commits");
        }
        // the final entry of an unprepared transaction commits it (with the entries buffered before)
        OpenTransaction txn = openTransactions.remove(key);
        if (txn == null && hasPreviousEntry(entry)) {
            throw new FatalEntryException("the last entry of transaction " + key + " at " + position + " follows entries "
                + "that were not read (prevOpTime " + entry.get("prevOpTime") + "); the transaction's operations are "
                + "incomplete: resume from a position before the transaction's first entry");
        }
        if (txn != null && txn.prepared) {
            throw new FatalEntryException("transaction " + key + " has an unprepared applyOps after its prepare entry at " + position);
        }
        if (txn != null && txn.fatal != null) {
            throw new FatalEntryException(txn.fatal);
        }
        List<DocumentOperation> operations = txn == null ? new ArrayList<>() : txn.operations;
        unpack(ops, operations, position, 0);
        return emit(position, operations, "transaction");
    }

    private DecodedEntry commitTransaction(BsonDocument entry, OplogPosition position) {
        TransactionKey key = transactionKey(entry);
        if (key == null) {
            throw new FatalEntryException("malformed commitTransaction at " + position + " without lsid and txnNumber");
        }
        OpenTransaction txn = openTransactions.remove(key);
        if (txn == null) {
            throw new FatalEntryException("commitTransaction of transaction " + key + " at " + position + " whose prepare "
                + "entry was not read: its operations are unknown; resume from a position before the transaction's first entry");
        }
        if (txn.fatal != null) {
            throw new FatalEntryException(txn.fatal);
        }
        return emit(position, txn.operations, "prepared transaction");
    }

    private DecodedEntry abortTransaction(BsonDocument entry, OplogPosition position) {
        TransactionKey key = transactionKey(entry);
        OpenTransaction txn = key == null ? null : openTransactions.remove(key);
        if (txn == null) {
            return DecodedEntry.skipped(position, "abortTransaction of a transaction with no buffered entries");
        }
        return DecodedEntry.skipped(position, "abortTransaction: " + txn.operations.size() + " buffered operations discarded");
    }

    private DecodedEntry emit(OplogPosition position, List<DocumentOperation> operations, String what) {
        if (operations.isEmpty()) {
            return DecodedEntry.skipped(position, what + " without operations on [" + namespace + "]");
        }
        List<DocumentOperation> stamped = new ArrayList<>(operations.size());
        for (int i = 0; i < operations.size(); i++) {
            stamped.add(operations.get(i).at(position, i));
        }
        return DecodedEntry.operations(position, stamped);
    }

    /** Appends the operations of {@code ops} (an applyOps array) on the followed collection to {@code out}. */
    private void unpack(BsonArray ops, List<DocumentOperation> out, OplogPosition position, int depth) {
        if (depth > MAX_APPLY_OPS_DEPTH) {
            throw new FatalEntryException("applyOps nested deeper than " + MAX_APPLY_OPS_DEPTH + " levels at " + position);
        }
        for (BsonValue value : ops) {
            if (value.isDocument() == false) {
                throw new FatalEntryException("malformed applyOps at " + position + ": an operation is a " + value.getBsonType());
            }
            BsonDocument inner = value.asDocument();
            String op = string(inner, "op");
            if (op == null) {
                throw new FatalEntryException("malformed applyOps at " + position + ": operation without 'op': " + abbreviate(inner));
            }
            if (op.equals("n") || isTrue(inner, "fromMigrate")) {
                continue;
            }
            if (op.equals("c")) {
                BsonDocument o = document(inner, "o", position);
                String command = firstKey(o);
                if ("applyOps".equals(command)) {
                    unpack(applyOpsArray(o, position), out, position, depth + 1);
                } else if (command(inner, o, command, position) == null) {
                    out.add(DocumentOperation.dropAll(position, out.size()));
                }
                continue;
            }
            if (namespace.equals(string(inner, "ns"))) {
                out.add(crud(inner, op, position, out.size()));
            }
        }
    }

    private static boolean hasPreviousEntry(BsonDocument entry) {
        BsonValue prev = entry.get("prevOpTime");
        if (prev == null || prev.isDocument() == false) {
            return false;
        }
        BsonValue ts = prev.asDocument().get("ts");
        return ts != null && ts.isTimestamp() && ts.asTimestamp().getValue() != 0;
    }

    private static TransactionKey transactionKey(BsonDocument entry) {
        BsonValue lsid = entry.get("lsid");
        BsonValue txnNumber = entry.get("txnNumber");
        if (lsid == null || txnNumber == null || lsid.isDocument() == false || txnNumber.isNumber() == false) {
            return null;
        }
        return new TransactionKey(lsid.asDocument().toJson(), txnNumber.asNumber().longValue());
    }

    private static BsonArray applyOpsArray(BsonDocument o, OplogPosition position) {
        BsonValue ops = o.get("applyOps");
        if (ops == null || ops.isArray() == false) {
            throw new FatalEntryException("malformed applyOps at " + position + ": applyOps is not an array");
        }
        return ops.asArray();
    }

    // ---- CRUD ------------------------------------------------------------------------------------

    private DocumentOperation crud(BsonDocument entry, String op, OplogPosition position, int index) {
        switch (op) {
            case "i": {
                BsonDocument o = document(entry, "o", position);
                return DocumentOperation.of(Kind.INDEX, position, index, id(o, "insert", position), o);
            }
            case "d": {
                BsonDocument o = document(entry, "o", position);
                return DocumentOperation.of(Kind.DELETE, position, index, id(o, "delete", position), DocumentOperation.documentKeyFields(o));
            }
            case "u": {
                BsonDocument o = document(entry, "o", position);
                BsonValue o2 = entry.get("o2");
                BsonValue key = o2 != null && o2.isDocument() ? o2.asDocument().get("_id") : null;
                if (o.containsKey("_id")) {
                    return DocumentOperation.of(Kind.INDEX, position, index, key != null ? key : o.get("_id"), o);
                }
                if (key == null) {
                    throw new FatalEntryException("update entry at " + position + " without a document key (o2._id): " + abbreviate(entry));
                }
                BsonValue version = o.get("$v");
                if (version != null && version.isNumber() && version.asNumber().intValue() == 2 && version.asNumber().doubleValue() == 2) {
                    BsonValue diff = o.get("diff");
                    if (diff == null || diff.isDocument() == false) {
                        throw new FatalEntryException("$v:2 update entry at " + position + " without a 'diff' document: " + abbreviate(o));
                    }
                    try {
                        DiffApplier.checkSupported(diff.asDocument());
                    } catch (UnapplicableUpdateException e) {
                        throw new FatalEntryException("update at " + position + " of document [" + DocumentIds.toElasticsearchId(key) + "] cannot be applied: " + e.getMessage());
                    }
                    return DocumentOperation.of(Kind.UPDATE_DIFF, position, index, key, diff.asDocument());
                }
                try {
                    V1UpdateApplier.checkSupported(o);
                } catch (UnapplicableUpdateException e) {
                    throw new FatalEntryException("update at " + position + " of document [" + DocumentIds.toElasticsearchId(key) + "] cannot be applied: " + e.getMessage());
                }
                return DocumentOperation.of(Kind.UPDATE_V1, position, index, key, o);
            }
            default:
                throw new FatalEntryException("unknown operation type [" + op + "] on the followed collection at " + position
                    + ": " + abbreviate(entry));
        }
    }

    private static BsonValue id(BsonDocument o, String what, OplogPosition position) {
        BsonValue id = o.get("_id");
        if (id == null) {
            throw new FatalEntryException(what + " entry at " + position + " without _id: " + abbreviate(o));
        }
        return id;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static BsonDocument document(BsonDocument entry, String field, OplogPosition position) {
        BsonValue value = entry.get(field);
        if (value == null || value.isDocument() == false) {
            throw new FatalEntryException("malformed oplog entry at " + position + ": '" + field + "' is not a document: " + abbreviate(entry));
        }
        return value.asDocument();
    }

    private static String string(BsonDocument document, String field) {
        BsonValue value = document.get(field);
        return value != null && value.isString() ? value.asString().getValue() : null;
    }

    private static boolean isTrue(BsonDocument document, String field) {
        BsonValue value = document.get(field);
        return value != null && value.isBoolean() && value.asBoolean().getValue();
    }

    private static String firstKey(BsonDocument document) {
        Iterator<String> keys = document.keySet().iterator();
        return keys.hasNext() ? keys.next() : null;
    }

    private static String abbreviate(BsonDocument document) {
        String json = document.toJson();
        return json.length() > 500 ? json.substring(0, 500) + "..." : json;
    }

    /** A transaction's identity: its session ({@code lsid}, as JSON) and {@code txnNumber}. */
    private record TransactionKey(String lsid, long txnNumber) {
        @Override
        public String toString() {
            return "{lsid: " + lsid + ", txnNumber: " + txnNumber + "}";
        }
    }

    private static final class OpenTransaction {
        final OplogPosition firstPosition;
        final List<DocumentOperation> operations = new ArrayList<>();
        boolean prepared;
        String fatal;

        OpenTransaction(OplogPosition firstPosition) {
            this.firstPosition = firstPosition;
        }
    }

    /** Carries a fatal decision's explanation up to {@link #decode(BsonDocument)}. */
    private static final class FatalEntryException extends RuntimeException {
        FatalEntryException(String message) {
            super(message, null, false, false);
        }
    }
}

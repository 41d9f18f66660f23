package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Makes the decoding of transactions independent of read order. A transaction that spans several oplog
 * entries ({@code partialTxn} chains, prepared transactions) takes effect at its last entry (the final
 * {@code applyOps}, or {@code commitTransaction}), which links back to the earlier ones through
 * {@code prevOpTime}. So the entries before the last are skipped where they are read, and the last one is
 * decoded together with its chain, fetched from the oplog by position: parallel range reads in any order
 * decode every transaction exactly once, whole, at its commit position.
 */
public final class TransactionChains {

    /** Finds an oplog entry by its position; null when the oplog no longer holds it. */
    @FunctionalInterface
    public interface EntryLookup {
        BsonDocument entryAt(OplogPosition position);
    }

    /** An entry of a transaction's chain is no longer in the oplog. */
    public static final class MissingEntryException extends RuntimeException {
        MissingEntryException(String message) {
            super(message);
        }
    }

    /**
     * A transaction whose earlier entries alone are larger than the node's whole memory budget for follows: it can never
     * be decoded under that budget, so the follow stops with this explanation instead of retrying for ever.
     */
    public static final class TooLargeException extends RuntimeException {
        public TooLargeException(String message) {
            super(message);
        }
    }

    private TransactionChains() {}

    /**
     * What {@code entry} means for a follow of {@code database.collection}, decoded with its transaction's earlier entries
     * ({@link #sequence}) by a fresh {@link OplogEntryDecoder} (no state shared across reads or threads); null when the
     * entry opens or continues a transaction, which is decoded with its commit entry.
     *
     * @throws MissingEntryException when the oplog no longer holds an earlier entry of its transaction
     */
    public static DecodedEntry decode(BsonDocument entry, EntryLookup lookup, String database, String collection) {
        List<BsonDocument> sequence = sequence(entry, lookup);
        if (sequence.isEmpty()) {
            return null;
        }
        OplogEntryDecoder decoder = new OplogEntryDecoder(database, collection);
        DecodedEntry decoded = null;
        for (BsonDocument part : sequence) {
            decoded = decoder.decode(part);
        }
        return decoded;
    }

    /**
     * The entries to decode, in order, for {@code entry}: empty when it opens or continues a transaction
     * that a later entry commits (or it aborts one), the chain and the entry when it commits one, the
     * entry alone otherwise.
     */
    public static List<BsonDocument> sequence(BsonDocument entry, EntryLookup lookup) {
        if (isAdminCommand(entry) == false) {
            return List.of(entry);
        }
        BsonDocument o = entry.getDocument("o");
        String command = o.isEmpty() ? "" : o.getFirstKey();
        switch (command) {
            case "applyOps" -> {
                if (isTrue(o, "partialTxn") || isTrue(entry, "partialTxn") || isTrue(o, "prepare") || isTrue(entry, "prepare")) {
                    return List.of();
                }
                BsonValue multiOpType = entry.get("multiOpType");
                if (multiOpType != null && multiOpType.isNumber() && multiOpType.asNumber().intValue() == 1) {
                    return List.of(entry);
                }
                return withChain(entry, lookup);
            }
            case "commitTransaction" -> {
                return withChain(entry, lookup);
            }
            case "abortTransaction" -> {
                return List.of();
            }
            default -> {
                return List.of(entry);
            }
        }
    }

    private static List<BsonDocument> withChain(BsonDocument last, EntryLookup lookup) {
        Deque<BsonDocument> chain = new ArrayDeque<>();
        chain.addFirst(last);
        OplogPosition previous = previous(last);
        while (previous != null) {
            BsonDocument entry = lookup.entryAt(previous);
            if (entry == null) {
                throw new MissingEntryException(
                    "entry " + previous + " of the transaction that commits at " + OplogReader.position(last) + " is no longer in the oplog"
                );
            }
            chain.addFirst(entry);
            previous = previous(entry);
        }
        return List.copyOf(chain);
    }

    /** The {@code prevOpTime} of a transaction entry, or null for the first entry (Timestamp(0, 0)) or none. */
    private static OplogPosition previous(BsonDocument entry) {
        BsonValue prevOpTime = entry.get("prevOpTime");
        if (prevOpTime == null || prevOpTime.isDocument() == false) {
            return null;
        }
        BsonValue ts = prevOpTime.asDocument().get("ts");
        if (ts == null || ts.isTimestamp() == false || ts.asTimestamp().getValue() == 0) {
            return null;
        }
        return OplogPosition.of(ts.asTimestamp());
    }

    private static boolean isAdminCommand(BsonDocument entry) {
        // one look-up at a time: each scans a raw entry, and most entries are not commands
        BsonValue op = entry.get("op");
        if (op == null || op.isString() == false || op.asString().getValue().equals("c") == false) {
            return false;
        }
        BsonValue ns = entry.get("ns");
        if (ns == null || ns.isString() == false || ns.asString().getValue().equals("admin.$cmd") == false) {
            return false;
        }
        BsonValue o = entry.get("o");
        return o != null && o.isDocument();
    }

    private static boolean isTrue(BsonDocument document, String field) {
        BsonValue value = document.get(field);
        return value != null && value.isBoolean() && value.asBoolean().getValue();
    }
}

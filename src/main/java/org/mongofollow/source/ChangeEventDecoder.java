package org.mongofollow.source;

import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentOperation.Kind;
import org.mongofollow.operation.OplogPosition;

import org.bson.BsonDocument;
import org.bson.BsonValue;

import java.util.List;

/**
 * What one change event of a collection's stream means for its follower, as {@link OplogEntryDecoder} says it of an oplog
 * entry:
 * <ul>
 *   <li>{@code insert} and {@code replace}: index {@code fullDocument};</li>
 *   <li>{@code update}: apply {@code updateDescription} to the follower's document (UPDATE_DESCRIPTION: updatedFields,
 *       removedFields, truncatedArrays, disambiguatedPaths), or, on a stream with {@code fullDocument: updateLookup} that
 *       found the document, index the document as the look-up found it;</li>
 *   <li>{@code delete}: delete;</li>
 *   <li>{@code drop} and {@code dropDatabase}: empty the follower (the barrier DROP_ALL), as the same commands in the
 *       oplog;</li>
 *   <li>{@code rename} of the collection: the follow stops, explained, as in oplog mode;</li>
 *   <li>{@code invalidate} and the events of {@code showExpandedEvents} (create, createIndexes, modify, ...): nothing to
 *       do.</li>
 * </ul>
 * Events that share a cluster time (a transaction's, a batched write's) are numbered in stream order by
 * {@code indexInTime}, as the operations of one applyOps entry are.
 */
public final class ChangeEventDecoder {

    private ChangeEventDecoder() {}

    public static DecodedEntry decode(BsonDocument event, OplogPosition position, int indexInTime, String namespace) {
        String type = ChangeStreamReader.operationType(event);
        switch (type) {
            case "insert", "replace" -> {
                BsonValue document = event.get("fullDocument");
                if (document == null || document.isDocument() == false) {
                    return DecodedEntry.fatal(position, "the " + type + " event at " + position + " has no fullDocument");
                }
                return operation(Kind.INDEX, event, position, indexInTime, document.asDocument());
            }
            case "update" -> {
                BsonValue document = event.get("fullDocument");
                if (document != null && document.isDocument()) {
                    return operation(Kind.INDEX, event, position, indexInTime, document.asDocument()); // fullDocument: updateLookup
                }
                BsonValue description = event.get("updateDescription");
                if (description == null || description.isDocument() == false) {
                    return DecodedEntry.fatal(position, "the update event at " + position + " has no updateDescription");
                }
                return operation(Kind.UPDATE_DESCRIPTION, event, position, indexInTime, description.asDocument());
            }
            case "delete" -> {
                BsonValue key = event.get("documentKey");
                return operation(Kind.DELETE, event, position, indexInTime, key != null && key.isDocument() ? DocumentOperation.documentKeyFields(key.asDocument()) : null);
            }
            case "drop", "dropDatabase" -> {
                return DecodedEntry.operations(position, List.of(DocumentOperation.dropAll(position, indexInTime)));
            }
            case "rename" -> {
                return DecodedEntry.fatal(
                    position,
                    "the followed collection ["
                        + namespace
                        + "] was renamed to ["
                        + renamedTo(event)
                        + "] at "
                        + position
                        + "; the follow cannot go on: follow ["
                        + renamedTo(event)
                        + "] with a new follow (or rename it back and resync)"
                );
            }
            case "invalidate" -> {
                return DecodedEntry.skipped(position, "the stream ends (its collection was dropped or renamed)");
            }
            default -> {
                return DecodedEntry.skipped(position, type + " does not change documents");
            }
        }
    }

    private static DecodedEntry operation(Kind kind, BsonDocument event, OplogPosition position, int indexInTime, BsonDocument payload) {
        BsonValue key = event.get("documentKey");
        BsonValue id = key != null && key.isDocument() ? key.asDocument().get("_id") : null;
        if (id == null) {
            return DecodedEntry.fatal(position, "the " + ChangeStreamReader.operationType(event) + " event at " + position + " has no documentKey._id");
        }
        return DecodedEntry.operations(position, List.of(DocumentOperation.of(kind, position, indexInTime, id, payload)));
    }

    private static String renamedTo(BsonDocument event) {
        BsonValue to = event.get("to");
        if (to != null && to.isDocument() && to.asDocument().get("db") != null && to.asDocument().get("coll") != null) {
            return to.asDocument().get("db").asString().getValue() + "." + to.asDocument().get("coll").asString().getValue();
        }
        return "?";
    }
}

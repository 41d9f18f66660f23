package org.mongofollow.operation;

import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.bson.codecs.EncoderContext;
import org.bson.io.BasicOutputBuffer;
import org.bson.BsonBinaryWriter;
import java.util.Objects;

/**
 * One change to one follower document (or, for {@link Kind#DROP_ALL}, to all of them), decoded from
 * an oplog entry.
 *
 * @param kind         what to do
 * @param position     the oplog position the change takes effect at (for a transaction: its commit entry)
 * @param indexInEntry the order of this operation among the operations sharing {@code position}
 *                     (0 for a plain entry; the running index inside a transaction or applyOps)
 * @param documentId   the Elasticsearch {@code _id} ({@link DocumentIds#toElasticsearchId}); null for DROP_ALL
 * @param mongoId      the MongoDB {@code _id} value as it is in the oplog (for look-ups); null for DROP_ALL
 * @param payload      INDEX: the full MongoDB document as logged, {@code _id} included ({@code BsonToJson.toSource}
 *                     leaves it out of {@code _source}); UPDATE_DIFF: the {@code diff} document of a {@code $v:2}
 *                     entry; UPDATE_V1: the whole {@code o} ({@code {$v:1, $set:{..}, $unset:{..}}});
 *                     UPDATE_DESCRIPTION: the {@code updateDescription} of a change event;
 *                     DELETE: the fields of the document key besides {@code _id} (a sharded collection's shard key
 *                     values: {@link #documentKeyFields}), or null when it has none; DROP_ALL: null
 * @param sizeInBytes  an estimate of the memory/bytes this operation stands for (BSON size of the payload plus
 *                     a small constant), for buffer budgets
 */
public record DocumentOperation(
    Kind kind,
    OplogPosition position,
    int indexInEntry,
    String documentId,
    BsonValue mongoId,
    BsonDocument payload,
    long sizeInBytes
) implements FollowOperation {

    /** What an operation does. */
    public enum Kind {
        /** Index the full document in {@code payload} (an insert or a replacement). */
        INDEX,
        /** Apply the {@code $v:2} diff in {@code payload} to the current document ({@code DiffApplier}). */
        UPDATE_DIFF,
        /** Apply the {@code $v:1} {@code $set}/{@code $unset} update in {@code payload} ({@code V1UpdateApplier}). */
        UPDATE_V1,
        /** Apply a change event's {@code updateDescription} in {@code payload} ({@code UpdateDescriptionApplier}). */
        UPDATE_DESCRIPTION,
        /** Delete the document. */
        DELETE,
        /** Remove every document of the follower (the collection or its database was dropped); a barrier. */
        DROP_ALL
    }

    /** Fixed per-operation overhead counted in {@link #sizeInBytes()}. */
    public static final long OVERHEAD_BYTES = 64;

    public DocumentOperation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(position, "position");
        if (kind == Kind.DROP_ALL) {
            if (documentId != null || mongoId != null || payload != null) {
                throw new IllegalArgumentException("DROP_ALL has no document id and no payload");
            }
        } else {
            Objects.requireNonNull(documentId, "documentId");
            Objects.requireNonNull(mongoId, "mongoId");
            if (kind != Kind.DELETE && payload == null) {
                throw new IllegalArgumentException(kind + " needs a payload");
            }
        }
    }

    /** An operation of the given kind for one document, its size estimated from the payload. */
    public static DocumentOperation of(Kind kind, OplogPosition position, int indexInEntry, BsonValue mongoId, BsonDocument payload) {
        String id = DocumentIds.toElasticsearchId(mongoId);
        BsonDocument own = ownBytes(payload);
        BsonValue ownId = mongoId instanceof BsonDocument document ? ownBytes(document) : mongoId;
        return new DocumentOperation(kind, position, indexInEntry, id, ownId, own, OVERHEAD_BYTES + id.length() + bsonSize(own));
    }

    /**
     * A raw document that is a small part of a larger one (an operation of an {@code applyOps} entry: a transaction, a
     * vectored insert, up to 16 MB) as a copy of its own bytes: a slice would keep the whole entry alive for as long as
     * any shard buffers the operation, while only the slice is counted. A slice that is most of its entry (the {@code o}
     * of a plain insert) stays a slice: copying it would save nothing.
     */
    static BsonDocument ownBytes(BsonDocument document) {
        if (document instanceof RawBsonDocument raw) {
            java.nio.ByteBuffer bytes = raw.getByteBuffer().asNIO();
            int size = bytes.remaining();
            if (bytes.hasArray() && bytes.array().length > 2L * size + SLICE_SLACK_BYTES) {
                byte[] copy = new byte[size];
                bytes.get(copy);
                return new RawBsonDocument(copy);
            }
        }
        return document;
    }

    /**
     * What this operation holds beyond the oplog entry it was decoded from: its overhead and id, and its payload when
     * that is a copy of its own ({@link #ownBytes}) rather than a slice of the entry.
     */
    public long heldBeyondEntryBytes() {
        long held = sizeInBytes;
        if (payload instanceof RawBsonDocument raw) {
            java.nio.ByteBuffer bytes = raw.getByteBuffer().asNIO();
            if (bytes.hasArray() && bytes.array().length > bytes.remaining()) {
                held -= bytes.remaining(); // a slice of the entry: its bytes are the entry's
            }
        }
        return Math.max(OVERHEAD_BYTES, held);
    }

    /** How much larger than twice a slice its entry may be before the slice is copied out. */
    static final int SLICE_SLACK_BYTES = 4096;

    /**
     * The fields of a document key besides {@code _id}: on a sharded collection, the shard key's values ({@code {sk..., _id}},
     * OPLOG-FORMAT.md section 2), which tell the document a delete removed from another with the same {@code _id} (see
     * {@code DocumentKeys}); null when the key is {@code _id} alone.
     */
    public static BsonDocument documentKeyFields(BsonDocument documentKey) {
        if (documentKey.size() <= 1) {
            return null;
        }
        BsonDocument fields = new BsonDocument();
        for (var field : documentKey.entrySet()) {
            if (field.getKey().equals("_id") == false) {
                fields.append(field.getKey(), field.getValue());
            }
        }
        return fields.isEmpty() ? null : fields;
    }

    /** A DROP_ALL barrier. */
    public static DocumentOperation dropAll(OplogPosition position, int indexInEntry) {
        return new DocumentOperation(Kind.DROP_ALL, position, indexInEntry, null, null, null, OVERHEAD_BYTES);
    }

    /** The same operation at another position and index (transactions take effect at their commit entry). */
    public DocumentOperation at(OplogPosition newPosition, int newIndexInEntry) {
        return new DocumentOperation(kind, newPosition, newIndexInEntry, documentId, mongoId, payload, sizeInBytes);
    }

    /** The BSON size of a document: exact for a {@link RawBsonDocument}, by encoding otherwise; 0 for null. */
    static long bsonSize(BsonDocument document) {
        if (document == null) {
            return 0;
        }
        if (document instanceof RawBsonDocument raw) {
            return raw.getByteBuffer().remaining();
        }
        try (BasicOutputBuffer buffer = new BasicOutputBuffer(); BsonBinaryWriter writer = new BsonBinaryWriter(buffer)) {
            new BsonDocumentCodec().encode(writer, document, EncoderContext.builder().build());
            return buffer.getPosition();
        }
    }

    @Override
    public String toString() {
        return kind + "[" + position + "#" + indexInEntry + (documentId == null ? "" : " " + documentId) + "]";
    }
}

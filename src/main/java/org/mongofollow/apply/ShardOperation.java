package org.mongofollow.apply;

import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentVersions;

import org.bson.BsonDocument;
import org.bson.RawBsonDocument;
import org.bson.codecs.BsonDocumentCodec;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One document write that a shard follow task sends to the follower shard's primary: the document's
 * Elasticsearch {@code _id}, the oplog position as external version, and what to do.
 *
 * @param kind    what to do
 * @param id      the document's Elasticsearch {@code _id}
 * @param version the oplog position of the operation (the document's external version)
 * @param payload {@link Kind#INDEX}: the JSON {@code _source}; {@link Kind#UPDATE_DIFF} and
 *                {@link Kind#UPDATE_V1}: the update's BSON ({@code o} of the oplog entry); {@link Kind#UPDATE_DESCRIPTION}:
 *                the change event's {@code updateDescription}; {@link Kind#DELETE}: empty, or the JSON of the document
 *                key's fields besides {@code _id} (a sharded collection's shard key values), which the primary deletes
 *                only a document that does not contradict ({@link DocumentKeys}); {@link Kind#MARK_DELETED}: the marks and that
 *                key ({@link OnDelete#deleteOf})
 */
public record ShardOperation(Kind kind, String id, long version, BytesReference payload) implements Writeable {

    public enum Kind {
        /** Index the full document (an insert, a replacement, a copied or looked-up document). */
        INDEX,
        /** Apply a {@code $v:2} delta to the current document. */
        UPDATE_DIFF,
        /** Apply a {@code $v:1} {@code $set}/{@code $unset} update to the current document. */
        UPDATE_V1,
        /** Delete the document. */
        DELETE,
        /** Apply a change event's {@code updateDescription} to the current document. */
        UPDATE_DESCRIPTION,
        /** MongoDB deleted the document, and the follow keeps it marked ({@link OnDelete}): the payload holds the marks. */
        MARK_DELETED;

        /** Whether this kind changes the current document rather than replacing or deleting it. */
        public boolean isUpdate() {
            return this == UPDATE_DIFF || this == UPDATE_V1 || this == UPDATE_DESCRIPTION;
        }
    }

    public ShardOperation {
        Objects.requireNonNull(kind);
        Objects.requireNonNull(id);
        Objects.requireNonNull(payload);
        if (version < 0) {
            throw new IllegalArgumentException("an external version is never negative, got " + version);
        }
    }

    public ShardOperation(StreamInput in) throws IOException {
        this(in.readEnum(Kind.class), in.readString(), in.readVLong(), in.readBytesReference());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeEnum(kind);
        out.writeString(id);
        out.writeVLong(version);
        out.writeBytesReference(payload);
    }

    /**
     * The index operation of a MongoDB document: its fields selected by {@code fields}, under the BSON to JSON mapping
     * ({@link BsonToJson#source}), as {@code _source}.
     *
     * @throws RejectedDocumentException when a selected value or field name cannot be taken
     */
    public static ShardOperation index(String id, long version, BsonDocument document, FieldSelection fields) throws IOException {
        BytesReference source = BsonToJson.source(fields.selectsAll() ? document : fields.select(document));
        return new ShardOperation(Kind.INDEX, id, version, source);
    }

    /**
     * The write of a decoded operation: an insert's or replacement's document as {@code _source} ({@link #index}), an update
     * in its BSON, a delete.
     *
     * @throws RejectedDocumentException when an indexed document's selected value or field name cannot be taken
     * @throws IllegalArgumentException  for a drop, which empties the shard rather than writes a document
     */
    public static ShardOperation of(DocumentOperation operation, FieldSelection fields, DocumentVersions versions) throws IOException {
        long version = versions.of(operation.position());
        return switch (operation.kind()) {
            case INDEX -> index(operation.documentId(), version, operation.payload(), fields);
            case UPDATE_DIFF -> new ShardOperation(Kind.UPDATE_DIFF, operation.documentId(), version, bson(operation.payload()));
            case UPDATE_V1 -> new ShardOperation(Kind.UPDATE_V1, operation.documentId(), version, bson(operation.payload()));
            case UPDATE_DESCRIPTION -> new ShardOperation(Kind.UPDATE_DESCRIPTION, operation.documentId(), version, bson(operation.payload()));
            case DELETE -> new ShardOperation(Kind.DELETE, operation.documentId(), version, DocumentKeys.json(operation.payload()));
            case DROP_ALL -> throw new IllegalArgumentException("a drop is not a document operation");
        };
    }

    private static BytesReference bson(BsonDocument document) {
        RawBsonDocument raw = document instanceof RawBsonDocument r ? r : new RawBsonDocument(document, new BsonDocumentCodec());
        ByteBuffer buffer = raw.getByteBuffer().asNIO();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new BytesArray(bytes);
    }

    public long sizeInBytes() {
        return 32 + id.length() * 2L + payload.length();
    }
}

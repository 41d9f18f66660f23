package org.mongofollow.embedded;

import java.util.List;
import java.util.UUID;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * A memory collection whose storage hooks feed the {@link OplogWriter}: every document really added,
 * changed (with its pre- and post-image) or removed becomes an oplog entry, whichever command did it
 * (insert, update, delete, findAndModify, upsert). Carries its own UUID ({@code ui}).
 */
final class OplogCollection extends MemoryCollection {

    private final UUID uuid = UUID.randomUUID();
    /** The documents in {@code _id} order, as mongod's {@code _id} index (range reads sorted on {@code _id} use it). */
    private final IdOrder idOrder = new IdOrder();
    /** One past the highest storage position used: the documents live at positions below it, with holes. */
    private int positionsEnd;

    OplogCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                    CursorRegistry cursorRegistry) {
        super(database, collectionName, options, cursorRegistry);
    }

    private OplogWriter writer() {
        MongoDatabase database = getDatabase();
        return database instanceof OplogDatabase ? ((OplogDatabase) database).writer() : null;
    }

    private boolean replicated() {
        return OplogWriter.isReplicated(getDatabaseName(), getCollectionName()) && writer() != null;
    }

    @Override
    public UUID getUuid() {
        return uuid;
    }

    /**
     * The library sizes documents with its own BSON encoder, which cannot write {@link RawBsonValue}s: this
     * collection keeps its data size itself, with {@link BsonValues#documentSize}.
     */
    @Override
    protected boolean tracksDataSize() {
        return false;
    }

    @Override
    protected Integer addDocumentInternal(Document document) {
        Integer position = super.addDocumentInternal(document);
        idOrder.add(document.get("_id"), position);
        positionsEnd = Math.max(positionsEnd, position + 1);
        updateDataSize(BsonValues.documentSize(document));
        return position;
    }

    /**
     * A query sorted on {@code _id} alone reads its {@code _id} range in order from {@link IdOrder} and stops at its limit,
     * as mongod reads its {@code _id} index; anything else is matched and sorted as the library does.
     */
    @Override
    protected synchronized QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                                                      Document fieldSelector) {
        int direction = IdOrder.direction(orderBy);
        if (direction == 0 || idOrder.usable() == false) {
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        int wanted = limit > 0 ? numberToSkip + limit : 0;
        List<Integer> read;
        try {
            read = idOrder.read(query, direction, wanted, position -> {
                Document document = getDocument(position);
                return document != null && documentMatchesQuery(document, query);
            });
        } catch (IllegalArgumentException | ClassCastException e) {
            // a bound of a type the library cannot order: its own way decides (and explains)
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        // in order already: the library applies the skip, the limit, the batch and the projection
        return matchDocuments(query, read, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /** Every document, in storage order (a copy of the list, not of the documents). */
    synchronized List<Document> allDocuments() {
        List<Document> documents = new java.util.ArrayList<>(count());
        for (int position = 0; position < positionsEnd; position++) {
            Document document = getDocument(position);
            if (document != null) {
                documents.add(document);
            }
        }
        return documents;
    }

    /** The documents' mean BSON size, 0 when empty. */
    synchronized int averageDocumentSize() {
        int count = count();
        return count == 0 ? 0 : getDataSize() / count;
    }

    /**
     * {@code size} distinct documents picked at random, as mongod's pseudo-random cursor picks them for a {@code $sample}
     * that is small next to the collection, without reading the rest; null when the storage is too sparse for that (most
     * positions emptied by deletes): the caller then samples the library's way.
     */
    synchronized List<Document> randomDocuments(int size, java.util.Random random) {
        java.util.Set<Integer> picked = new java.util.HashSet<>();
        List<Document> documents = new java.util.ArrayList<>(size);
        for (int attempt = 0; documents.size() < size && attempt < 20 * size; attempt++) {
            int position = random.nextInt(Math.max(1, positionsEnd));
            Document document = getDocument(position);
            if (document != null && picked.add(position)) {
                documents.add(document);
            }
        }
        return documents.size() == size ? documents : null;
    }

    @Override
    public synchronized void addDocument(Document document) {
        if (OplogWriter.isReplicated(getDatabaseName(), getCollectionName())) {
            idFirst(document);
        }
        super.addDocument(document);
        if (replicated()) {
            writer().onInsert(this, document);
        }
    }

    /** As MongoDB stores documents: {@code _id} first (generated when missing), whatever order the client sent. */
    private static void idFirst(Document document) {
        if (!document.isEmpty() && "_id".equals(document.keySet().iterator().next())) {
            return;
        }
        Object id = document.containsKey("_id") ? document.remove("_id") : new ObjectId();
        Document rest = new Document(document);
        document.clear();
        document.put("_id", id);
        document.putAll(rest);
    }

    @Override
    protected synchronized void removeDocument(Integer position) {
        Document before = getDocument(position);
        super.removeDocument(position);
        if (before != null) {
            idOrder.remove(before.get("_id"));
            updateDataSize(-BsonValues.documentSize(before));
            if (replicated()) {
                writer().onDelete(this, before);
            }
        }
    }

    @Override
    protected void handleUpdate(Integer position, Document oldDocument, Document newDocument) {
        super.handleUpdate(position, oldDocument, newDocument);
        updateDataSize(BsonValues.documentSize(newDocument) - BsonValues.documentSize(oldDocument));
        if (replicated()) {
            writer().onUpdate(this, oldDocument, newDocument);
        }
    }

    @Override
    public synchronized Document updateDocuments(Document selector, Document updateQuery, ArrayFilters arrayFilters,
                                                 boolean isMulti, boolean isUpsert, Oplog oplog) {
        if (replicated()) {
            writer().setUpdateShape(updateQuery);
        }
        return super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
    }

    @Override
    public synchronized Document findAndModify(Document query) {
        if (replicated()) {
            writer().setUpdateShape(query.get("update"));
        }
        return super.findAndModify(query);
    }

    // ---------------------------------------------------------------- transaction undo (run with logging off)

    synchronized void undoInsert(Object id) {
        Document current = findById(id);
        if (current != null) {
            removeDocument(current);
        }
    }

    synchronized void undoUpdate(Document preImage) {
        Document current = findById(preImage.get("_id"));
        if (current != null) {
            removeDocument(current);
        }
        super.addDocument(BsonValues.deepCopy(preImage));
    }

    synchronized void undoDelete(Document preImage) {
        super.addDocument(BsonValues.deepCopy(preImage));
    }

    private Document findById(Object id) {
        for (Document d : handleQuery(new Document("_id", id))) {
            return d;
        }
        return null;
    }
}

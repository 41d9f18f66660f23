package org.mongofollow.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.oplog.Oplog;

/** A memory database whose collections are {@link OplogCollection}s and whose DDL is logged. */
final class OplogDatabase extends MemoryDatabase {

    private OplogWriter writer; // set after the super constructor, which already opens system collections

    OplogDatabase(String databaseName, CursorRegistry cursorRegistry, OplogWriter writer) {
        super(databaseName, cursorRegistry);
        this.writer = writer;
    }

    OplogWriter writer() {
        return writer;
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
        OplogCollection collection = new OplogCollection(this, collectionName, options, cursorRegistry);
        if (writer != null) {
            writer.onCreate(getDatabaseName(), collectionName, collection.getUuid());
        }
        return collection;
    }

    @Override
    public void dropCollection(String collectionName, Oplog oplog) {
        MongoCollection<?> collection = resolveCollection(collectionName, true);
        int count = collection.count();
        super.dropCollection(collectionName, oplog);
        if (writer != null) {
            writer.onDrop(getDatabaseName(), collectionName, collection.getUuid(), count);
        }
    }
}

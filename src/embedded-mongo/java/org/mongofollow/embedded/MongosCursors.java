package org.mongofollow.embedded;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/** The cursors a mongos hands out: over results it merged from the shards' cursors, by mongos cursor id. */
final class MongosCursors {

    /** A mongos cursor. */
    interface Cursor {
        String namespace();

        /** The next batch: at most {@code batchSize} documents, waiting up to {@code maxTimeMillis} where the cursor may. */
        List<Document> next(int batchSize, long maxTimeMillis);

        boolean exhausted();

        /** Fields the reply's cursor document carries besides the batch (a change stream's postBatchResumeToken). */
        default Document extra() {
            return new Document();
        }

        /** Whether a {@code getMore} may wait (served off the event loop). */
        default boolean awaits() {
            return false;
        }

        void close();
    }

    private final Map<Long, Cursor> cursors = new ConcurrentHashMap<>();
    private final de.bwaldvogel.mongo.backend.CursorRegistry ids;

    MongosCursors(de.bwaldvogel.mongo.backend.CursorRegistry ids) {
        this.ids = ids;
    }

    /** The reply to the command that opened {@code cursor}: its first batch, and its id unless it is exhausted. */
    Document firstReply(Cursor cursor, int batchSize, boolean singleBatch) {
        List<Document> batch = cursor.next(batchSize, 0);
        long id = 0;
        if (cursor.exhausted() || singleBatch) {
            cursor.close();
        } else {
            id = ids.generateCursorId();
            cursors.put(id, cursor);
        }
        return reply(cursor, id, "firstBatch", batch);
    }

    Document getMore(Document command) {
        long id = ((Number) command.get("getMore")).longValue();
        Cursor cursor = cursors.get(id);
        if (cursor == null) {
            throw new MongoServerError(43, "CursorNotFound", "cursor id " + id + " not found");
        }
        int batchSize = command.get("batchSize") instanceof Number n && n.intValue() > 0 ? n.intValue() : Integer.MAX_VALUE;
        long maxTime = command.get("maxTimeMS") instanceof Number n ? n.longValue() : 1000;
        List<Document> batch;
        synchronized (cursor) {
            try {
                batch = cursor.next(batchSize, maxTime);
            } catch (RuntimeException e) {
                cursors.remove(id); // a cursor that failed is gone, as on mongos
                cursor.close();
                throw e;
            }
        }
        if (cursor.exhausted()) {
            cursors.remove(id);
            cursor.close();
            id = 0;
        }
        return reply(cursor, id, "nextBatch", batch);
    }

    boolean awaits(Document command) {
        if (!(command.get("getMore") instanceof Number n)) {
            return false;
        }
        Cursor cursor = cursors.get(n.longValue());
        return cursor != null && cursor.awaits();
    }

    /** {@code killCursors}: the mongos's own cursors. */
    Document kill(Document command) {
        List<Long> killed = new ArrayList<>();
        List<Long> notFound = new ArrayList<>();
        if (command.get("cursors") instanceof List<?> list) {
            for (Object o : list) {
                long id = ((Number) o).longValue();
                Cursor cursor = cursors.remove(id);
                if (cursor != null) {
                    cursor.close();
                    killed.add(id);
                } else {
                    notFound.add(id);
                }
            }
        }
        return new Document("cursorsKilled", killed).append("cursorsNotFound", notFound).append("cursorsAlive", List.of())
            .append("cursorsUnknown", List.of()).append("ok", 1.0);
    }

    void closeAll() {
        cursors.values().forEach(Cursor::close);
        cursors.clear();
    }

    private static Document reply(Cursor cursor, long id, String batchName, List<Document> batch) {
        Document body = new Document(batchName, batch);
        body.putAll(cursor.extra());
        body.append("id", id).append("ns", cursor.namespace());
        return new Document("cursor", body).append("ok", 1.0);
    }

    /** The results of a command, held by the mongos (a merged aggregation, the config server's answers). */
    static final class ListCursor implements Cursor {
        private final String namespace;
        private final Deque<Document> remaining;

        ListCursor(String namespace, List<Document> documents) {
            this.namespace = namespace;
            this.remaining = new ArrayDeque<>(documents);
        }

        @Override
        public String namespace() {
            return namespace;
        }

        @Override
        public List<Document> next(int batchSize, long maxTimeMillis) {
            return batch(batchSize, remaining::poll);
        }

        @Override
        public boolean exhausted() {
            return remaining.isEmpty();
        }

        @Override
        public void close() {
            remaining.clear();
        }
    }

    /**
     * A {@code find} over the shards it targets: each shard's cursor read as the merge needs it, merged in the sort's order
     * (or one shard after the other without one), the skip and limit applied here as mongos applies them.
     */
    static final class MergedFind implements Cursor {
        /** One shard's cursor. */
        static final class Part {
            final ShardingCatalog.Shard shard;
            final Deque<Document> buffer;
            long cursorId;

            Part(ShardingCatalog.Shard shard, List<Document> firstBatch, long cursorId) {
                this.shard = shard;
                this.buffer = new ArrayDeque<>(firstBatch);
                this.cursorId = cursorId;
            }
        }

        /** Reads the next batch of a shard's cursor; {@code null} when it is gone. */
        interface ShardGetMore {
            Document getMore(Part part);

            void kill(Part part);
        }

        private final String namespace;
        private final List<Part> parts;
        private final Comparator<Document> order;
        private final ShardGetMore shards;
        private long remaining;
        private long toSkip;

        MergedFind(String namespace, List<Part> parts, Comparator<Document> order, long limit, long skip, ShardGetMore shards) {
            this.namespace = namespace;
            this.parts = parts;
            this.order = order;
            this.remaining = limit > 0 ? limit : Long.MAX_VALUE;
            this.toSkip = skip;
            this.shards = shards;
        }

        @Override
        public String namespace() {
            return namespace;
        }

        @Override
        public List<Document> next(int batchSize, long maxTimeMillis) {
            return batch(batchSize, () -> {
                Document d = remaining > 0 ? take() : null;
                while (d != null && toSkip > 0) {
                    toSkip--;
                    d = take();
                }
                if (d == null) {
                    remaining = 0;
                    return null;
                }
                remaining--;
                return d;
            });
        }

        private Document take() {
            Part best = null;
            for (Part part : parts) {
                refill(part);
                if (part.buffer.isEmpty()) {
                    continue;
                }
                if (order == null) {
                    return part.buffer.poll();
                }
                if (best == null || order.compare(part.buffer.peek(), best.buffer.peek()) < 0) {
                    best = part;
                }
            }
            return best == null ? null : best.buffer.poll();
        }

        private void refill(Part part) {
            while (part.buffer.isEmpty() && part.cursorId != 0) {
                Document reply = shards.getMore(part);
                Document cursor = (Document) reply.get("cursor");
                part.cursorId = ((Number) cursor.get("id")).longValue();
                for (Object o : (List<?>) cursor.get("nextBatch")) {
                    part.buffer.add((Document) o);
                }
            }
        }

        @Override
        public boolean exhausted() {
            if (remaining <= 0) {
                return true;
            }
            for (Part part : parts) {
                if (part.buffer.isEmpty() == false || part.cursorId != 0) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void close() {
            for (Part part : parts) {
                if (part.cursorId != 0) {
                    shards.kill(part);
                    part.cursorId = 0;
                }
                part.buffer.clear();
            }
        }

        /** The order of a sort specification ({@code {field: 1 | -1, ...}}), on dotted paths. */
        static Comparator<Document> order(Document sort) {
            if (sort == null || sort.isEmpty()) {
                return null;
            }
            Comparator<Document> order = (a, b) -> 0;
            for (Map.Entry<String, Object> e : sort.entrySet()) {
                String path = e.getKey();
                int direction = e.getValue() instanceof Number n && n.intValue() < 0 ? -1 : 1;
                Comparator<Document> field = (a, b) -> direction
                    * ShardKeyPattern.compareValues(OplogWriter.valueAt(a, path), OplogWriter.valueAt(b, path));
                order = order.thenComparing(field);
            }
            return order;
        }
    }

    static final int MAX_BATCH_BYTES = 16 * 1024 * 1024;

    /** A batch of documents from {@code next} (null: no more): at most {@code batchSize}, and about 16 MiB, as mongod's. */
    static List<Document> batch(int batchSize, java.util.function.Supplier<Document> next) {
        List<Document> batch = new ArrayList<>();
        long bytes = 0;
        while (batch.size() < batchSize && bytes < MAX_BATCH_BYTES) {
            Document d = next.get();
            if (d == null) {
                break;
            }
            batch.add(d);
            bytes += BsonValues.documentSize(d);
        }
        return batch;
    }
}

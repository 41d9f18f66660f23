package org.mongofollow.embedded;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;

/**
 * A change stream opened through mongos: one stream per shard, merged in resume-token order (cluster time first), as
 * mongos's merger does. An event is returned only when every other shard's stream has gone past its cluster time (its
 * next event is later, or its post-batch resume token says it has read that far): shards' idle no-op writes move their
 * streams on, so a quiet shard delays the others by up to its no-op interval, never reorders them. A shard added while
 * the stream is open joins it from the time it was added; a shard removed after the stream's start is read too (what it
 * held before its chunks moved away). The stream's post-batch resume token is that of its last
 * event, or, with nothing held back, the lowest of the shards' tokens.
 */
final class MergedChangeStream implements MongosCursors.Cursor {

    /** How the stream reaches the shards (the mongos). */
    interface Shards {
        List<ShardingCatalog.Shard> current();

        /** The shards of the cluster now and those removed after {@code time}, whose history from then on matters too. */
        List<ShardingCatalog.Shard> since(long time);

        /** Runs a command on a shard, failing as mongos does when it cannot reach it. */
        Document call(ShardingCatalog.Shard shard, String database, String command, Document body);
    }

    /** One shard's stream. */
    private static final class Part {
        final ShardingCatalog.Shard shard;
        final Deque<Document> buffer = new ArrayDeque<>();
        long cursorId;
        Document postBatchResumeToken;

        Part(ShardingCatalog.Shard shard) {
            this.shard = shard;
        }
    }

    private final Shards shards;
    private final String database;
    private final Object target;
    private final String namespace;
    private final Document spec;
    private final List<Document> stages;
    private final long startTime;
    private final Map<String, Part> parts = new LinkedHashMap<>();
    private Document postBatchResumeToken;
    private boolean invalidated;

    /**
     * @param spec      the client's {@code $changeStream} stage, with a start ({@code startAtOperationTime} the mongos
     *                  chose when the client gave none)
     * @param startTime the cluster time the stream starts at, for shards added later
     */
    MergedChangeStream(Shards shards, String database, Object target, Document spec, List<Document> stages, long startTime,
        Document initialToken) {
        this.shards = shards;
        this.database = database;
        this.target = target;
        this.namespace = target instanceof String c ? database + "." + c : database + ".$cmd.aggregate";
        this.spec = spec;
        this.stages = stages;
        this.startTime = startTime;
        this.postBatchResumeToken = initialToken;
        for (ShardingCatalog.Shard shard : shards.since(startTime)) {
            open(shard, spec);
        }
    }

    private void open(ShardingCatalog.Shard shard, Document stage) {
        Document shardSpec = new Document(stage);
        shardSpec.put(ChangeStreams.FROM_MONGOS, true);
        List<Document> pipeline = new ArrayList<>();
        pipeline.add(new Document("$changeStream", shardSpec));
        pipeline.addAll(stages);
        Document command = new Document("aggregate", target).append("pipeline", pipeline)
            .append("cursor", new Document("batchSize", 0));
        Document cursor = (Document) shards.call(shard, database, "aggregate", command).get("cursor");
        Part part = new Part(shard);
        accept(part, cursor, "firstBatch");
        parts.put(shard.id(), part);
    }

    /** Shards added since the stream opened join it from when they were added (they held nothing before). */
    private void joinNewShards() {
        for (ShardingCatalog.Shard shard : shards.current()) {
            if (parts.containsKey(shard.id()) == false) {
                Document stage = new Document(spec);
                stage.remove("resumeAfter");
                stage.remove("startAfter");
                long from = Long.compareUnsigned(shard.addedAt(), startTime) > 0 ? shard.addedAt() : startTime;
                stage.put("startAtOperationTime", new BsonTimestamp(from));
                open(shard, stage);
            }
        }
    }

    private static void accept(Part part, Document cursor, String batchName) {
        part.cursorId = ((Number) cursor.get("id")).longValue();
        for (Object event : (List<?>) cursor.get(batchName)) {
            part.buffer.add((Document) event);
        }
        part.postBatchResumeToken = (Document) cursor.get("postBatchResumeToken");
    }

    @Override
    public String namespace() {
        return namespace;
    }

    @Override
    public boolean awaits() {
        return true;
    }

    @Override
    public List<Document> next(int batchSize, long maxTimeMillis) {
        long deadline = System.nanoTime() + maxTimeMillis * 1_000_000L;
        while (true) {
            joinNewShards();
            for (Part part : parts.values()) {
                if (part.buffer.isEmpty() && part.cursorId != 0) {
                    Document reply = shards.call(part.shard, database, "getMore", new Document("getMore", part.cursorId)
                        .append("collection", target instanceof String c ? c : "$cmd.aggregate").append("batchSize", 1000)
                        .append("maxTimeMS", 0));
                    accept(part, (Document) reply.get("cursor"), "nextBatch");
                }
            }
            List<Document> batch = merge(batchSize);
            if (batch.isEmpty() == false || invalidated || System.nanoTime() >= deadline) {
                return batch;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return batch;
            }
        }
    }

    /** The events every shard's stream has gone past, in token order. */
    private List<Document> merge(int batchSize) {
        List<Document> batch = new ArrayList<>();
        while (batch.size() < batchSize && invalidated == false) {
            Part best = null;
            for (Part part : parts.values()) {
                if (part.buffer.isEmpty() == false
                    && (best == null || ResumeTokens.compare(token(part.buffer.peek()), token(best.buffer.peek())) < 0)) {
                    best = part;
                }
            }
            if (best == null || heldBack(best)) {
                break;
            }
            Document event = best.buffer.poll();
            batch.add(event);
            postBatchResumeToken = token(event);
            invalidated = "invalidate".equals(event.get("operationType"));
        }
        boolean nothingHeld = parts.values().stream().allMatch(p -> p.buffer.isEmpty());
        if (nothingHeld && invalidated == false) {
            Document lowest = null;
            for (Part part : parts.values()) {
                if (lowest == null || ResumeTokens.compare(part.postBatchResumeToken, lowest) < 0) {
                    lowest = part.postBatchResumeToken;
                }
            }
            if (lowest != null && (postBatchResumeToken == null || ResumeTokens.compare(lowest, postBatchResumeToken) > 0)) {
                postBatchResumeToken = lowest;
            }
        }
        return batch;
    }

    /** Whether another shard may still have an event before {@code best}'s next one. */
    private boolean heldBack(Part best) {
        Document next = token(best.buffer.peek());
        long time = ResumeTokens.decode(next).clusterTime();
        for (Part part : parts.values()) {
            if (part == best || part.buffer.isEmpty() == false || part.cursorId == 0) {
                continue;
            }
            Document read = part.postBatchResumeToken;
            ResumeTokens.Data data = ResumeTokens.decode(read);
            boolean past = ResumeTokens.compare(read, next) >= 0
                || (data.tokenType() == ResumeTokens.HIGH_WATER_MARK && Long.compareUnsigned(data.clusterTime(), time) >= 0);
            if (past == false) {
                return true;
            }
        }
        return false;
    }

    private static Document token(Document event) {
        return (Document) event.get("_id");
    }

    @Override
    public Document extra() {
        return new Document("postBatchResumeToken", postBatchResumeToken);
    }

    @Override
    public boolean exhausted() {
        return invalidated && parts.values().stream().allMatch(p -> p.buffer.isEmpty());
    }

    @Override
    public void close() {
        for (Part part : parts.values()) {
            if (part.cursorId != 0) {
                try {
                    shards.call(part.shard, database, "killCursors", new Document("killCursors", target instanceof String c ? c : "$cmd.aggregate")
                        .append("cursors", List.of(part.cursorId)));
                } catch (RuntimeException e) {
                    // the shard is unreachable: its cursor ends with it
                }
                part.cursorId = 0;
            }
        }
    }
}

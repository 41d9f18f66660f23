package org.mongofollow.embedded;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.exception.MongoServerException;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import io.netty.channel.Channel;

/**
 * {@code update} commands with pipeline-style updates, which the library cannot run: each matched document's
 * post-image is computed with the library's aggregation stages ({@code $set}/{@code $addFields},
 * {@code $unset}, {@code $project}, {@code $replaceRoot}/{@code $replaceWith}) and stored as a replacement,
 * logged the way {@code computeOplogDiff} logs pipeline updates: a {@code $v:2} calculator diff, or the
 * whole document when that is smaller. Statements without a pipeline go to the library one by one.
 */
final class PipelineUpdates {

    private PipelineUpdates() {
    }

    @SuppressWarnings("unchecked")
    static Document run(ReplicaSetBackend backend, Channel channel, String databaseName, Document query) {
        String collectionName = String.valueOf(query.get("update"));
        List<Document> updates = (List<Document>) query.get("updates");
        boolean ordered = !Boolean.FALSE.equals(query.get("ordered"));
        int n = 0;
        int nModified = 0;
        List<Document> upserted = new ArrayList<>();
        List<Document> writeErrors = new ArrayList<>();
        for (int i = 0; i < updates.size(); i++) {
            Document statement = updates.get(i);
            Document result;
            try {
                if (statement.get("u") instanceof List) {
                    result = pipeline(backend, channel, databaseName, collectionName, statement);
                } else {
                    result = backend.libraryCommand(channel, databaseName, "update",
                        new Document("update", collectionName).append("updates", List.of(statement)).append("ordered", true));
                }
            } catch (MongoServerException e) {
                result = new Document("writeErrors", List.of(writeError(e)));
            } catch (RuntimeException e) {
                // the library's aggregation has gaps (e.g. dotted paths in $set): say so instead of an unknown error
                result = new Document("writeErrors", List.of(writeError(new MongoServerError(2, "BadValue",
                    "the mongo-follow embedded MongoDB could not run this update pipeline: " + e))));
            }
            if (result.get("writeErrors") instanceof List && !((List<?>) result.get("writeErrors")).isEmpty()) {
                for (Object error : (List<?>) result.get("writeErrors")) {
                    Document copy = new Document((Document) error);
                    copy.put("index", i);
                    writeErrors.add(copy);
                }
                if (ordered) {
                    break;
                }
                continue;
            }
            n += ((Number) result.getOrDefault("n", 0)).intValue();
            nModified += ((Number) result.getOrDefault("nModified", 0)).intValue();
            if (result.get("upserted") instanceof List) {
                for (Object u : (List<?>) result.get("upserted")) {
                    upserted.add(new Document("index", i).append("_id", ((Document) u).get("_id")));
                }
            }
        }
        Document response = new Document("n", n).append("nModified", nModified);
        if (!upserted.isEmpty()) {
            response.put("upserted", upserted);
        }
        if (!writeErrors.isEmpty()) {
            response.put("writeErrors", writeErrors);
        }
        response.put("ok", 1.0);
        return response;
    }

    private static Document writeError(MongoServerException e) {
        Document error = new Document("index", 0).append("errmsg", e.getMessageWithoutErrorCode());
        if (e instanceof MongoServerError serverError) {
            error.put("code", serverError.getCode());
            error.putIfNotNull("codeName", serverError.getCodeName());
        } else {
            error.put("code", 1);
        }
        return error;
    }

    @SuppressWarnings("unchecked")
    private static Document pipeline(ReplicaSetBackend backend, Channel channel, String databaseName, String collectionName,
                                     Document statement) {
        Document selector = statement.get("q") instanceof Document ? (Document) statement.get("q") : new Document();
        boolean multi = Boolean.TRUE.equals(statement.get("multi"));
        boolean upsert = Boolean.TRUE.equals(statement.get("upsert"));
        MongoDatabase database = backend.resolveDatabase(databaseName);
        MongoCollection<?> collection = database.resolveCollection(collectionName, false);
        Aggregation aggregation = Aggregation.fromPipeline(updateStages((List<Object>) statement.get("u")),
            backend::resolveDatabase, database, collection, NoopOplog.get());

        List<Document> targets = new ArrayList<>();
        if (collection != null) {
            for (Document d : collection.handleQuery(selector)) {
                targets.add(BsonValues.deepCopy(d));
                if (!multi) {
                    break;
                }
            }
        }
        OplogWriter.CommandContext ctx = backend.writer().context();
        if (targets.isEmpty()) {
            if (!upsert) {
                return new Document("n", 0).append("nModified", 0);
            }
            Document base = new Document();
            for (Map.Entry<String, Object> e : selector.entrySet()) {
                if (!e.getKey().startsWith("$") && !e.getKey().contains(".") && !(e.getValue() instanceof Document
                    && !((Document) e.getValue()).isEmpty() && ((Document) e.getValue()).keySet().iterator().next().startsWith("$"))) {
                    base.put(e.getKey(), e.getValue());
                }
            }
            Document created = postImage(aggregation, base);
            if (!created.containsKey("_id")) {
                Document withId = new Document("_id", new ObjectId());
                withId.putAll(created);
                created = withId;
            }
            Document inserted = backend.libraryCommand(channel, databaseName, "insert",
                new Document("insert", collectionName).append("documents", List.of(created)).append("ordered", true));
            if (inserted.get("writeErrors") instanceof List && !((List<?>) inserted.get("writeErrors")).isEmpty()) {
                return new Document("writeErrors", inserted.get("writeErrors"));
            }
            return new Document("n", 1).append("nModified", 0)
                .append("upserted", List.of(new Document("index", 0).append("_id", created.get("_id"))));
        }
        int modified = 0;
        boolean previous = ctx.pipelineUpdate;
        ctx.pipelineUpdate = true;
        try {
            for (Document before : targets) {
                Document after = postImage(aggregation, before);
                Object id = before.get("_id");
                if (after.containsKey("_id") && !BsonValues.binaryEquals(id, after.get("_id"))) {
                    throw new MongoServerError(66, "ImmutableField",
                        "Performing an update on the path '_id' would modify the immutable field '_id'");
                }
                Document replacement = new Document("_id", id);
                for (Map.Entry<String, Object> e : after.entrySet()) {
                    if (!e.getKey().equals("_id")) {
                        replacement.put(e.getKey(), e.getValue());
                    }
                }
                Document result = backend.libraryCommand(channel, databaseName, "update", new Document("update", collectionName)
                    .append("updates", List.of(new Document("q", new Document("_id", id)).append("u", replacement)))
                    .append("ordered", true));
                if (result.get("writeErrors") instanceof List && !((List<?>) result.get("writeErrors")).isEmpty()) {
                    return new Document("writeErrors", result.get("writeErrors"));
                }
                modified += ((Number) result.getOrDefault("nModified", 0)).intValue();
            }
        } finally {
            ctx.pipelineUpdate = previous;
        }
        return new Document("n", targets.size()).append("nModified", modified);
    }

    private static Document postImage(Aggregation aggregation, Document document) {
        List<Document> out = aggregation.runStages(Stream.of(BsonValues.deepCopy(document)));
        if (out.size() != 1) {
            throw new MongoServerError(2, "BadValue", "an update pipeline must produce exactly one document");
        }
        return out.get(0);
    }

    /** The stages an update pipeline may use, in the library's spelling. */
    private static List<Document> updateStages(List<Object> pipeline) {
        List<Document> stages = new ArrayList<>();
        for (Object stageObject : pipeline) {
            Document stage = (Document) stageObject;
            String name = stage.keySet().iterator().next();
            Object spec = stage.get(name);
            switch (name) {
                case "$set", "$addFields" -> stages.add(new Document("$addFields", spec));
                case "$unset", "$project", "$replaceRoot" -> stages.add(stage);
                case "$replaceWith" -> stages.add(new Document("$replaceRoot", new Document("newRoot", spec)));
                default -> throw new MongoServerError(2, "BadValue", "an update pipeline may only contain $addFields/$set,"
                    + " $project/$unset and $replaceRoot/$replaceWith stages, not " + name);
            }
        }
        return stages;
    }
}

package org.mongofollow.task;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bson.BsonDocument;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.ResourceAlreadyExistsException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.admin.indices.create.CreateIndexRequest;
import org.elasticsearch.action.bulk.BulkItemResponse;
import org.elasticsearch.action.bulk.BulkRequest;
import org.elasticsearch.action.index.IndexRequest;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.common.hash.MessageDigests;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.operation.DocumentOperation;
import org.mongofollow.operation.DocumentVersions;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.apply.FieldSelection;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dead-letter index: where a document goes that Elasticsearch refuses (a mapping conflict, a value it
 * rejects, a field name the mapping refuses, {@code docs/bson-mapping.md}), so the follow never stalls on
 * one bad document. One letter per refused operation, written with the node client as ordinary index
 * requests; the index ({@code .mongo-follow-rejected} unless the follow's {@code dead_letter_index} says
 * otherwise) is created hidden with a fixed mapping on first use. A letter's id is derived from the follower
 * index, the document id and the operation's oplog position (a copy's t0 for a copied document), so a replayed
 * operation or copy batch rewrites its letter.
 * A letter that cannot be written is logged and the follow goes on.
 */
public final class DeadLetters {

    private static final Logger logger = LogManager.getLogger(DeadLetters.class);

    static final String MAPPING = """
        {
          "dynamic": "strict",
          "properties": {
            "@timestamp": {"type": "date"},
            "follower_index": {"type": "keyword"},
            "shard": {"type": "integer"},
            "namespace": {"type": "keyword"},
            "document_id": {"type": "keyword"},
            "position": {"type": "keyword"},
            "version": {"type": "long"},
            "operation": {"type": "keyword"},
            "reason": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}},
            "document": {"type": "text", "index": false}
          }
        }""";

    private static final JsonWriterSettings JSON = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();

    /** One refused operation. */
    public record Letter(
        String followerIndex,
        int shard,
        String namespace,
        String documentId,
        OplogPosition position,
        long version,
        int indexInEntry,
        String operation,
        String reason,
        String document
    ) {
        /**
         * A letter for {@code operation} of the follow of {@code namespace} into shard {@code shard} of {@code followerIndex}.
         * A follow with a field selection never puts unselected fields in a letter: an inserted or replaced document
         * is kept with its selected fields, an update (which may set unselected fields) without its document.
         */
        public static Letter of(String followerIndex, int shard, String namespace, DocumentOperation operation, String reason,
                                FieldSelection fields, DocumentVersions versions) {
            BsonDocument payload = operation.payload();
            String document = payload == null ? null
                : operation.kind() == DocumentOperation.Kind.INDEX ? json(fields.select(payload))
                : fields.selectsAll() ? json(payload)
                : null;
            return new Letter(
                followerIndex,
                shard,
                namespace,
                operation.documentId(),
                operation.position(),
                versions.of(operation.position()),
                operation.indexInEntry(),
                switch (operation.kind()) {
                    case INDEX -> "index";
                    case UPDATE_DIFF -> "update_v2";
                    case UPDATE_V1 -> "update_v1";
                    case UPDATE_DESCRIPTION -> "update_description";
                    case DELETE -> "delete";
                    case DROP_ALL -> "drop";
                },
                reason,
                document
            );
        }

        /**
         * A letter for a document of a copy (initial copy or resync) that writes its documents with version {@code t0}
         * into shard {@code shard}. It has no place in an oplog entry ({@code indexInEntry} -1), which keeps its id
         * apart from a letter of an oplog operation of the same document at the same position; a copy batch written
         * again rewrites it.
         */
        public static Letter copy(String followerIndex, int shard, String namespace, String documentId, OplogPosition t0, long version,
                                  BsonDocument document, String reason) {
            return new Letter(followerIndex, shard, namespace, documentId, t0, version, -1, "copy", reason, document == null ? null : json(document));
        }

        String id() {
            String key = followerIndex + '\0' + documentId + '\0' + version + '\0' + indexInEntry;
            return MessageDigests.toHexString(MessageDigests.sha256().digest(key.getBytes(StandardCharsets.UTF_8)));
        }

        Map<String, Object> source() {
            Map<String, Object> source = new LinkedHashMap<>();
            source.put("@timestamp", Instant.now().toString());
            source.put("follower_index", followerIndex);
            source.put("shard", shard);
            source.put("namespace", namespace);
            source.put("document_id", documentId);
            source.put("position", position.toString());
            source.put("version", version);
            source.put("operation", operation);
            source.put("reason", reason);
            source.put("document", document);
            return source;
        }
    }

    /** A BSON document as JSON-safe text: relaxed Extended JSON (NaN, binaries, any field name survive). */
    public static String json(BsonDocument document) {
        return document.toJson(JSON);
    }

    private final Client client;
    private final Set<String> created = ConcurrentHashMap.newKeySet();

    public DeadLetters(Client client) {
        this.client = client;
    }

    /** Writes the letters to {@code index}; the listener always completes normally (failures are logged). */
    public void write(String index, List<Letter> letters, Runnable done) {
        if (letters.isEmpty()) {
            done.run();
            return;
        }
        ActionListener<Void> write = ActionListener.wrap(v -> bulk(index, letters, done), e -> {
            logger.warn(() -> "could not create the dead-letter index [" + index + "]; " + letters.size() + " rejected document(s) only logged", e);
            done.run();
        });
        if (created.contains(index)) {
            write.onResponse(null);
            return;
        }
        CreateIndexRequest create = new CreateIndexRequest(index).settings(
            Settings.builder().put("index.hidden", true).put("index.number_of_shards", 1).put("index.auto_expand_replicas", "0-1")
        ).mapping(MAPPING);
        client.admin().indices().create(create, ActionListener.wrap(r -> {
            created.add(index);
            write.onResponse(null);
        }, e -> {
            if (ExceptionsHelper.unwrapCause(e) instanceof ResourceAlreadyExistsException) {
                created.add(index);
                write.onResponse(null);
            } else {
                write.onFailure(e);
            }
        }));
    }

    private void bulk(String index, List<Letter> letters, Runnable done) {
        BulkRequest bulk = new BulkRequest();
        for (Letter letter : letters) {
            bulk.add(new IndexRequest(index).id(letter.id()).source(letter.source(), XContentType.JSON));
        }
        client.bulk(bulk, ActionListener.wrap(response -> {
            if (response.hasFailures()) {
                for (BulkItemResponse item : response.getItems()) {
                    if (item.isFailed()) {
                        logger.warn("could not write a dead letter to [{}]: {}", index, item.getFailureMessage());
                        created.remove(index); // the index may have been deleted: create it again next time
                    }
                }
            }
            done.run();
        }, e -> {
            logger.warn(() -> "could not write " + letters.size() + " dead letter(s) to [" + index + "]", e);
            created.remove(index);
            done.run();
        }));
    }
}

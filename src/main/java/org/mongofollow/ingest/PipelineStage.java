package org.mongofollow.ingest;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.common.bytes.BytesArray;
import org.mongofollow.apply.ShardOperation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the index operations of a shard write through the follow's ingest pipelines ({@link IngestDocumentsAction}) before
 * the write: each becomes the document the pipelines made, or, when a processor dropped or failed it, a delete at its
 * version, so that the follower holds no older version of a document the pipelines did not index. Updates never reach
 * this stage: under pipelines, the follow indexes the document MongoDB has instead of changing the indexed one.
 */
public final class PipelineStage {

    private PipelineStage() {}

    /**
     * @param writes   the operations, one for each given, in their order
     * @param failures the processors' errors, by the position of the operation they failed
     * @param dropped  how many a {@code drop} processor dropped
     */
    public record Staged(List<ShardOperation> writes, Map<Integer, String> failures, int dropped) {}

    /** {@code client} runs as the follow's user: the pipelines see that user, and the follower index's {@code write} is checked. */
    public static void run(
        Client client,
        String index,
        FollowPipelines pipelines,
        List<ShardOperation> operations,
        ActionListener<Staged> listener
    ) {
        List<Integer> positions = new ArrayList<>();
        List<IngestDocumentsAction.Document> documents = new ArrayList<>();
        for (int i = 0; i < operations.size(); i++) {
            ShardOperation operation = operations.get(i);
            if (operation.kind() == ShardOperation.Kind.INDEX) {
                positions.add(i);
                documents.add(new IngestDocumentsAction.Document(operation.id(), operation.version(), operation.payload()));
            }
        }
        if (pipelines.any() == false || documents.isEmpty()) {
            listener.onResponse(new Staged(operations, Map.of(), 0));
            return;
        }
        IngestDocumentsAction.Request request = new IngestDocumentsAction.Request(index, pipelines, documents);
        client.execute(IngestDocumentsAction.INSTANCE, request, listener.delegateFailureAndWrap((l, response) -> {
            if (response.results().size() != documents.size()) {
                throw new IllegalStateException(
                    "the ingest node answered " + response.results().size() + " results for " + documents.size() + " documents"
                );
            }
            List<ShardOperation> writes = new ArrayList<>(operations);
            Map<Integer, String> failures = new HashMap<>();
            int dropped = 0;
            for (int j = 0; j < positions.size(); j++) {
                int i = positions.get(j);
                ShardOperation operation = operations.get(i);
                IngestDocumentsAction.Result result = response.results().get(j);
                switch (result.outcome()) {
                    case INGESTED -> writes.set(i, new ShardOperation(ShardOperation.Kind.INDEX, operation.id(), operation.version(), result.source()));
                    case DROPPED -> {
                        dropped++;
                        writes.set(i, deleteOf(operation));
                    }
                    case FAILED -> {
                        failures.put(i, result.reason());
                        writes.set(i, deleteOf(operation));
                    }
                }
            }
            l.onResponse(new Staged(writes, failures, dropped));
        }));
    }

    private static ShardOperation deleteOf(ShardOperation operation) {
        return new ShardOperation(ShardOperation.Kind.DELETE, operation.id(), operation.version(), BytesArray.EMPTY);
    }
}

package org.mongofollow.compat;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.action.DocWriteRequest;
import org.elasticsearch.action.index.IndexRequest;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.ingest.IngestMetadata;
import org.elasticsearch.ingest.IngestService;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/** Elasticsearch 8.19's ingest entry points (9.x scopes them to a project). */
public final class IngestRunner {
    private IngestRunner() {}

    /** Whether the cluster state holds a pipeline with this id. */
    public static boolean pipelineExists(ClusterState state, String id) {
        IngestMetadata ingest = state.metadata().custom(IngestMetadata.TYPE);
        return ingest != null && ingest.getPipelines().containsKey(id);
    }

    /** A header of an ingest failure (the pipeline and processor it names), or null. */
    public static List<String> failureHeader(ElasticsearchException e, String key) {
        List<String> values = e.getHeader(key);
        return values == null || values.isEmpty() ? e.getMetadata("es." + key) : values;
    }

    /**
     * Runs each request's resolved pipelines as {@code _bulk} does, accounted in the node's ingest stats; the requests hold what
     * the pipelines made of them once {@code onCompletion} runs with null.
     */
    public static void run(
        IngestService ingest,
        List<IndexRequest> requests,
        IntConsumer onDropped,
        BiConsumer<Integer, Exception> onFailure,
        Consumer<Exception> onCompletion,
        Executor executor
    ) {
        List<DocWriteRequest<?>> writes = List.copyOf(requests);
        ingest.executeBulkRequest(
            writes.size(),
            writes,
            onDropped,
            index -> null, // a follower index is no data stream: no failure store
            (slot, index, e) -> onFailure.accept(slot, e),
            (slot, e, status) -> onFailure.accept(slot, e),
            (thread, e) -> onCompletion.accept(e),
            executor
        );
    }
}

package org.mongofollow.compat;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.DocWriteRequest;
import org.elasticsearch.action.bulk.IndexDocFailureStoreStatus;
import org.elasticsearch.action.index.IndexRequest;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.common.TriConsumer;
import org.elasticsearch.ingest.IngestMetadata;
import org.elasticsearch.ingest.IngestService;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Elasticsearch 9.x's ingest entry points: pipelines belong to a project, the cluster's one (default) project here. The way
 * {@code IngestService.executeBulkRequest} completes changed within 9.x: up to 9.1 it forks to an executor it is given and
 * calls back with the thread; from 9.2 it runs on the calling thread and completes a listener. The one found at class load
 * is used. So are the failure's headers, whose getter was renamed in 9.2.
 */
public final class IngestRunner {
    private IngestRunner() {}

    private static final Method EXECUTE_BULK_REQUEST = executeBulkRequest();

    private static Method executeBulkRequest() {
        for (Method method : IngestService.class.getMethods()) {
            if (method.getName().equals("executeBulkRequest") && method.getParameterTypes()[0] == ProjectId.class) {
                return method;
            }
        }
        throw new IllegalStateException("IngestService.executeBulkRequest(ProjectId, ...) not found");
    }

    /** Whether the cluster state holds a pipeline with this id. */
    public static boolean pipelineExists(ClusterState state, String id) {
        IngestMetadata ingest = state.metadata().getProject().custom(IngestMetadata.TYPE);
        return ingest != null && ingest.getPipelines().containsKey(id);
    }

    /** {@code getBodyHeader} from 9.2, {@code getHeader} before (the same headers, renamed). */
    private static final Method BODY_HEADER = bodyHeader();

    private static Method bodyHeader() {
        for (String name : new String[] { "getBodyHeader", "getHeader" }) {
            try {
                return ElasticsearchException.class.getMethod(name, String.class);
            } catch (NoSuchMethodException e) {
                // the other name
            }
        }
        throw new IllegalStateException("ElasticsearchException has neither getBodyHeader nor getHeader");
    }

    /** A header of an ingest failure (the pipeline and processor it names), or null. */
    @SuppressWarnings("unchecked")
    public static List<String> failureHeader(ElasticsearchException e, String key) {
        List<String> values;
        try {
            values = (List<String>) BODY_HEADER.invoke(e, key);
        } catch (IllegalAccessException | InvocationTargetException failure) {
            values = null;
        }
        return values == null || values.isEmpty() ? e.getMetadata("es." + key) : values;
    }

    /**
     * Runs each request's resolved pipelines as {@code _bulk} does, on {@code executor}, accounted in the node's ingest stats;
     * the requests hold what the pipelines made of them once {@code onCompletion} runs with null.
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
        Function<String, Boolean> noFailureStore = index -> null; // a follower index is no data stream: no failure store
        TriConsumer<Integer, String, Exception> onStoreFailure = (slot, index, e) -> onFailure.accept(slot, e);
        TriConsumer<Integer, Exception, IndexDocFailureStoreStatus> onItemFailure = (slot, e, status) -> onFailure.accept(slot, e);
        Class<?>[] types = EXECUTE_BULK_REQUEST.getParameterTypes();
        if (types[types.length - 1] == Executor.class) {
            BiConsumer<Thread, Exception> completion = (thread, e) -> onCompletion.accept(e);
            invoke(ingest, onCompletion, ProjectId.DEFAULT, writes.size(), writes, onDropped, noFailureStore, onStoreFailure, onItemFailure,
                completion, executor);
            return;
        }
        ActionListener<Void> completion = ActionListener.wrap(v -> onCompletion.accept(null), onCompletion::accept);
        try {
            executor.execute(() -> invoke(ingest, onCompletion, ProjectId.DEFAULT, writes.size(), writes, onDropped, noFailureStore,
                onStoreFailure, onItemFailure, completion));
        } catch (RuntimeException e) {
            onCompletion.accept(e); // the pool refused it
        }
    }

    private static void invoke(IngestService ingest, Consumer<Exception> onCompletion, Object... args) {
        try {
            EXECUTE_BULK_REQUEST.invoke(ingest, args);
        } catch (InvocationTargetException e) {
            onCompletion.accept(e.getCause() instanceof Exception cause ? cause : new IllegalStateException(e.getCause()));
        } catch (IllegalAccessException e) {
            onCompletion.accept(new IllegalStateException(e));
        }
    }
}

package org.mongofollow.ingest;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionListenerResponseHandler;
import org.elasticsearch.action.index.IndexRequest;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Randomness;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.index.VersionType;
import org.elasticsearch.ingest.IngestService;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.compat.IngestRunner;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Runs {@link IngestDocumentsAction} on this node when it has the ingest role, else on a random ingest node (as
 * {@code _bulk} forwards), through {@link IngestService}: the same execution, statistics and thread pool ({@code write}) as
 * {@code _bulk}'s pipelines.
 */
public class TransportIngestDocumentsAction extends HandledTransportAction<IngestDocumentsAction.Request, IngestDocumentsAction.Response> {

    private final ClusterService clusterService;
    private final TransportService transportService;
    private final IngestService ingestService;
    private final ThreadPool threadPool;

    @Inject
    public TransportIngestDocumentsAction(
        TransportService transportService,
        ActionFilters actionFilters,
        ClusterService clusterService,
        IngestService ingestService,
        ThreadPool threadPool
    ) {
        super(IngestDocumentsAction.NAME, transportService, actionFilters, IngestDocumentsAction.Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
        this.clusterService = clusterService;
        this.transportService = transportService;
        this.ingestService = ingestService;
        this.threadPool = threadPool;
    }

    @Override
    protected void doExecute(Task task, IngestDocumentsAction.Request request, ActionListener<IngestDocumentsAction.Response> listener) {
        ClusterState state = clusterService.state();
        if (state.nodes().getLocalNode().isIngestNode()) {
            ingest(state, request, listener);
            return;
        }
        List<DiscoveryNode> ingestNodes = new ArrayList<>(state.nodes().getIngestNodes().values());
        if (ingestNodes.isEmpty() || request.isForwarded()) {
            listener.onFailure(new PipelineUnavailableException(
                "the cluster has no ingest node to run the pipelines {} of the follow of [{}]: give a node the [ingest] role",
                request.pipelines().ids(),
                request.index()
            ));
            return;
        }
        DiscoveryNode node = ingestNodes.get(Randomness.get().nextInt(ingestNodes.size()));
        transportService.sendRequest(
            node,
            IngestDocumentsAction.NAME,
            request.forwarded(),
            new ActionListenerResponseHandler<>(listener, IngestDocumentsAction.Response::new, EsExecutors.DIRECT_EXECUTOR_SERVICE)
        );
    }

    private void ingest(ClusterState state, IngestDocumentsAction.Request request, ActionListener<IngestDocumentsAction.Response> listener) {
        for (String pipeline : request.pipelines().ids()) {
            if (IngestRunner.pipelineExists(state, pipeline) == false) {
                listener.onFailure(new PipelineUnavailableException(
                    "the ingest pipeline [{}] of the follow of [{}] does not exist: put it, or change the follow's [pipeline] or the "
                        + "index's [index.default_pipeline] / [index.final_pipeline]",
                    pipeline,
                    request.index()
                ));
                return;
            }
        }
        List<IngestDocumentsAction.Document> documents = request.documents();
        if (documents.isEmpty()) {
            listener.onResponse(new IngestDocumentsAction.Response(List.of()));
            return;
        }
        List<IndexRequest> requests = new ArrayList<>(documents.size());
        for (IngestDocumentsAction.Document document : documents) {
            requests.add(
                new IndexRequest(request.index()).id(document.id())
                    .source(document.source(), XContentType.JSON)
                    .version(document.version())
                    .versionType(VersionType.EXTERNAL)
                    .setPipeline(orNoop(request.pipelines().defaultPipeline()))
                    .setFinalPipeline(orNoop(request.pipelines().finalPipeline()))
                    .isPipelineResolved(true)
            );
        }
        AtomicReferenceArray<IngestDocumentsAction.Result> results = new AtomicReferenceArray<>(documents.size());
        IngestRunner.run(
            ingestService,
            requests,
            slot -> results.set(slot, IngestDocumentsAction.Result.dropped()),
            (slot, e) -> results.set(slot, IngestDocumentsAction.Result.failed(reason(e))),
            e -> {
                if (e != null) {
                    listener.onFailure(e);
                    return;
                }
                ActionListener.completeWith(listener, () -> {
                    List<IngestDocumentsAction.Result> list = new ArrayList<>(documents.size());
                    for (int i = 0; i < documents.size(); i++) {
                        IngestDocumentsAction.Result result = results.get(i);
                        list.add(result != null ? result : ingested(request.index(), documents.get(i).id(), requests.get(i)));
                    }
                    return new IngestDocumentsAction.Response(list);
                });
            },
            threadPool.executor(ThreadPool.Names.WRITE)
        );
    }

    /** The document the pipelines made, unless they moved it: a follow writes each document to its follower index, as MongoDB's {@code _id}. */
    private static IngestDocumentsAction.Result ingested(String index, String id, IndexRequest after) {
        if (index.equals(after.index()) == false) {
            return IngestDocumentsAction.Result.failed(
                "the ingest pipelines set [_index] to [" + after.index() + "]: a follow writes every document to its follower index"
            );
        }
        if (Objects.equals(id, after.id()) == false) {
            return IngestDocumentsAction.Result.failed(
                "the ingest pipelines set [_id] to [" + after.id() + "]: a follow keeps the [_id] MongoDB's [_id] maps to"
            );
        }
        if (after.routing() != null) {
            return IngestDocumentsAction.Result.failed(
                "the ingest pipelines set [_routing] to [" + after.routing() + "]: a follow routes documents by their [_id]"
            );
        }
        return IngestDocumentsAction.Result.ingested(after.source());
    }

    private static String orNoop(String pipeline) {
        return pipeline == null ? IngestService.NOOP_PIPELINE_NAME : pipeline;
    }

    /** The processor's error, with the pipeline and processor Elasticsearch names in its headers. */
    static String reason(Exception e) {
        Throwable cause = ExceptionsHelper.unwrapCause(e);
        StringBuilder reason = new StringBuilder("ingest pipeline failed: ").append(ElasticsearchException.getExceptionName(cause))
            .append(": ")
            .append(cause.getMessage());
        if (e instanceof ElasticsearchException wrapper) {
            appendHeader(reason, wrapper, "pipeline_origin", "pipelines");
            appendHeader(reason, wrapper, "processor_type", "processor");
            appendHeader(reason, wrapper, "processor_tag", "tag");
        }
        return reason.toString();
    }

    private static void appendHeader(StringBuilder reason, ElasticsearchException e, String key, String label) {
        List<String> values = IngestRunner.failureHeader(e, key);
        if (values != null && values.isEmpty() == false) {
            reason.append(" [").append(label).append(": ").append(String.join(" > ", values)).append("]");
        }
    }
}

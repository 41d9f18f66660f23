package org.mongofollow.ingest;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.ingest.IngestService;
import org.mongofollow.compat.IngestRunner;

import java.util.ArrayList;
import java.util.List;

/**
 * The ingest pipelines a follow's documents go through, resolved as {@code _bulk} resolves an index request's: the follow's
 * {@code pipeline} replaces the index's {@code index.default_pipeline}, the index's {@code index.final_pipeline} runs after
 * it, and {@code _none} names none. Resolved again for every batch, because both settings are dynamic.
 *
 * @param defaultPipeline the follow's {@code pipeline}, else the index's default pipeline; null for none
 * @param finalPipeline   the index's final pipeline; null for none
 */
public record FollowPipelines(@Nullable String defaultPipeline, @Nullable String finalPipeline) {

    public static final FollowPipelines NONE = new FollowPipelines(null, null);

    public FollowPipelines {
        defaultPipeline = named(defaultPipeline);
        finalPipeline = named(finalPipeline);
    }

    /** The pipelines of a follow with {@code pipeline} (null when the follow names none) into {@code index}. */
    public static FollowPipelines resolve(IndexMetadata index, @Nullable String pipeline) {
        return resolve(index.getSettings(), pipeline);
    }

    /** The same, from an index's settings (those a follow's new index is created with). */
    public static FollowPipelines resolve(Settings indexSettings, @Nullable String pipeline) {
        String defaultPipeline = pipeline != null ? pipeline : IndexSettings.DEFAULT_PIPELINE.get(indexSettings);
        return new FollowPipelines(defaultPipeline, IndexSettings.FINAL_PIPELINE.get(indexSettings));
    }

    /**
     * Refuses, as {@code _bulk} does, pipelines that do not exist, and pipelines in a cluster without an ingest node (the follow
     * would wait for one); {@code pipeline} is the follow's own, which names where a missing one comes from.
     */
    public void validate(ClusterState state, @Nullable String pipeline) {
        for (String id : ids()) {
            if (IngestRunner.pipelineExists(state, id) == false) {
                String from = id.equals(pipeline) ? "the follow's [pipeline]"
                    : id.equals(finalPipeline) ? "the index's [index.final_pipeline]" : "the index's [index.default_pipeline]";
                throw new IllegalArgumentException("pipeline with id [" + id + "] does not exist (" + from + ")");
            }
        }
        if (any() && state.nodes().getIngestNodes().isEmpty()) {
            throw new IllegalArgumentException(
                "the follow's documents would go through the ingest pipelines " + ids() + ", and the cluster has no ingest node: "
                    + "give a node the [ingest] role, or set [pipeline] to [_none]"
            );
        }
    }

    /** Whether any pipeline runs: when one does, the follow indexes what the pipelines make of MongoDB's documents. */
    public boolean any() {
        return defaultPipeline != null || finalPipeline != null;
    }

    /** The pipelines' ids in the order they run. */
    public List<String> ids() {
        List<String> ids = new ArrayList<>(2);
        if (defaultPipeline != null) {
            ids.add(defaultPipeline);
        }
        if (finalPipeline != null) {
            ids.add(finalPipeline);
        }
        return ids;
    }

    private static String named(String pipeline) {
        return pipeline == null || IngestService.NOOP_PIPELINE_NAME.equals(pipeline) ? null : pipeline;
    }
}

package org.mongofollow.ingest;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.rest.RestStatus;

/**
 * The follow's pipelines cannot run now: the cluster has no ingest node, or a pipeline the follow or its index names does
 * not exist. The documents are fine, so none becomes a dead letter: the follow retries with backoff, reports this in its
 * stats, and goes on once an ingest node joins or the pipeline is put.
 */
public class PipelineUnavailableException extends ElasticsearchException {
    public static final String NAME = "pipeline_unavailable_exception";

    public PipelineUnavailableException(String message, Object... args) {
        super(message, args);
    }

    @Override
    public RestStatus status() {
        return RestStatus.SERVICE_UNAVAILABLE;
    }
}

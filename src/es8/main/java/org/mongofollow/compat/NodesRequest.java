package org.mongofollow.compat;

import org.elasticsearch.action.support.nodes.BaseNodesRequest;

/** Elasticsearch 8.19: a nodes request is generic in itself. */
public abstract class NodesRequest<R extends NodesRequest<R>> extends BaseNodesRequest<R> {
    protected NodesRequest(String... nodesIds) {
        super(nodesIds);
    }
}

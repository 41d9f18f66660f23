package org.mongofollow.compat;

import org.elasticsearch.action.support.nodes.BaseNodesRequest;

/** Elasticsearch 9.x: a nodes request is not generic; {@code R} is kept so that the 8.19 code reads the same. */
public abstract class NodesRequest<R extends NodesRequest<R>> extends BaseNodesRequest {
    protected NodesRequest(String... nodesIds) {
        super(nodesIds);
    }
}

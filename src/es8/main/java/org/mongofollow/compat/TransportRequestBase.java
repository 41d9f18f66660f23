package org.mongofollow.compat;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.transport.TransportRequest;

import java.io.IOException;

/** Elasticsearch 8.19: {@code TransportRequest} is the class a request extends. */
public abstract class TransportRequestBase extends TransportRequest {
    protected TransportRequestBase() {}

    protected TransportRequestBase(StreamInput in) throws IOException {
        super(in);
    }
}

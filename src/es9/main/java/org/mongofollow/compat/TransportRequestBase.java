package org.mongofollow.compat;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.transport.AbstractTransportRequest;

import java.io.IOException;

/** Elasticsearch 9.x: {@code TransportRequest} is an interface, {@code AbstractTransportRequest} the class. */
public abstract class TransportRequestBase extends AbstractTransportRequest {
    protected TransportRequestBase() {}

    protected TransportRequestBase(StreamInput in) throws IOException {
        super(in);
    }
}

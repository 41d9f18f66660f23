package org.mongofollow.action;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.core.TimeValue;

import java.io.IOException;
import java.util.Objects;

/**
 * A request about one follower index, named exactly (no wildcard): it says which index it touches, so that with
 * security on its action ({@code indices:admin/mongo_follow/...}) is authorised by the caller's privileges on that index.
 */
public abstract class FollowerIndexRequest extends ActionRequest implements IndicesRequest {

    /** Elasticsearch's defaults of {@code ?master_timeout} and {@code ?timeout}. */
    public static final TimeValue DEFAULT_TIMEOUT = TimeValue.timeValueSeconds(30);

    protected final String index;
    private TimeValue masterNodeTimeout = DEFAULT_TIMEOUT;
    private TimeValue ackTimeout = DEFAULT_TIMEOUT;

    FollowerIndexRequest(String index) {
        this.index = Objects.requireNonNull(index);
    }

    FollowerIndexRequest(StreamInput in) throws IOException {
        super(in);
        this.index = in.readString();
        this.masterNodeTimeout = in.readTimeValue();
        this.ackTimeout = in.readTimeValue();
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeString(index);
        out.writeTimeValue(masterNodeTimeout);
        out.writeTimeValue(ackTimeout);
    }

    /**
     * {@code ?master_timeout}: how long each of the request's cluster-state changes (the follow's metadata, its tasks, a new
     * index) waits for a master; {@code ?timeout}: how long the change of the follow's metadata waits for every node to
     * apply it before the answer says {@code "acknowledged": false} (the change is made either way).
     */
    public FollowerIndexRequest timeouts(TimeValue masterNodeTimeout, TimeValue ackTimeout) {
        this.masterNodeTimeout = Objects.requireNonNull(masterNodeTimeout);
        this.ackTimeout = Objects.requireNonNull(ackTimeout);
        return this;
    }

    public TimeValue masterNodeTimeout() {
        return masterNodeTimeout;
    }

    public TimeValue ackTimeout() {
        return ackTimeout;
    }

    public String index() {
        return index;
    }

    @Override
    public String[] indices() {
        return new String[] { index };
    }

    @Override
    public IndicesOptions indicesOptions() {
        return IndicesOptions.strictSingleIndexNoExpandForbidClosed();
    }

    @Override
    public ActionRequestValidationException validate() {
        return null;
    }
}

package org.mongofollow.action;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;

import java.io.IOException;
import java.util.Objects;

/**
 * A request about one follower index, named exactly (no wildcard): it says which index it touches, so that with
 * security on its action ({@code indices:admin/mongo_follow/...}) is authorised by the caller's privileges on that index.
 */
abstract class FollowerIndexRequest extends ActionRequest implements IndicesRequest {

    protected final String index;

    FollowerIndexRequest(String index) {
        this.index = Objects.requireNonNull(index);
    }

    FollowerIndexRequest(StreamInput in) throws IOException {
        super(in);
        this.index = in.readString();
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeString(index);
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

package org.mongofollow.security;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.common.util.concurrent.ThreadContext;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Who a follow writes as: the security headers of the user (or API key) who started, resumed or resynced it, taken
 * from that request's thread context, and only those, as CCR keeps a follow's. With security off there are none.
 * <p>
 * The headers hold a serialised authentication (no password, but enough to act as the user inside the cluster), so
 * this value never renders itself: {@link #toString()} names nothing, and the task parameters that carry it write it
 * only to the cluster state's own storage (see {@link #storedIn}), never to an API response.
 */
public final class FollowUser implements Writeable {

    /** The thread-context headers of x-pack security that say who a request runs as: authentication, secondary authentication. */
    static final Set<String> SECURITY_HEADERS = Set.of("_xpack_security_authentication", "_xpack_security_secondary_authc");

    public static final FollowUser NONE = new FollowUser(Map.of());

    private final Map<String, String> headers;

    private FollowUser(Map<String, String> headers) {
        this.headers = Map.copyOf(headers);
    }

    /** The user the current request runs as (its security headers; none with security off). */
    public static FollowUser current(ThreadContext threadContext) {
        return of(threadContext.getHeaders());
    }

    /** The security headers among {@code headers}; every other header is left behind. */
    public static FollowUser of(Map<String, String> headers) {
        Map<String, String> kept = new TreeMap<>();
        headers.forEach((key, value) -> {
            if (SECURITY_HEADERS.contains(key)) {
                kept.put(key, value);
            }
        });
        return kept.isEmpty() ? NONE : new FollowUser(kept);
    }

    public FollowUser(StreamInput in) throws IOException {
        this(in.readMap(StreamInput::readString));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeMap(headers, StreamOutput::writeString);
    }

    /** The stored headers: for the cluster state's own storage (see {@link #storedIn}) and to restore them. */
    public Map<String, String> storedHeaders() {
        return headers;
    }

    public boolean isNone() {
        return headers.isEmpty();
    }

    /**
     * Whether XContent written with these params goes to the cluster state's own storage (the nodes' disks, a
     * snapshot's global state), where the headers must survive a full restart, rather than to an API response.
     */
    public static boolean storedIn(org.elasticsearch.xcontent.ToXContent.Params params) {
        String mode = params.param(org.elasticsearch.cluster.metadata.Metadata.CONTEXT_MODE_PARAM, org.elasticsearch.cluster.metadata.Metadata.CONTEXT_MODE_API);
        return org.elasticsearch.cluster.metadata.Metadata.CONTEXT_MODE_GATEWAY.equals(mode)
            || org.elasticsearch.cluster.metadata.Metadata.CONTEXT_MODE_SNAPSHOT.equals(mode);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FollowUser other && headers.equals(other.headers);
    }

    @Override
    public int hashCode() {
        return headers.hashCode();
    }

    @Override
    public String toString() {
        return isNone() ? "FollowUser[none]" : "FollowUser[stored security headers]";
    }
}

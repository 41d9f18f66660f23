package org.mongofollow.source;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.rest.RestStatus;

/**
 * MongoDB, the follow's upstream, refused or failed a request: each kind has a type of its own in the error's {@code type}
 * (its class's simple name in snake case, so that no one reads MongoDB's refusal as a missing Elasticsearch privilege) and
 * the status Elasticsearch gives an upstream's failure. The message never holds a credential.
 */
public abstract class MongoUpstreamException extends ElasticsearchException {

    private final RestStatus status;

    MongoUpstreamException(RestStatus status, String message, Object... args) {
        super(message, args);
        this.status = status;
    }

    @Override
    public RestStatus status() {
        return status;
    }

    /** MongoDB refused the client's credentials: 502, a gateway's answer when its upstream refuses it (401/403 are Elasticsearch's own). */
    public static final class MongoAuthenticationException extends MongoUpstreamException {
        MongoAuthenticationException(String message, Object... args) {
            super(RestStatus.BAD_GATEWAY, message, args);
        }
    }

    /** No MongoDB server answered within the client's server selection timeout: 503, as for any unavailable dependency. */
    public static final class MongoUnreachableException extends MongoUpstreamException {
        MongoUnreachableException(String message, Object... args) {
            super(RestStatus.SERVICE_UNAVAILABLE, message, args);
        }
    }

    /** The server answers but cannot be followed (a standalone server, a direct connection to a secondary): 400, the request names it. */
    public static final class MongoNotFollowableException extends MongoUpstreamException {
        MongoNotFollowableException(String message, Object... args) {
            super(RestStatus.BAD_REQUEST, message, args);
        }
    }

    /** A MongoDB command failed (its code and message in the reason): 502. */
    public static final class MongoCommandFailedException extends MongoUpstreamException {
        MongoCommandFailedException(String message, Object... args) {
            super(RestStatus.BAD_GATEWAY, message, args);
        }
    }
}

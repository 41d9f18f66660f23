package org.mongofollow.task;

import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.rest.RestStatus;

/**
 * A reason to stop a follow that retrying cannot fix (the collection was renamed away, the oplog no
 * longer holds the follow's position, an entry that cannot be applied faithfully). Its message says what
 * happened and what to do, in the user's words.
 */
public class FollowFatalException extends ElasticsearchException {

    public FollowFatalException(String message, Object... args) {
        super(message, args);
    }

    @Override
    public RestStatus status() {
        return RestStatus.CONFLICT;
    }
}

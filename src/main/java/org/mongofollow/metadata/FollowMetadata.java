package org.mongofollow.metadata;

import org.elasticsearch.cluster.metadata.IndexMetadata;

/**
 * Where a follow lives: the follower index's custom metadata under {@link #CUSTOM_KEY}, as CCR keeps
 * its follower information under "ccr".
 */
public final class FollowMetadata {

    /** The key of the follower index's custom metadata map. */
    public static final String CUSTOM_KEY = "mongo_follow";

    private FollowMetadata() {}

    /** Whether this index is a mongo-follow follower index (it carries the follow's custom metadata). */
    public static boolean isFollowerIndex(IndexMetadata indexMetadata) {
        return indexMetadata.getCustomData(CUSTOM_KEY) != null;
    }
}

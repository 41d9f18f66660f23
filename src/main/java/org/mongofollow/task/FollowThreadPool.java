package org.mongofollow.task;

/**
 * The plugin's thread pool: the blocking MongoDB driver calls (reads, probes, look-ups) and the shard and copy tasks'
 * bookkeeping run on it, never on a transport or cluster-state thread.
 */
public final class FollowThreadPool {

    public static final String NAME = "mongo_follow";

    private FollowThreadPool() {}
}

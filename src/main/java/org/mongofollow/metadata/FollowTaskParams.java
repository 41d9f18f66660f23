package org.mongofollow.metadata;

import org.elasticsearch.persistent.PersistentTaskParams;

/**
 * The parameters every persistent task of a follow carries (a shard follow's, a copy's): the follower index it works for,
 * by name and UUID, and the follow's parameters. What the node and the master do for all of a follow's tasks (closing
 * unused MongoDB clients, removing the tasks of a deleted follower) needs no more, and so knows no task kind.
 */
public interface FollowTaskParams extends PersistentTaskParams {

    String index();

    String indexUuid();

    FollowParameters follow();
}

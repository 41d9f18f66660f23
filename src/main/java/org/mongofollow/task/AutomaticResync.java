package org.mongofollow.task;

import org.elasticsearch.action.ActionListener;
import org.mongofollow.security.FollowUser;
import org.mongofollow.operation.OplogPosition;

/**
 * What a shard task asks for when its position rolled off the oplog and the follow says {@code on_history_lost: resync}:
 * a resync of the follower index that keeps the follow writing as {@code user}. Answers the new copy's start position.
 */
@FunctionalInterface
public interface AutomaticResync {
    void historyLost(String index, OplogPosition lost, FollowUser user, ActionListener<OplogPosition> listener);
}

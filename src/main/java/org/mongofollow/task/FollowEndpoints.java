package org.mongofollow.task;

import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.persistent.PersistentTasksCustomMetadata;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.FollowTaskParams;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoEndpoint;

import java.util.HashSet;
import java.util.Set;

/** The MongoDB endpoints the cluster's follows use, so that a node can close the clients of ended follows. */
public final class FollowEndpoints {

    private FollowEndpoints() {}

    /** The endpoints of every follower index (active or paused) and of every follow or copy task still in the cluster state. */
    public static Set<MongoEndpoint> inUse(ClusterState state) {
        Set<MongoEndpoint> endpoints = new HashSet<>();
        for (IndexMetadata index : ClusterMetadata.indices(state)) {
            FollowMetadata follow = FollowMetadata.of(index);
            if (follow != null) {
                endpoints.add(follow.parameters().endpoint());
            }
        }
        PersistentTasksCustomMetadata tasks = PersistentTasksCustomMetadata.getPersistentTasksCustomMetadata(state);
        if (tasks != null) {
            for (PersistentTasksCustomMetadata.PersistentTask<?> task : tasks.tasks()) {
                if (task.getParams() instanceof FollowTaskParams params) {
                    endpoints.add(params.follow().endpoint());
                }
            }
        }
        return endpoints;
    }

    /** Closes, every {@link MongoClientService#IDLE_CLIENT_TIMEOUT}, the idle clients no follow uses. */
    public static void closeUnusedPeriodically(org.elasticsearch.cluster.service.ClusterService clusterService,
                                               org.elasticsearch.threadpool.ThreadPool threadPool, MongoClientService clients) {
        threadPool.scheduleWithFixedDelay(
            () -> clients.closeUnused(inUse(clusterService.state())),
            MongoClientService.IDLE_CLIENT_TIMEOUT,
            threadPool.generic()
        );
    }
}

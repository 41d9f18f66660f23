package org.mongofollow.action;

import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.UpdateFollowMetadataAction;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Which follower indices a request names: a missing index is a 404, a plain index named explicitly too. */
final class FollowerIndices {

    private FollowerIndices() {}

    /** The follower index named {@code name}: a missing index is a 404, a plain index too. */
    static IndexMetadata follower(ClusterState state, String name) {
        IndexMetadata index = ClusterMetadata.index(state, name);
        if (index == null) {
            throw new org.elasticsearch.index.IndexNotFoundException(name);
        }
        if (FollowMetadata.of(index) == null) {
            throw UpdateFollowMetadataAction.notAFollower(name);
        }
        return index;
    }

    /** No name, {@code _all} or {@code *}: every follower index. */
    static boolean allFollowers(String[] indices) {
        return indices.length == 0 || (indices.length == 1 && ("_all".equals(indices[0]) || "*".equals(indices[0])));
    }

    /**
     * The follower indices of an info or stats request. {@code requested} are the names as the caller gave them;
     * {@code request.indices()} are the same unless security replaced them with the indices the caller may monitor,
     * which are then all that is listed. A plain index named explicitly is a 404; one a pattern matched is left out.
     */
    static List<IndexMetadata> resolve(ClusterState state, IndexNameExpressionResolver resolver, String[] requested, IndicesRequest request) {
        List<IndexMetadata> followers = new ArrayList<>();
        if (allFollowers(request.indices())) {
            for (IndexMetadata indexMetadata : ClusterMetadata.indices(state)) {
                if (FollowMetadata.isFollowerIndex(indexMetadata)) {
                    followers.add(indexMetadata);
                }
            }
        } else {
            for (String name : resolver.concreteIndexNames(state, request)) {
                IndexMetadata indexMetadata = ClusterMetadata.index(state, name);
                if (FollowMetadata.isFollowerIndex(indexMetadata)) {
                    followers.add(indexMetadata);
                } else if (List.of(requested).contains(name)) {
                    throw UpdateFollowMetadataAction.notAFollower(name);
                }
            }
        }
        followers.sort(Comparator.comparing(i -> i.getIndex().getName()));
        return followers;
    }
}

package org.mongofollow.action;

import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.nodes.BaseNodeResponse;
import org.elasticsearch.action.support.nodes.BaseNodesResponse;
import org.elasticsearch.action.support.nodes.TransportNodesAction;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportRequest;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.compat.NodesRequest;
import org.mongofollow.compat.TransportRequestBase;
import org.mongofollow.source.OplogFeed;
import org.mongofollow.source.OplogFeeds;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Each node's {@link OplogFeed} figures for the given sources (the endpoints of the follower indices a stats request
 * resolved, so a caller sees the feeds of the follows it may monitor only): internal, only {@link TransportFollowStatsAction}
 * sends it.
 */
public final class FeedStatsAction {

    public static final String NAME = "internal:mongo_follow/stats/feeds";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private FeedStatsAction() {}

    public static final class Request extends NodesRequest<Request> {
        private final Set<String> sources;

        public Request(Set<String> sources) {
            super(new String[0]);
            this.sources = Set.copyOf(sources);
        }
    }

    public static final class NodeRequest extends TransportRequestBase {
        private final List<String> sources;

        NodeRequest(Set<String> sources) {
            this.sources = List.copyOf(sources);
        }

        NodeRequest(StreamInput in) throws IOException {
            super(in);
            this.sources = in.readStringCollectionAsList();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeStringCollection(sources);
        }
    }

    public static final class NodeResponse extends BaseNodeResponse {
        private final Map<String, OplogFeed.Stats> feeds;

        NodeResponse(DiscoveryNode node, Map<String, OplogFeed.Stats> feeds) {
            super(node);
            this.feeds = new TreeMap<>(feeds);
        }

        NodeResponse(StreamInput in) throws IOException {
            super(in);
            this.feeds = in.readMap(
                i -> new OplogFeed.Stats(i.readVLong(), i.readVLong(), i.readVLong(), i.readVLong(), i.readVLong(), i.readVInt())
            );
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeMap(feeds, (o, stats) -> {
                o.writeVLong(stats.mongoReads());
                o.writeVLong(stats.entriesRead());
                o.writeVLong(stats.bytesRead());
                o.writeVLong(stats.servedFromWindow());
                o.writeVLong(stats.windowBytes());
                o.writeVInt(stats.windowSegments());
            });
        }
    }

    public static final class Response extends BaseNodesResponse<NodeResponse> {
        Response(ClusterName clusterName, List<NodeResponse> nodes, List<FailedNodeException> failures) {
            super(clusterName, nodes, failures);
        }

        @Override
        protected List<NodeResponse> readNodesFrom(StreamInput in) throws IOException {
            return in.readCollectionAsList(NodeResponse::new);
        }

        @Override
        protected void writeNodesTo(StreamOutput out, List<NodeResponse> nodes) throws IOException {
            out.writeCollection(nodes);
        }

        /** {@code feeds}: one object per node and source with the feed's figures. */
        void toXContent(XContentBuilder builder, ToXContent.Params params) throws IOException {
            builder.startArray("feeds");
            for (NodeResponse node : getNodes()) {
                for (var feed : node.feeds.entrySet()) {
                    OplogFeed.Stats stats = feed.getValue();
                    builder.startObject()
                        .field("node", node.getNode().getId())
                        .field("source", feed.getKey())
                        .field("mongo_reads", stats.mongoReads())
                        .field("entries_read", stats.entriesRead())
                        .field("bytes_read", stats.bytesRead())
                        .field("reads_served_from_window", stats.servedFromWindow())
                        .humanReadableField("window_size_in_bytes", "window_size", org.elasticsearch.common.unit.ByteSizeValue.ofBytes(stats.windowBytes()))
                        .field("window_segments", stats.windowSegments())
                        .endObject();
                }
            }
            builder.endArray();
        }
    }

    public static class TransportAction extends TransportNodesAction<Request, Response, NodeRequest, NodeResponse, Void> {
        private final OplogFeeds feeds;

        @Inject
        public TransportAction(
            ThreadPool threadPool,
            ClusterService clusterService,
            TransportService transportService,
            ActionFilters actionFilters,
            OplogFeeds feeds
        ) {
            super(NAME, clusterService, transportService, actionFilters, NodeRequest::new, threadPool.executor(ThreadPool.Names.MANAGEMENT));
            this.feeds = feeds;
        }

        @Override
        protected Response newResponse(Request request, List<NodeResponse> nodes, List<FailedNodeException> failures) {
            return new Response(clusterService.getClusterName(), nodes, failures);
        }

        @Override
        protected NodeRequest newNodeRequest(Request request) {
            return new NodeRequest(request.sources);
        }

        @Override
        protected NodeResponse newNodeResponse(StreamInput in, DiscoveryNode node) throws IOException {
            return new NodeResponse(in);
        }

        @Override
        protected NodeResponse nodeOperation(NodeRequest request, Task task) {
            Map<String, OplogFeed.Stats> mine = new TreeMap<>(feeds.stats());
            mine.keySet().retainAll(Set.copyOf(request.sources));
            return new NodeResponse(clusterService.localNode(), mine);
        }
    }
}

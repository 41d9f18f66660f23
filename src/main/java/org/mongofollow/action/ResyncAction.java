package org.mongofollow.action;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.copy.GcDeletes;
import org.mongofollow.metadata.CopyState;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.security.FollowUser;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoProbe;
import org.mongofollow.operation.OplogPosition;

import java.io.IOException;

/**
 * {@code POST /{index}/_mongo_follow/_resync}, also sent by a shard task whose position rolled off the oplog when
 * the follow says {@code on_history_lost: resync}: copies the collection again from a new start position t0 while
 * following the log from there, then removes every document that neither the new copy nor the log wrote
 * (see {@link org.mongofollow.copy.CopyNodeTask}). The index stays searchable throughout; a paused or failed
 * follow becomes active. It needs {@code manage} on the index, and the follow then writes as the user who asked.
 */
public final class ResyncAction {

    public static final String NAME = "indices:admin/mongo_follow/resync";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private ResyncAction() {}

    public static final class Request extends FollowerIndexRequest {
        /** For an automatic resync: the lost position; a copy started after it already resyncs. Null for a user's call. */
        private final OplogPosition lostPosition;

        public Request(String index, OplogPosition lostPosition) {
            super(index);
            this.lostPosition = lostPosition;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.lostPosition = in.readBoolean() ? OplogPosition.ofTimestamp(in.readLong()) : null;
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeBoolean(lostPosition != null);
            if (lostPosition != null) {
                out.writeLong(lostPosition.timestamp());
            }
        }

    }

    public static final class Response extends ActionResponse implements ToXContentObject {
        private final OplogPosition startPosition;
        private final boolean acknowledged;

        public Response(ResyncService.Started started) {
            this.startPosition = started.t0();
            this.acknowledged = started.acknowledged();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeLong(startPosition.timestamp());
            out.writeBoolean(acknowledged);
        }

        @Override
        public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
            return builder.startObject().field("acknowledged", acknowledged).field("start_position", startPosition.toString()).endObject();
        }
    }

    public static class TransportAction extends HandledTransportAction<Request, Response> {
        private final ResyncService resyncs;
        private final ThreadPool threadPool;

        @Inject
        public TransportAction(TransportService transportService, ActionFilters actionFilters, ResyncService resyncs, ThreadPool threadPool) {
            super(NAME, transportService, actionFilters, Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
            this.resyncs = resyncs;
            this.threadPool = threadPool;
        }

        @Override
        protected void doExecute(Task task, Request request, ActionListener<Response> listener) {
            resyncs.resync(
                request.index,
                request.lostPosition,
                FollowUser.current(threadPool.getThreadContext()),
                request.masterNodeTimeout(),
                request.ackTimeout(),
                listener.map(Response::new)
            );
        }
    }
}

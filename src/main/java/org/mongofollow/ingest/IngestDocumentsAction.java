package org.mongofollow.ingest;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.IndicesRequest;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.core.Nullable;

import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Runs a follow's documents through the ingest pipelines of its index on an ingest node, without indexing them: the follow
 * then writes what the pipelines made of them to the follower shard with its own versions. The ingest node accounts the work
 * as it accounts {@code _bulk}'s (the pipelines' and processors' counts and times in {@code _nodes/stats/ingest}), and the
 * pipelines run as the follow's user (what {@code set_security_user} records).
 */
public final class IngestDocumentsAction {

    /** An index-level write: the follow's user holds {@code write} on the follower index, as {@code _bulk} needs. */
    public static final String NAME = "indices:data/write/mongo_follow/ingest";
    public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

    private IngestDocumentsAction() {}

    /** A document to run through the pipelines: its {@code _id}, its external version and its JSON {@code _source}. */
    public record Document(String id, long version, BytesReference source) implements Writeable {
        public Document {
            Objects.requireNonNull(id);
            Objects.requireNonNull(source);
        }

        Document(StreamInput in) throws IOException {
            this(in.readString(), in.readVLong(), in.readBytesReference());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeString(id);
            out.writeVLong(version);
            out.writeBytesReference(source);
        }
    }

    public static final class Request extends ActionRequest implements IndicesRequest {
        private final String index;
        private final FollowPipelines pipelines;
        private final List<Document> documents;
        /** Sent by a node without the ingest role to one with it: never forwarded again. */
        private final boolean forwarded;

        public Request(String index, FollowPipelines pipelines, List<Document> documents) {
            this(index, pipelines, documents, false);
        }

        private Request(String index, FollowPipelines pipelines, List<Document> documents, boolean forwarded) {
            this.index = Objects.requireNonNull(index);
            this.pipelines = Objects.requireNonNull(pipelines);
            this.documents = List.copyOf(documents);
            this.forwarded = forwarded;
        }

        public Request(StreamInput in) throws IOException {
            super(in);
            this.index = in.readString();
            this.pipelines = new FollowPipelines(in.readOptionalString(), in.readOptionalString());
            this.documents = in.readCollectionAsList(Document::new);
            this.forwarded = in.readBoolean();
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            super.writeTo(out);
            out.writeString(index);
            out.writeOptionalString(pipelines.defaultPipeline());
            out.writeOptionalString(pipelines.finalPipeline());
            out.writeCollection(documents);
            out.writeBoolean(forwarded);
        }

        Request forwarded() {
            return new Request(index, pipelines, documents, true);
        }

        public String index() {
            return index;
        }

        public FollowPipelines pipelines() {
            return pipelines;
        }

        public List<Document> documents() {
            return documents;
        }

        boolean isForwarded() {
            return forwarded;
        }

        @Override
        public String[] indices() {
            return new String[] { index };
        }

        @Override
        public IndicesOptions indicesOptions() {
            return IndicesOptions.strictSingleIndexNoExpandForbidClosed();
        }

        @Override
        public ActionRequestValidationException validate() {
            return null;
        }

        @Override
        public String toString() {
            return "IngestDocumentsRequest{index=" + index + ", pipelines=" + pipelines.ids() + ", documents=" + documents.size() + "}";
        }
    }

    /** What the pipelines made of a document. */
    public enum Outcome {
        /** The pipelines ran: index {@link Result#source()}. */
        INGESTED,
        /** A {@code drop} processor dropped it: not indexed. */
        DROPPED,
        /** A processor failed: {@link Result#reason()} says which and why. */
        FAILED
    }

    /**
     * @param source the document as the pipelines left it ({@link Outcome#INGESTED})
     * @param reason why the pipelines failed ({@link Outcome#FAILED})
     */
    public record Result(Outcome outcome, @Nullable BytesReference source, @Nullable String reason) implements Writeable {
        public Result {
            Objects.requireNonNull(outcome);
            if ((outcome == Outcome.INGESTED) != (source != null) || (outcome == Outcome.FAILED) != (reason != null)) {
                throw new IllegalArgumentException("an ingested result has a source, a failed one a reason: " + outcome);
            }
        }

        public static Result ingested(BytesReference source) {
            return new Result(Outcome.INGESTED, source, null);
        }

        public static Result dropped() {
            return new Result(Outcome.DROPPED, null, null);
        }

        public static Result failed(String reason) {
            return new Result(Outcome.FAILED, null, reason);
        }

        Result(StreamInput in) throws IOException {
            this(in.readEnum(Outcome.class), in.readOptionalBytesReference(), in.readOptionalString());
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeEnum(outcome);
            out.writeOptionalBytesReference(source);
            out.writeOptionalString(reason);
        }
    }

    /** One result per document of the request, in its order. */
    public static final class Response extends ActionResponse {
        private final List<Result> results;

        public Response(List<Result> results) {
            this.results = List.copyOf(results);
        }

        public Response(StreamInput in) throws IOException {
            this.results = in.readCollectionAsList(Result::new);
        }

        @Override
        public void writeTo(StreamOutput out) throws IOException {
            out.writeCollection(results);
        }

        public List<Result> results() {
            return results;
        }
    }
}

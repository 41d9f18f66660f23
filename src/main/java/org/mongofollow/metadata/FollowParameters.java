package org.mongofollow.metadata;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.xcontent.ObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.apply.FieldSelection;
import org.mongofollow.apply.OnDelete;
import org.mongofollow.source.ChangeStreamSource;
import org.mongofollow.source.FeedSource;
import org.mongofollow.source.FullDocumentMode;
import org.mongofollow.source.MongoEndpoint;
import org.mongofollow.source.OplogSource;
import org.mongofollow.source.SourceMode;

import java.io.IOException;
import java.util.Objects;

/**
 * What a follow follows and how: the MongoDB endpoint (a named client or a credential-free connection
 * string), the namespace, whether it starts with an initial copy, the fields it keeps, and its budgets. One immutable value,
 * parsed once from the REST body, validated, and shared by the transport requests, the follower index's
 * metadata and the shard tasks' params. It never holds a credential.
 */
public record FollowParameters(
    MongoEndpoint endpoint,
    String database,
    String collection,
    boolean initialCopy,
    int copyMaxConcurrentRanges,
    int copyBatchSize,
    OnHistoryLost onHistoryLost,
    FollowBudgets budgets,
    String deadLetterIndex,
    FieldSelection fields,
    SourceMode source,
    FullDocumentMode fullDocument,
    @org.elasticsearch.core.Nullable String pipeline,
    OnDelete onDelete
)
    implements
        Writeable,
        ToXContentObject {

    public static final ParseField CLIENT = new ParseField("client");
    public static final ParseField CONNECTION = new ParseField("connection");
    public static final ParseField DATABASE = new ParseField("database");
    public static final ParseField COLLECTION = new ParseField("collection");
    public static final ParseField INITIAL_COPY = new ParseField("initial_copy");
    public static final ParseField INITIAL_COPY_ENABLED = new ParseField("enabled");
    public static final ParseField INITIAL_COPY_MAX_CONCURRENT_RANGES = new ParseField("initial_copy_max_concurrent_ranges");
    public static final ParseField INITIAL_COPY_BATCH_SIZE = new ParseField("initial_copy_batch_size");
    public static final ParseField ON_HISTORY_LOST = new ParseField("on_history_lost");
    public static final ParseField SOURCE = new ParseField("source");
    public static final ParseField FULL_DOCUMENT = new ParseField("full_document");
    /**
     * The ingest pipeline the follow's documents go through, as {@code _bulk}'s {@code pipeline}: it replaces the index's
     * {@code index.default_pipeline} ({@code _none}: none), and the index's {@code index.final_pipeline} runs after it.
     */
    public static final ParseField PIPELINE = new ParseField("pipeline");

    public static final int DEFAULT_COPY_MAX_CONCURRENT_RANGES = 4;
    public static final int DEFAULT_COPY_BATCH_SIZE = 1000;

    /** What a follow does when the oplog no longer holds its position. */
    public enum OnHistoryLost {
        /** Stop with a fatal error that says what happened and what to do (the default). */
        FAIL,
        /** Copy the collection again from a new start position and sweep what the copy and the log did not write. */
        RESYNC;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static OnHistoryLost parse(String value) {
            for (OnHistoryLost v : values()) {
                if (v.label().equals(value)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("[on_history_lost] must be [fail] or [resync], got [" + value + "]");
        }
    }

    /** Where documents Elasticsearch refuses go (DeadLetters); {@link #DEFAULT_DEAD_LETTER_INDEX} unless set. */
    public static final ParseField DEAD_LETTER_INDEX = new ParseField("dead_letter_index");
    public static final String DEFAULT_DEAD_LETTER_INDEX = ".mongo-follow-rejected";

    public FollowParameters {
        Objects.requireNonNull(endpoint);
        Objects.requireNonNull(budgets);
        Objects.requireNonNull(onHistoryLost);
        if (fields == null) {
            fields = FieldSelection.ALL;
        }
        Objects.requireNonNull(source);
        Objects.requireNonNull(fullDocument);
        if (fullDocument != FullDocumentMode.DEFAULT && source == SourceMode.OPLOG) {
            throw new IllegalArgumentException("[full_document] is an option of change streams: it needs [source] [change_stream] or [auto]");
        }
        if (copyMaxConcurrentRanges < 1 || copyMaxConcurrentRanges > 64) {
            throw new IllegalArgumentException(
                "[initial_copy_max_concurrent_ranges] must be between 1 and 64, got [" + copyMaxConcurrentRanges + "]"
            );
        }
        if (copyBatchSize < 1 || copyBatchSize > 100_000) {
            throw new IllegalArgumentException("[initial_copy_batch_size] must be between 1 and 100000, got [" + copyBatchSize + "]");
        }
        if (deadLetterIndex == null) {
            deadLetterIndex = DEFAULT_DEAD_LETTER_INDEX;
        }
        org.elasticsearch.cluster.metadata.MetadataCreateIndexService.validateIndexOrAliasName(
            deadLetterIndex,
            (name, reason) -> new IllegalArgumentException("[dead_letter_index] [" + name + "] is not a valid index name: " + reason)
        );
        validateDatabase(database);
        validateCollection(collection);
        if (onDelete == null) {
            onDelete = OnDelete.DELETE;
        }
        if (pipeline != null && pipeline.isBlank()) {
            throw new IllegalArgumentException("[pipeline] must name an ingest pipeline (or be [_none]), got [" + pipeline + "]");
        }
    }

    /** MongoDB's own rules for database names. */
    static void validateDatabase(String database) {
        if (database == null || database.isEmpty()) {
            throw new IllegalArgumentException("[database] is required");
        }
        if (database.length() > 63 || database.matches(".*[/\\\\. \"$\u0000].*")) {
            throw new IllegalArgumentException("[database] [" + database + "] is not a valid MongoDB database name");
        }
        if (database.equals("local") || database.equals("config")) {
            throw new IllegalArgumentException("[database] [" + database + "] is an internal MongoDB database and cannot be followed");
        }
    }

    /** MongoDB's own rules for collection names. */
    static void validateCollection(String collection) {
        if (collection == null || collection.isEmpty()) {
            throw new IllegalArgumentException("[collection] is required");
        }
        if (collection.contains("$") || collection.contains("\u0000")) {
            throw new IllegalArgumentException("[collection] [" + collection + "] is not a valid MongoDB collection name");
        }
        if (collection.startsWith("system.")) {
            throw new IllegalArgumentException("[collection] [" + collection + "] is a system collection and cannot be followed");
        }
    }

    public String namespace() {
        return database + "." + collection;
    }

    public FollowParameters withBudgets(FollowBudgets newBudgets) {
        return with(newBudgets, source);
    }

    /**
     * The same follow reading from {@code resolved} (what {@code auto} decided when the follow started); an {@code auto}
     * that decided for the oplog drops {@code full_document}, an option of change streams only.
     */
    public FollowParameters withSource(SourceMode resolved) {
        return with(budgets, resolved);
    }

    private FollowParameters with(FollowBudgets newBudgets, SourceMode newSource) {
        return new FollowParameters(
            endpoint,
            database,
            collection,
            initialCopy,
            copyMaxConcurrentRanges,
            copyBatchSize,
            onHistoryLost,
            newBudgets,
            deadLetterIndex,
            fields,
            newSource,
            newSource == SourceMode.OPLOG ? FullDocumentMode.DEFAULT : fullDocument,
            pipeline,
            onDelete
        );
    }

    /** What the node's feed of this follow reads (a follow whose {@code auto} is not decided yet reads nothing). */
    public FeedSource feedSource() {
        return switch (source) {
            case OPLOG -> OplogSource.INSTANCE;
            case CHANGE_STREAM -> new ChangeStreamSource(namespace(), fullDocument);
            case AUTO -> throw new IllegalStateException("the follow of [" + namespace() + "] has not decided its source yet");
        };
    }

    public FollowParameters(StreamInput in) throws IOException {
        this(
            new MongoEndpoint(in),
            in.readString(),
            in.readString(),
            in.readBoolean(),
            in.readVInt(),
            in.readVInt(),
            in.readEnum(OnHistoryLost.class),
            new FollowBudgets(in),
            in.readString(),
            new FieldSelection(in),
            in.readEnum(SourceMode.class),
            Tail.read(in)
        );
    }

    /**
     * Marks, in the vInt that carries {@code full_document}, that optional fields added after the first released format
     * follow it. A follow that sets none of them writes exactly the bytes of that format, which every node reads; one that
     * sets some is read only by nodes of a release that knows them (every node of a cluster runs one release of the plugin
     * once a rolling restart ends).
     */
    private static final int EXTENSIONS = 0x40;
    /** The optional fields' tags, each followed by its value; {@link #END_OF_EXTENSIONS} ends them. */
    private static final int END_OF_EXTENSIONS = 0;
    private static final int PIPELINE_TAG = 1;
    private static final int ON_DELETE_TAG = 2;

    private FollowParameters(
        MongoEndpoint endpoint,
        String database,
        String collection,
        boolean initialCopy,
        int copyMaxConcurrentRanges,
        int copyBatchSize,
        OnHistoryLost onHistoryLost,
        FollowBudgets budgets,
        String deadLetterIndex,
        FieldSelection fields,
        SourceMode source,
        Tail tail
    ) {
        this(endpoint, database, collection, initialCopy, copyMaxConcurrentRanges, copyBatchSize, onHistoryLost, budgets,
            deadLetterIndex, fields, source, tail.fullDocument, tail.pipeline, tail.onDelete);
    }

    /**
     * What follows {@code source} on the wire: {@code full_document}, then the optional fields added after the first format,
     * if its vInt says so. A tag this release does not know fails the read rather than drop what it means.
     */
    private record Tail(FullDocumentMode fullDocument, String pipeline, OnDelete onDelete) {
        static Tail read(StreamInput in) throws IOException {
            int fullDocumentAndFlags = in.readVInt();
            FullDocumentMode fullDocument = fullDocumentOf(fullDocumentAndFlags & ~EXTENSIONS);
            String pipeline = null;
            OnDelete onDelete = OnDelete.DELETE;
            if ((fullDocumentAndFlags & EXTENSIONS) != 0) {
                for (int tag = in.readVInt(); tag != END_OF_EXTENSIONS; tag = in.readVInt()) {
                    switch (tag) {
                        case PIPELINE_TAG -> pipeline = in.readString();
                        case ON_DELETE_TAG -> onDelete = new OnDelete(in.readString(), in.readOptionalString());
                        default -> throw new IOException(
                            "a follow parameter of a newer release of mongo-follow (tag " + tag + "): upgrade every node"
                        );
                    }
                }
            }
            return new Tail(fullDocument, pipeline, onDelete);
        }
    }

    private static FullDocumentMode fullDocumentOf(int ordinal) throws IOException {
        FullDocumentMode[] values = FullDocumentMode.values();
        if (ordinal < 0 || ordinal >= values.length) {
            throw new IOException("unknown [full_document] ordinal [" + ordinal + "]");
        }
        return values[ordinal];
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        endpoint.writeTo(out);
        out.writeString(database);
        out.writeString(collection);
        out.writeBoolean(initialCopy);
        out.writeVInt(copyMaxConcurrentRanges);
        out.writeVInt(copyBatchSize);
        out.writeEnum(onHistoryLost);
        budgets.writeTo(out);
        out.writeString(deadLetterIndex);
        fields.writeTo(out);
        out.writeEnum(source);
        if (pipeline == null && onDelete.marks() == false) {
            out.writeEnum(fullDocument);
            return;
        }
        out.writeVInt(fullDocument.ordinal() | EXTENSIONS);
        if (pipeline != null) {
            out.writeVInt(PIPELINE_TAG);
            out.writeString(pipeline);
        }
        if (onDelete.marks()) {
            out.writeVInt(ON_DELETE_TAG);
            out.writeString(onDelete.field());
            out.writeOptionalString(onDelete.atField());
        }
        out.writeVInt(END_OF_EXTENSIONS);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        if (endpoint.clientName() != null) {
            builder.field(CLIENT.getPreferredName(), endpoint.clientName());
        } else {
            builder.field(CONNECTION.getPreferredName(), endpoint.connection());
        }
        builder.field(DATABASE.getPreferredName(), database);
        builder.field(COLLECTION.getPreferredName(), collection);
        builder.field(INITIAL_COPY.getPreferredName(), initialCopy);
        builder.field(INITIAL_COPY_MAX_CONCURRENT_RANGES.getPreferredName(), copyMaxConcurrentRanges);
        builder.field(INITIAL_COPY_BATCH_SIZE.getPreferredName(), copyBatchSize);
        builder.field(ON_HISTORY_LOST.getPreferredName(), onHistoryLost.label());
        builder.field(SOURCE.getPreferredName(), source.label());
        if (fullDocument != FullDocumentMode.DEFAULT) {
            builder.field(FULL_DOCUMENT.getPreferredName(), fullDocument.label());
        }
        budgets.toXContent(builder, params);
        builder.field(DEAD_LETTER_INDEX.getPreferredName(), deadLetterIndex);
        if (pipeline != null) {
            builder.field(PIPELINE.getPreferredName(), pipeline);
        }
        if (onDelete.marks()) {
            onDelete.toXContent(builder, params);
        }
        if (fields.selectsAll() == false) {
            fields.toXContent(builder, params);
        }
        return builder.endObject();
    }

    @Override
    public String toString() {
        return Strings.toString(this);
    }

    /** Collects the fields of a body; {@link #build()} validates them. */
    public static final class Builder {
        private String client;
        private String connection;
        private String database;
        private String collection;
        private boolean initialCopy = true;
        private int copyMaxConcurrentRanges = DEFAULT_COPY_MAX_CONCURRENT_RANGES;
        private int copyBatchSize = DEFAULT_COPY_BATCH_SIZE;
        private OnHistoryLost onHistoryLost = OnHistoryLost.FAIL;
        private SourceMode source = SourceMode.OPLOG;
        private FullDocumentMode fullDocument = FullDocumentMode.DEFAULT;
        private String deadLetterIndex;
        private FieldSelection.Paths fields;
        private String pipeline;
        private OnDelete onDelete = OnDelete.DELETE;
        private final FollowBudgets.Builder budgets;

        public Builder() {
            this(FollowBudgets.builder());
        }

        private Builder(FollowBudgets.Builder budgets) {
            this.budgets = budgets;
        }

        public Builder client(String client) {
            this.client = client;
            return this;
        }

        public Builder connection(String connection) {
            this.connection = connection;
            return this;
        }

        public Builder database(String database) {
            this.database = database;
            return this;
        }

        public Builder collection(String collection) {
            this.collection = collection;
            return this;
        }

        public Builder initialCopy(boolean initialCopy) {
            this.initialCopy = initialCopy;
            return this;
        }

        public Builder copyMaxConcurrentRanges(int value) {
            this.copyMaxConcurrentRanges = value;
            return this;
        }

        public Builder copyBatchSize(int value) {
            this.copyBatchSize = value;
            return this;
        }

        public Builder onHistoryLost(OnHistoryLost value) {
            this.onHistoryLost = value;
            return this;
        }

        public Builder source(SourceMode value) {
            this.source = value;
            return this;
        }

        public Builder fullDocument(FullDocumentMode value) {
            this.fullDocument = value;
            return this;
        }

        /** {@code initial_copy} as an object: {@code {"enabled": .., "max_concurrent_ranges": .., "batch_size": ..}}. */
        void initialCopyObject(XContentParser parser) throws IOException {
            String field = null;
            for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
                if (token == XContentParser.Token.FIELD_NAME) {
                    field = parser.currentName();
                } else if ("enabled".equals(field)) {
                    initialCopy = parser.booleanValue();
                } else if ("max_concurrent_ranges".equals(field)) {
                    copyMaxConcurrentRanges = parser.intValue();
                } else if ("batch_size".equals(field)) {
                    copyBatchSize = parser.intValue();
                } else {
                    throw new IllegalArgumentException(
                        "[initial_copy] takes [enabled], [max_concurrent_ranges] and [batch_size], not [" + field + "]"
                    );
                }
            }
        }

        public FollowBudgets.Builder budgets() {
            return budgets;
        }

        public Builder deadLetterIndex(String deadLetterIndex) {
            this.deadLetterIndex = deadLetterIndex;
            return this;
        }

        public Builder pipeline(String pipeline) {
            this.pipeline = pipeline;
            return this;
        }

        public Builder onDelete(OnDelete onDelete) {
            this.onDelete = onDelete;
            return this;
        }

        /** The {@code fields} object as given; {@link #build()} validates its paths. */
        public Builder fields(FieldSelection.Paths fields) {
            this.fields = fields;
            return this;
        }

        public FollowParameters build() {
            if (client != null && connection != null) {
                throw new IllegalArgumentException("[client] and [connection] cannot both be set: name a client or give a connection string");
            }
            if (client == null && connection == null) {
                throw new IllegalArgumentException("one of [client] (a named client, mongo_follow.client.NAME.*) or [connection] (a MongoDB URI) is required");
            }
            MongoEndpoint endpoint = client != null ? MongoEndpoint.client(client) : MongoEndpoint.connection(connection);
            return new FollowParameters(
                endpoint,
                database,
                collection,
                initialCopy,
                copyMaxConcurrentRanges,
                copyBatchSize,
                onHistoryLost,
                budgets.build(),
                deadLetterIndex,
                fields == null ? FieldSelection.ALL : fields.selection(),
                source,
                fullDocument,
                pipeline,
                onDelete
            );
        }
    }

    /** Declares the budget fields on any parser whose value can hand out a {@link FollowBudgets.Builder}. */
    public static <T> void declareBudgets(ObjectParser<T, Void> parser, java.util.function.Function<T, FollowBudgets.Builder> budgets) {
        parser.declareInt((t, v) -> budgets.apply(t).maxReadRequestOperationCount(v), FollowBudgets.MAX_READ_REQUEST_OPERATION_COUNT);
        parser.declareInt((t, v) -> budgets.apply(t).maxOutstandingReadRequests(v), FollowBudgets.MAX_OUTSTANDING_READ_REQUESTS);
        parser.declareString(
            (t, v) -> budgets.apply(t).maxReadRequestSize(byteSize(v, FollowBudgets.MAX_READ_REQUEST_SIZE)),
            FollowBudgets.MAX_READ_REQUEST_SIZE
        );
        parser.declareInt((t, v) -> budgets.apply(t).maxWriteRequestOperationCount(v), FollowBudgets.MAX_WRITE_REQUEST_OPERATION_COUNT);
        parser.declareString(
            (t, v) -> budgets.apply(t).maxWriteRequestSize(byteSize(v, FollowBudgets.MAX_WRITE_REQUEST_SIZE)),
            FollowBudgets.MAX_WRITE_REQUEST_SIZE
        );
        parser.declareInt((t, v) -> budgets.apply(t).maxOutstandingWriteRequests(v), FollowBudgets.MAX_OUTSTANDING_WRITE_REQUESTS);
        parser.declareInt((t, v) -> budgets.apply(t).maxWriteBufferCount(v), FollowBudgets.MAX_WRITE_BUFFER_COUNT);
        parser.declareString(
            (t, v) -> budgets.apply(t).maxWriteBufferSize(byteSize(v, FollowBudgets.MAX_WRITE_BUFFER_SIZE)),
            FollowBudgets.MAX_WRITE_BUFFER_SIZE
        );
        parser.declareString((t, v) -> budgets.apply(t).maxRetryDelay(time(v, FollowBudgets.MAX_RETRY_DELAY)), FollowBudgets.MAX_RETRY_DELAY);
        parser.declareString((t, v) -> budgets.apply(t).readPollTimeout(time(v, FollowBudgets.READ_POLL_TIMEOUT)), FollowBudgets.READ_POLL_TIMEOUT);
        parser.declareString(
            (t, v) -> budgets.apply(t).checkpointInterval(time(v, FollowBudgets.CHECKPOINT_INTERVAL)),
            FollowBudgets.CHECKPOINT_INTERVAL
        );
    }

    private static ByteSizeValue byteSize(String value, ParseField field) {
        return ByteSizeValue.parseBytesSizeValue(value, field.getPreferredName());
    }

    private static TimeValue time(String value, ParseField field) {
        return TimeValue.parseTimeValue(value, field.getPreferredName());
    }

    /** The parser of the follow fields, shared by the PUT body and the stored metadata. */
    public static <T> void declareFollowFields(ObjectParser<T, Void> parser, java.util.function.Function<T, Builder> follow) {
        parser.declareString((t, v) -> follow.apply(t).client(v), CLIENT);
        parser.declareString((t, v) -> follow.apply(t).connection(v), CONNECTION);
        parser.declareString((t, v) -> follow.apply(t).database(v), DATABASE);
        parser.declareString((t, v) -> follow.apply(t).collection(v), COLLECTION);
        parser.declareField((p, t, c) -> {
            if (p.currentToken() == XContentParser.Token.START_OBJECT) {
                follow.apply(t).initialCopyObject(p);
            } else {
                follow.apply(t).initialCopy(p.booleanValue());
            }
        }, INITIAL_COPY, ObjectParser.ValueType.OBJECT_OR_BOOLEAN);
        parser.declareInt((t, v) -> follow.apply(t).copyMaxConcurrentRanges(v), INITIAL_COPY_MAX_CONCURRENT_RANGES);
        parser.declareInt((t, v) -> follow.apply(t).copyBatchSize(v), INITIAL_COPY_BATCH_SIZE);
        parser.declareString((t, v) -> follow.apply(t).onHistoryLost(OnHistoryLost.parse(v)), ON_HISTORY_LOST);
        parser.declareString((t, v) -> follow.apply(t).source(SourceMode.parse(v)), SOURCE);
        parser.declareString((t, v) -> follow.apply(t).fullDocument(FullDocumentMode.parse(v)), FULL_DOCUMENT);
        parser.declareString((t, v) -> follow.apply(t).deadLetterIndex(v), DEAD_LETTER_INDEX);
        parser.declareString((t, v) -> follow.apply(t).pipeline(v), PIPELINE);
        parser.declareField((p, t, c) -> follow.apply(t).onDelete(OnDelete.parse(p)), new ParseField(OnDelete.FIELD),
            ObjectParser.ValueType.OBJECT_OR_STRING);
        parser.declareObject((t, v) -> follow.apply(t).fields(v), (p, c) -> FieldSelection.parsePaths(p), FieldSelection.FIELDS);
        declareBudgets(parser, t -> follow.apply(t).budgets());
    }

    private static final ObjectParser<Builder, Void> PARSER = new ObjectParser<>("mongo_follow", Builder::new);

    static {
        declareFollowFields(PARSER, b -> b);
    }

    public static FollowParameters fromXContent(XContentParser parser) {
        return PARSER.apply(parser, null).build();
    }
}

package org.mongofollow.autofollow;

import org.elasticsearch.common.bytes.BytesReference;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.mongofollow.action.PutFollowAction;
import org.mongofollow.security.FollowUser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An auto-follow pattern, as CCR's: which MongoDB collections it follows ({@code database}, a name or a {@code *} pattern;
 * {@code collections} and {@code exclude_collections} patterns), the follower index each gets ({@code follow_index_pattern},
 * a template of {@code {{database}}} and {@code {{collection}}}), and the body of every follow it starts (client or
 * connection, {@code settings} and every follow parameter, kept as the user gave them and parsed by {@code PUT
 * /{index}/_mongo_follow} itself for each follow). It also holds whether it is active, the user whose privileges its follows
 * run with, and the namespaces it has followed, so that a follow a user ended is not started again while its collection
 * exists.
 */
public record AutoFollowPattern(
    String database,
    List<String> collections,
    List<String> excludeCollections,
    String followIndexPattern,
    Map<String, Object> follow,
    boolean active,
    FollowUser user,
    SortedSet<String> followed
) implements Writeable {

    public static final String DATABASE = "database";
    public static final String COLLECTIONS = "collections";
    public static final String EXCLUDE_COLLECTIONS = "exclude_collections";
    public static final String FOLLOW_INDEX_PATTERN = "follow_index_pattern";
    public static final String DEFAULT_FOLLOW_INDEX_PATTERN = "{{database}}.{{collection}}";
    static final String DATABASE_PLACEHOLDER = "{{database}}";
    static final String COLLECTION_PLACEHOLDER = "{{collection}}";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([^}]*)}}");

    /** Databases no pattern follows: MongoDB's own. */
    static final Set<String> INTERNAL_DATABASES = Set.of("admin", "local", "config");

    public AutoFollowPattern {
        Objects.requireNonNull(database);
        collections = List.copyOf(collections);
        excludeCollections = List.copyOf(excludeCollections);
        Objects.requireNonNull(followIndexPattern);
        follow = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(follow)); // (a JSON null stays: Map.copyOf refuses it)
        Objects.requireNonNull(user);
        followed = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(followed));
    }

    /**
     * Parses and checks the body of {@code PUT /_mongo_follow/auto_follow/{name}}: the pattern's own fields, and the rest as
     * a follow's body, which is checked by parsing the follow of a sample collection. A new pattern is active and has
     * followed nothing; {@code user} is who created it.
     */
    public static AutoFollowPattern parse(Map<String, Object> body, FollowUser user) {
        Map<String, Object> follow = new LinkedHashMap<>(body);
        Object database = follow.remove(DATABASE);
        if (database instanceof String == false || ((String) database).isEmpty()) {
            throw new IllegalArgumentException("[" + DATABASE + "] is required: a database name, or a pattern such as [shop*]");
        }
        if (follow.containsKey("collection")) {
            throw new IllegalArgumentException("[collection] is a field of a follow, not of an auto-follow pattern: use [" + COLLECTIONS + "]");
        }
        List<String> collections = patterns(follow.remove(COLLECTIONS), COLLECTIONS, List.of("*"));
        List<String> excludes = patterns(follow.remove(EXCLUDE_COLLECTIONS), EXCLUDE_COLLECTIONS, List.of());
        Object template = follow.remove(FOLLOW_INDEX_PATTERN);
        if (template != null && template instanceof String == false) {
            throw new IllegalArgumentException("[" + FOLLOW_INDEX_PATTERN + "] must be a string, such as [" + DEFAULT_FOLLOW_INDEX_PATTERN + "]");
        }
        AutoFollowPattern pattern = new AutoFollowPattern(
            (String) database,
            collections,
            excludes,
            template == null ? DEFAULT_FOLLOW_INDEX_PATTERN : (String) template,
            follow,
            true,
            user,
            new TreeSet<>()
        );
        pattern.validate();
        return pattern;
    }

    private static List<String> patterns(Object value, String field, List<String> defaultValue) {
        if (value == null) {
            return defaultValue;
        }
        List<?> values = value instanceof List<?> list ? list : List.of(value);
        List<String> patterns = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof String s && s.isEmpty() == false) {
                patterns.add(s);
            } else {
                throw new IllegalArgumentException("[" + field + "] must be a collection name or pattern, or a list of them, got [" + v + "]");
            }
        }
        if (patterns.isEmpty() && defaultValue.isEmpty() == false) {
            throw new IllegalArgumentException("[" + field + "] must name at least one collection or pattern");
        }
        return patterns;
    }

    private void validate() {
        if (INTERNAL_DATABASES.contains(database)) {
            throw new IllegalArgumentException("[" + DATABASE + "] [" + database + "] is an internal MongoDB database and cannot be followed");
        }
        Matcher placeholders = PLACEHOLDER.matcher(followIndexPattern);
        while (placeholders.find()) {
            String name = "{{" + placeholders.group(1) + "}}";
            if (name.equals(DATABASE_PLACEHOLDER) == false && name.equals(COLLECTION_PLACEHOLDER) == false) {
                throw new IllegalArgumentException(
                    "[" + FOLLOW_INDEX_PATTERN + "] knows only " + DATABASE_PLACEHOLDER + " and " + COLLECTION_PLACEHOLDER + ", got " + name
                );
            }
        }
        if (followIndexPattern.contains(COLLECTION_PLACEHOLDER) == false) {
            throw new IllegalArgumentException(
                "[" + FOLLOW_INDEX_PATTERN + "] [" + followIndexPattern + "] must contain " + COLLECTION_PLACEHOLDER
                    + ", or every collection would have the same follower index"
            );
        }
        if (Regex.isSimpleMatchPattern(database) && followIndexPattern.contains(DATABASE_PLACEHOLDER) == false) {
            throw new IllegalArgumentException(
                "[" + FOLLOW_INDEX_PATTERN + "] [" + followIndexPattern + "] must contain " + DATABASE_PLACEHOLDER
                    + " when [" + DATABASE + "] is a pattern, or two databases' collections would have the same follower index"
            );
        }
        // the follow's own fields, checked as PUT /{index}/_mongo_follow checks them
        followRequest("auto-follow-check", Regex.isSimpleMatchPattern(database) ? "database" : database, "collection");
    }

    /** Whether the pattern follows collections of {@code database}. */
    public boolean matchesDatabase(String name) {
        return INTERNAL_DATABASES.contains(name) == false && Regex.simpleMatch(database, name);
    }

    /** Whether the pattern follows {@code collection} (of a database it follows). */
    public boolean matchesCollection(String collection) {
        return collection.startsWith("system.") == false
            && Regex.simpleMatch(collections, collection)
            && Regex.simpleMatch(excludeCollections, collection) == false;
    }

    /** The name of the follower index of {@code database.collection}, not yet checked. */
    public String followIndex(String databaseName, String collection) {
        return followIndexPattern.replace(DATABASE_PLACEHOLDER, databaseName).replace(COLLECTION_PLACEHOLDER, collection);
    }

    /** The request that starts the follow of {@code database.collection} into {@code index}, as the pattern's body says. */
    public PutFollowAction.Request followRequest(String index, String databaseName, String collection) {
        Map<String, Object> body = new LinkedHashMap<>(follow);
        body.put(DATABASE, databaseName);
        body.put("collection", collection);
        try (
            XContentBuilder json = JsonXContent.contentBuilder().map(body);
            XContentParser parser = JsonXContent.jsonXContent.createParser(
                XContentParserConfiguration.EMPTY,
                BytesReference.bytes(json).streamInput()
            )
        ) {
            return PutFollowAction.Request.fromXContent(index, parser);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The MongoDB deployment the pattern's follows read (its client or connection), as each of its follows has it. */
    public org.mongofollow.source.MongoEndpoint endpoint() {
        return followRequest("auto-follow", "database", "collection").follow().endpoint();
    }

    public AutoFollowPattern withActive(boolean newActive) {
        return new AutoFollowPattern(database, collections, excludeCollections, followIndexPattern, follow, newActive, user, followed);
    }

    public AutoFollowPattern withFollowed(SortedSet<String> newFollowed) {
        return new AutoFollowPattern(database, collections, excludeCollections, followIndexPattern, follow, active, user, newFollowed);
    }

    /** This definition, by a new user, keeping what the pattern it replaces has followed and whether it is active. */
    public AutoFollowPattern replacing(AutoFollowPattern previous) {
        return previous == null ? this
            : new AutoFollowPattern(database, collections, excludeCollections, followIndexPattern, follow, previous.active, user, previous.followed);
    }

    public AutoFollowPattern(StreamInput in) throws IOException {
        this(
            in.readString(),
            in.readStringCollectionAsList(),
            in.readStringCollectionAsList(),
            in.readString(),
            in.readGenericMap(),
            in.readBoolean(),
            new FollowUser(in),
            new TreeSet<>(in.readStringCollectionAsList())
        );
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(database);
        out.writeStringCollection(collections);
        out.writeStringCollection(excludeCollections);
        out.writeString(followIndexPattern);
        out.writeGenericMap(follow);
        out.writeBoolean(active);
        user.writeTo(out);
        out.writeStringCollection(followed);
    }

    /** The definition as the user gave it (the body of its PUT), with {@code active}: what GET answers. */
    public XContentBuilder definitionToXContent(XContentBuilder builder) throws IOException {
        builder.startObject();
        builder.field("active", active);
        builder.field(DATABASE, database);
        builder.stringListField(COLLECTIONS, collections);
        builder.stringListField(EXCLUDE_COLLECTIONS, excludeCollections);
        builder.field(FOLLOW_INDEX_PATTERN, followIndexPattern);
        for (Map.Entry<String, Object> field : new java.util.TreeMap<>(follow).entrySet()) {
            builder.field(field.getKey(), field.getValue());
        }
        return builder.endObject();
    }

    static final String FOLLOW = "follow";
    static final String ACTIVE = "active";
    static final String FOLLOWED = "followed";
    static final String HEADERS = "headers";

    /** The pattern in the cluster metadata; the user's headers only where that metadata is stored ({@link FollowUser#storedIn}). */
    void toXContent(XContentBuilder builder, ToXContent.Params params) throws IOException {
        builder.startObject();
        builder.field(DATABASE, database);
        builder.stringListField(COLLECTIONS, collections);
        builder.stringListField(EXCLUDE_COLLECTIONS, excludeCollections);
        builder.field(FOLLOW_INDEX_PATTERN, followIndexPattern);
        builder.field(FOLLOW, follow);
        builder.field(ACTIVE, active);
        builder.stringListField(FOLLOWED, followed);
        if (FollowUser.storedIn(params) && user.isNone() == false) {
            builder.field(HEADERS, user.storedHeaders());
        }
        builder.endObject();
    }

    @SuppressWarnings("unchecked")
    static AutoFollowPattern fromStoredMap(Map<String, Object> map) {
        Map<String, String> headers = (Map<String, String>) map.getOrDefault(HEADERS, Map.of());
        return new AutoFollowPattern(
            (String) map.get(DATABASE),
            (List<String>) map.get(COLLECTIONS),
            (List<String>) map.get(EXCLUDE_COLLECTIONS),
            (String) map.get(FOLLOW_INDEX_PATTERN),
            (Map<String, Object>) map.get(FOLLOW),
            (Boolean) map.get(ACTIVE),
            FollowUser.of(headers),
            new TreeSet<>((List<String>) map.get(FOLLOWED))
        );
    }

    @Override
    public String toString() {
        return "AutoFollowPattern{" + database + " " + collections + " -" + excludeCollections + " -> " + followIndexPattern
            + (active ? "" : " paused") + ", followed " + followed.size() + "}";
    }
}

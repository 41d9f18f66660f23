package org.mongofollow.apply;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of the MongoDB documents a follower keeps in {@code _source}: {@code fields.include} and
 * {@code fields.exclude} of the follow body, MongoDB dotted paths. The same selection applies to copied
 * documents, inserts, replacements and updates (see {@link SelectedUpdates}):
 * <ul>
 *   <li>without {@code include} every field is selected; with it, a field is kept when its path or a parent's
 *       path is listed; an object on the way to a listed path keeps only its selected fields and is left out
 *       when none is left, and an array on the way keeps the selected part of each element that has one
 *       (other elements, scalars among them, are left out), as Elasticsearch's {@code _source} includes do;</li>
 *   <li>then every {@code exclude} path is removed with everything below it; the objects and arrays on the way
 *       keep the rest of their content (array elements keep their positions);</li>
 *   <li>array elements share their array's path ({@code a.b} is {@code b} in every object of the array {@code a});</li>
 *   <li>a value {@link BsonToJson} maps to an object (a timestamp, a regular expression, ...) is selected as that
 *       object, so that selecting BSON and selecting the JSON {@code _source} agree;</li>
 *   <li>the top-level {@code _id} is the document's identity and is always kept (it is the Elasticsearch
 *       {@code _id}, never part of {@code _source}); excluding it is refused.</li>
 * </ul>
 * Paths are plain: no wildcards. A field whose own name holds dots is matched as the path it spells, as
 * Elasticsearch reads it ({@code exclude a.b} removes {@code {"a.b": ..}} too).
 */
public final class FieldSelection implements Writeable, ToXContentFragment {

    public static final ParseField FIELDS = new ParseField("fields");
    public static final ParseField INCLUDE = new ParseField("include");
    public static final ParseField EXCLUDE = new ParseField("exclude");
    static final int MAX_PATHS = 1000;

    /** Every field. */
    public static final FieldSelection ALL = new FieldSelection(List.of(), List.of());

    private final List<String> includes;
    private final List<String> excludes;
    private final Scope root;

    public FieldSelection(List<String> includes, List<String> excludes) {
        this.includes = List.copyOf(includes);
        this.excludes = List.copyOf(excludes);
        validate(INCLUDE, this.includes);
        validate(EXCLUDE, this.excludes);
        for (String path : this.excludes) {
            if (path.equals("_id") || path.startsWith("_id.")) {
                throw new IllegalArgumentException("[fields.exclude] [" + path + "]: the top-level _id is the document's identity "
                    + "(the Elasticsearch _id, never part of _source) and cannot be excluded");
            }
        }
        this.root = new Scope(this.includes.isEmpty() ? null : tree(this.includes), this.excludes.isEmpty() ? null : tree(this.excludes));
    }

    public FieldSelection(StreamInput in) throws IOException {
        this(in.readStringCollectionAsList(), in.readStringCollectionAsList());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeStringCollection(includes);
        out.writeStringCollection(excludes);
    }

    private static void validate(ParseField what, List<String> paths) {
        if (paths.size() > MAX_PATHS) {
            throw new IllegalArgumentException("[fields." + what.getPreferredName() + "] lists " + paths.size() + " paths, at most "
                + MAX_PATHS + " are allowed");
        }
        for (String path : paths) {
            String prefix = "[fields." + what.getPreferredName() + "] [" + path + "] ";
            if (path.isEmpty()) {
                throw new IllegalArgumentException("[fields." + what.getPreferredName() + "] paths cannot be empty");
            }
            if (path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
                throw new IllegalArgumentException(prefix + "is not a dotted path: it has an empty segment");
            }
            if (path.contains("*")) {
                throw new IllegalArgumentException(prefix + "has a wildcard; wildcards are not supported, list the dotted paths");
            }
        }
    }

    public List<String> includes() {
        return includes;
    }

    public List<String> excludes() {
        return excludes;
    }

    /** Whether every field is selected (nothing to filter). */
    public boolean selectsAll() {
        return root.whole();
    }

    /** The selected part of a MongoDB document; the top-level {@code _id} is always kept. */
    public BsonDocument select(BsonDocument document) {
        if (selectsAll()) {
            return document;
        }
        BsonDocument out = new BsonDocument();
        out.putAll(selectFields(document, root, BSON, true));
        return out;
    }

    /** The selected part of a JSON {@code _source}, as {@link BsonToJson} writes it. */
    public Map<String, Object> select(Map<String, Object> source) {
        return selectsAll() ? source : selectFields(source, root, JSON, true);
    }

    /** The selected part of a BSON value at a path of scope {@code scope}, or null when nothing of it is selected. */
    static BsonValue selectValue(BsonValue value, Scope scope) {
        if (scope.whole()) {
            return value;
        }
        Object selected = selectValue(value, scope, BSON);
        return selected == NOTHING ? null : (BsonValue) selected;
    }

    Scope root() {
        return root;
    }

    /** What {@link #selectValue(Object, Scope, Tree)} answers when nothing of a value is selected (a JSON value may be null). */
    private static final Object NOTHING = new Object();

    @SuppressWarnings("unchecked")
    private static <V> Map<String, V> selectFields(Map<String, V> fields, Scope scope, Tree<V> tree, boolean topLevel) {
        Map<String, V> out = new LinkedHashMap<>();
        for (Map.Entry<String, V> e : fields.entrySet()) {
            if (topLevel && e.getKey().equals("_id")) {
                out.put(e.getKey(), e.getValue());
                continue;
            }
            Scope child = scope.child(e.getKey());
            if (child != null) {
                Object selected = child.whole() ? e.getValue() : selectValue(e.getValue(), child, tree);
                if (selected != NOTHING) {
                    out.put(e.getKey(), (V) selected);
                }
            }
        }
        return out;
    }

    /** The selected part of a value (null is a JSON null), or {@link #NOTHING}. */
    @SuppressWarnings("unchecked")
    private static <V> Object selectValue(V value, Scope scope, Tree<V> tree) {
        Map<String, V> object = tree.asObject(value);
        if (object != null) {
            Map<String, V> selected = selectFields(object, scope, tree, false);
            return selected.isEmpty() && scope.narrowsByInclude() ? NOTHING : tree.object(selected);
        }
        List<V> array = tree.asArray(value);
        if (array != null) {
            List<V> selected = new ArrayList<>(array.size());
            for (V element : array) {
                Object s = selectValue(element, scope, tree);
                if (s != NOTHING) {
                    selected.add((V) s);
                }
            }
            return selected.isEmpty() && scope.narrowsByInclude() ? NOTHING : tree.array(selected);
        }
        return scope.narrowsByInclude() ? NOTHING : value; // a scalar where only fields below it are included
    }

    /** Where a path stands with respect to the selection: what of the include and exclude lists lies below it. */
    static final class Scope {
        /** The include paths below this path; null when the path is included whole. */
        private final Node include;
        /** The exclude paths below this path; null when none is. */
        private final Node exclude;

        private Scope(Node include, Node exclude) {
            this.include = include;
            this.exclude = exclude;
        }

        /** The scope of field {@code name} below this path, or null when the field is not selected at all. */
        Scope child(String name) {
            if (whole()) {
                return this;
            }
            if (name.indexOf('.') >= 0) {
                // Elasticsearch reads a dotted field name as the path it spells, and so does the selection:
                // exclude a.b removes {"a.b": ..} as it removes {"a": {"b": ..}}
                Scope scope = this;
                for (String part : name.split("\\.", -1)) {
                    scope = scope.child(part);
                    if (scope == null || scope.whole()) {
                        return scope;
                    }
                }
                return scope;
            }
            Node in = null;
            if (include != null) {
                in = include.children.get(name);
                if (in == null) {
                    return null;
                }
                in = in.listed ? null : in;
            }
            Node ex = exclude == null ? null : exclude.children.get(name);
            if (ex != null && ex.listed) {
                return null;
            }
            return new Scope(in, ex);
        }

        /** Everything below this path is selected. */
        boolean whole() {
            return include == null && exclude == null;
        }

        /**
         * Only some fields below this path are included: the selected copy of a value here is an object's
         * selected fields, and leaves out arrays' unselected elements and values without selected fields.
         */
        boolean narrowsByInclude() {
            return include != null;
        }
    }

    /** A path tree: a node is {@code listed} when its path is in the list (what is below it then does not matter). */
    private static final class Node {
        boolean listed;
        final Map<String, Node> children = new HashMap<>();
    }

    private static Node tree(List<String> paths) {
        Node root = new Node();
        for (String path : paths) {
            Node node = root;
            for (String part : path.split("\\.")) {
                node = node.children.computeIfAbsent(part, p -> new Node());
            }
            node.listed = true;
        }
        return root;
    }

    /** The two document models a selection filters: BSON values and the JSON maps of {@code _source}. */
    private interface Tree<V> {
        Map<String, V> asObject(V value);

        List<V> asArray(V value);

        V object(Map<String, V> fields);

        V array(List<V> values);
    }

    private static final Tree<BsonValue> BSON = new Tree<>() {
        @Override
        public Map<String, BsonValue> asObject(BsonValue value) {
            return value.isDocument() ? value.asDocument() : BsonToJson.mappedObject(value); // as _source shows it
        }

        @Override
        public List<BsonValue> asArray(BsonValue value) {
            return value.isArray() ? value.asArray() : null;
        }

        @Override
        public BsonValue object(Map<String, BsonValue> fields) {
            BsonDocument document = new BsonDocument();
            document.putAll(fields);
            return document;
        }

        @Override
        public BsonValue array(List<BsonValue> values) {
            return new BsonArray(values);
        }
    };

    private static final Tree<Object> JSON = new Tree<>() {
        @Override
        @SuppressWarnings("unchecked")
        public Map<String, Object> asObject(Object value) {
            return value instanceof Map<?, ?> map ? (Map<String, Object>) map : null;
        }

        @Override
        @SuppressWarnings("unchecked")
        public List<Object> asArray(Object value) {
            return value instanceof List<?> list ? (List<Object>) list : null;
        }

        @Override
        public Object object(Map<String, Object> fields) {
            return fields;
        }

        @Override
        public Object array(List<Object> values) {
            return values;
        }
    };

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(FIELDS.getPreferredName());
        if (includes.isEmpty() == false) {
            builder.stringListField(INCLUDE.getPreferredName(), includes);
        }
        if (excludes.isEmpty() == false) {
            builder.stringListField(EXCLUDE.getPreferredName(), excludes);
        }
        return builder.endObject();
    }

    private static final ObjectParser<Paths, Void> PARSER = new ObjectParser<>(FIELDS.getPreferredName(), Paths::new);

    static {
        PARSER.declareStringArray((p, v) -> p.includes = v, INCLUDE);
        PARSER.declareStringArray((p, v) -> p.excludes = v, EXCLUDE);
    }

    /** The lists of a {@code fields} object as given, before {@link #selection()} validates them. */
    public static final class Paths {
        private List<String> includes = List.of();
        private List<String> excludes = List.of();

        /** @throws IllegalArgumentException when a path is invalid */
        public FieldSelection selection() {
            return new FieldSelection(includes, excludes);
        }
    }

    /** Parses {@code {"include": [..], "exclude": [..]}} (each a path or a list of paths), without validating the paths. */
    public static Paths parsePaths(XContentParser parser) {
        return PARSER.apply(parser, null);
    }

    /** Parses and validates {@code {"include": [..], "exclude": [..]}}. */
    public static FieldSelection fromXContent(XContentParser parser) {
        return parsePaths(parser).selection();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FieldSelection other && includes.equals(other.includes) && excludes.equals(other.excludes);
    }

    @Override
    public int hashCode() {
        return includes.hashCode() * 31 + excludes.hashCode();
    }

    @Override
    public String toString() {
        return "fields{include=" + includes + ", exclude=" + excludes + "}";
    }
}

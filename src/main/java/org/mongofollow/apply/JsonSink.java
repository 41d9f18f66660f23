package org.mongofollow.apply;

import org.elasticsearch.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where {@link BsonToJson} writes the JSON of a BSON document: the events of a JSON writer. Two kinds: {@link #of an
 * XContentBuilder} (the {@code _source} bytes of an indexed document) and {@link Tree} (plain Java objects, for the
 * values an update sets into a stored {@code _source} map). The mapping itself is written once, in {@link BsonToJson}.
 */
interface JsonSink {

    void startObject() throws IOException;

    /** The name of the next value, inside an object. */
    void field(String name) throws IOException;

    void endObject() throws IOException;

    void startArray() throws IOException;

    void endArray() throws IOException;

    void value(String value) throws IOException;

    void value(int value) throws IOException;

    void value(long value) throws IOException;

    void value(double value) throws IOException;

    void value(boolean value) throws IOException;

    void nullValue() throws IOException;

    /** Writes into {@code builder}. */
    static JsonSink of(XContentBuilder builder) {
        return new JsonSink() {
            @Override
            public void startObject() throws IOException {
                builder.startObject();
            }

            @Override
            public void field(String name) throws IOException {
                builder.field(name);
            }

            @Override
            public void endObject() throws IOException {
                builder.endObject();
            }

            @Override
            public void startArray() throws IOException {
                builder.startArray();
            }

            @Override
            public void endArray() throws IOException {
                builder.endArray();
            }

            @Override
            public void value(String value) throws IOException {
                builder.value(value);
            }

            @Override
            public void value(int value) throws IOException {
                builder.value(value);
            }

            @Override
            public void value(long value) throws IOException {
                builder.value(value);
            }

            @Override
            public void value(double value) throws IOException {
                builder.value(value);
            }

            @Override
            public void value(boolean value) throws IOException {
                builder.value(value);
            }

            @Override
            public void nullValue() throws IOException {
                builder.nullValue();
            }
        };
    }

    /**
     * Builds the value as Java objects, as {@code XContentBuilder.map(...)} takes them: {@link LinkedHashMap} (field order
     * kept), {@link ArrayList}, String, Integer, Long, Double, Boolean and null.
     */
    final class Tree implements JsonSink {
        /** The open objects and arrays, innermost last. */
        private final List<Object> open = new ArrayList<>();
        private String name;
        private Object root;
        private boolean done;

        /** The value written, once it is complete. */
        Object result() {
            if (done == false || open.isEmpty() == false) {
                throw new IllegalStateException("no complete value written");
            }
            return root;
        }

        @SuppressWarnings("unchecked")
        private void add(Object value) {
            if (open.isEmpty()) {
                if (done) {
                    throw new IllegalStateException("a second value at the top");
                }
                root = value;
                done = true;
            } else if (open.get(open.size() - 1) instanceof Map<?, ?> map) {
                ((Map<String, Object>) map).put(name, value);
            } else {
                ((List<Object>) open.get(open.size() - 1)).add(value);
            }
        }

        @Override
        public void startObject() {
            Map<String, Object> map = new LinkedHashMap<>();
            add(map);
            open.add(map);
        }

        @Override
        public void field(String name) {
            this.name = name;
        }

        @Override
        public void endObject() {
            open.remove(open.size() - 1);
        }

        @Override
        public void startArray() {
            List<Object> list = new ArrayList<>();
            add(list);
            open.add(list);
        }

        @Override
        public void endArray() {
            open.remove(open.size() - 1);
        }

        @Override
        public void value(String value) {
            add(value);
        }

        @Override
        public void value(int value) {
            add(value);
        }

        @Override
        public void value(long value) {
            add(value);
        }

        @Override
        public void value(double value) {
            add(value);
        }

        @Override
        public void value(boolean value) {
            add(value);
        }

        @Override
        public void nullValue() {
            add(null);
        }
    }
}

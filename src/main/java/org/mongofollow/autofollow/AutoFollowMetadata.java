package org.mongofollow.autofollow;

import org.elasticsearch.TransportVersion;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.common.collect.Iterators;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentParser;
import org.mongofollow.compat.MetadataCustomBase;
import org.mongofollow.compat.WireVersions;

import java.io.IOException;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The auto-follow patterns by name, in the cluster metadata under {@link #TYPE} (as CCR keeps its own in
 * {@code AutoFollowMetadata}): on the nodes' disks, so they survive a full cluster restart, and in a snapshot's global
 * state. Only the master changes them ({@link AutoFollowUpdates}). The API rendering of the cluster state never shows a
 * pattern's stored security headers.
 */
public final class AutoFollowMetadata extends MetadataCustomBase {

    public static final String TYPE = "mongo_follow_auto_follow";
    public static final AutoFollowMetadata EMPTY = new AutoFollowMetadata(Map.of());

    private static final String PATTERNS = "patterns";

    private final Map<String, AutoFollowPattern> patterns;

    public AutoFollowMetadata(Map<String, AutoFollowPattern> patterns) {
        this.patterns = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(patterns));
    }

    /** The patterns of the cluster state (none when it has none). */
    public static AutoFollowMetadata of(ClusterState state) {
        AutoFollowMetadata metadata = MetadataCustomBase.get(state, TYPE);
        return metadata == null ? EMPTY : metadata;
    }

    public Map<String, AutoFollowPattern> patterns() {
        return patterns;
    }

    public AutoFollowMetadata with(String name, AutoFollowPattern pattern) {
        Map<String, AutoFollowPattern> updated = new TreeMap<>(patterns);
        if (pattern == null) {
            updated.remove(name);
        } else {
            updated.put(name, pattern);
        }
        return new AutoFollowMetadata(updated);
    }

    public AutoFollowMetadata(StreamInput in) throws IOException {
        this(in.readMap(StreamInput::readString, AutoFollowPattern::new));
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeMap(patterns, StreamOutput::writeString, (o, p) -> p.writeTo(o));
    }

    @Override
    public String getWriteableName() {
        return TYPE;
    }

    @Override
    public TransportVersion getMinimalSupportedVersion() {
        return WireVersions.minimumCompatible();
    }

    @Override
    public EnumSet<Metadata.XContentContext> context() {
        return Metadata.ALL_CONTEXTS;
    }

    @Override
    public Iterator<? extends ToXContent> toXContentChunked(ToXContent.Params params) {
        return Iterators.single((builder, p) -> {
            builder.startObject(PATTERNS);
            for (Map.Entry<String, AutoFollowPattern> entry : patterns.entrySet()) {
                builder.field(entry.getKey());
                entry.getValue().toXContent(builder, params);
            }
            return builder.endObject();
        });
    }

    /** Reads what {@link #toXContentChunked} stored (the gateway's copy on disk). */
    @SuppressWarnings("unchecked")
    public static AutoFollowMetadata fromXContent(XContentParser parser) throws IOException {
        Map<String, Object> map = parser.map();
        Map<String, Object> stored = (Map<String, Object>) map.getOrDefault(PATTERNS, Map.of());
        Map<String, AutoFollowPattern> patterns = new TreeMap<>();
        stored.forEach((name, pattern) -> patterns.put(name, AutoFollowPattern.fromStoredMap((Map<String, Object>) pattern)));
        return new AutoFollowMetadata(patterns);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AutoFollowMetadata other && patterns.equals(other.patterns);
    }

    @Override
    public int hashCode() {
        return Objects.hash(patterns);
    }

    @Override
    public String toString() {
        return "AutoFollowMetadata" + patterns;
    }
}

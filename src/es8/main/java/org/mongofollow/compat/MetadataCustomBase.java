package org.mongofollow.compat;

import org.elasticsearch.cluster.AbstractNamedDiffable;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.NamedDiff;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.core.CheckedFunction;
import org.elasticsearch.xcontent.NamedXContentRegistry;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentParser;

import java.io.IOException;
import java.util.List;

/**
 * Elasticsearch 8.19: a plugin's own part of the cluster metadata is a {@code Metadata.Custom}, stored and diffed by name,
 * kept on the nodes' disks and in snapshots' global state as its {@link #context()} says.
 */
public abstract class MetadataCustomBase extends AbstractNamedDiffable<Metadata.Custom> implements Metadata.Custom {

    /** The custom of that name in the cluster's metadata, or null. */
    @SuppressWarnings("unchecked")
    public static <T extends MetadataCustomBase> T get(ClusterState state, String name) {
        return (T) state.metadata().custom(name);
    }

    /** The cluster state with {@code custom} under {@code name}. */
    public static ClusterState put(ClusterState state, String name, MetadataCustomBase custom) {
        return ClusterState.builder(state).metadata(Metadata.builder(state.metadata()).putCustom(name, custom)).build();
    }

    /** What the node's registry needs to read the custom and its diffs from the wire. */
    public static List<NamedWriteableRegistry.Entry> namedWriteables(String name, Writeable.Reader<? extends MetadataCustomBase> reader) {
        return List.of(
            new NamedWriteableRegistry.Entry(Metadata.Custom.class, name, reader),
            new NamedWriteableRegistry.Entry(NamedDiff.class, name, in -> AbstractNamedDiffable.readDiffFrom(Metadata.Custom.class, name, in))
        );
    }

    /** What the node's registry needs to read the custom from its disk (the gateway's XContent). */
    public static NamedXContentRegistry.Entry namedXContent(String name, CheckedFunction<XContentParser, ? extends MetadataCustomBase, IOException> parser) {
        return new NamedXContentRegistry.Entry(Metadata.Custom.class, new ParseField(name), parser::apply);
    }
}

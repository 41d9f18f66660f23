package org.mongofollow.compat;

import org.elasticsearch.cluster.AbstractNamedDiffable;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.NamedDiff;
import org.elasticsearch.cluster.metadata.Metadata;
import org.elasticsearch.cluster.metadata.ProjectMetadata;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.core.CheckedFunction;
import org.elasticsearch.xcontent.NamedXContentRegistry;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentParser;

import java.io.IOException;
import java.util.List;

/**
 * Elasticsearch 9.x: a plugin's own part of the cluster metadata is a {@code Metadata.ProjectCustom} of the default project, stored and diffed by name,
 * kept on the nodes' disks and in snapshots' global state as its {@link #context()} says.
 */
public abstract class MetadataCustomBase extends AbstractNamedDiffable<Metadata.ProjectCustom> implements Metadata.ProjectCustom {

    /** The custom of that name in the cluster's metadata, or null. */
    @SuppressWarnings("unchecked")
    public static <T extends MetadataCustomBase> T get(ClusterState state, String name) {
        return (T) state.metadata().getProject().custom(name);
    }

    /** The cluster state with {@code custom} under {@code name}. */
    public static ClusterState put(ClusterState state, String name, MetadataCustomBase custom) {
        return ClusterState.builder(state).putProjectMetadata(ProjectMetadata.builder(state.metadata().getProject()).putCustom(name, custom)).build();
    }

    /** What the node's registry needs to read the custom and its diffs from the wire. */
    public static List<NamedWriteableRegistry.Entry> namedWriteables(String name, Writeable.Reader<? extends MetadataCustomBase> reader) {
        return List.of(
            new NamedWriteableRegistry.Entry(Metadata.ProjectCustom.class, name, reader),
            new NamedWriteableRegistry.Entry(NamedDiff.class, name, in -> AbstractNamedDiffable.readDiffFrom(Metadata.ProjectCustom.class, name, in))
        );
    }

    /** What the node's registry needs to read the custom from its disk (the gateway's XContent). */
    public static NamedXContentRegistry.Entry namedXContent(String name, CheckedFunction<XContentParser, ? extends MetadataCustomBase, IOException> parser) {
        return new NamedXContentRegistry.Entry(Metadata.ProjectCustom.class, new ParseField(name), parser::apply);
    }
}

package org.mongofollow.compat;

import org.elasticsearch.ingest.Processor;

import java.util.function.BiFunction;

/** Elasticsearch 9.x: a processor factory of a test plugin (the factories take the project too). */
public final class TestProcessors {
    private TestProcessors() {}

    /** A factory that takes no configuration and makes the processor from its tag and description. */
    public static Processor.Factory factory(BiFunction<String, String, Processor> processor) {
        return (factories, tag, description, config, projectId) -> processor.apply(tag, description);
    }
}

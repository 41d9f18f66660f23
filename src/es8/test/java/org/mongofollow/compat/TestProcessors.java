package org.mongofollow.compat;

import org.elasticsearch.ingest.Processor;

import java.util.function.BiFunction;

/** Elasticsearch 8.19: a processor factory of a test plugin (9.x's factories also take the project). */
public final class TestProcessors {
    private TestProcessors() {}

    /** A factory that takes no configuration and makes the processor from its tag and description. */
    public static Processor.Factory factory(BiFunction<String, String, Processor> processor) {
        return (factories, tag, description, config) -> processor.apply(tag, description);
    }
}

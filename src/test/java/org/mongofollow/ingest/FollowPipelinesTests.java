package org.mongofollow.ingest;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.test.ESTestCase;

import java.util.List;

import static org.hamcrest.Matchers.equalTo;

/** The pipelines of a follow are resolved as {@code _bulk} resolves an index request's. */
public class FollowPipelinesTests extends ESTestCase {

    private static final Settings BOTH = Settings.builder()
        .put("index.default_pipeline", "default-p")
        .put("index.final_pipeline", "final-p")
        .build();

    public void testTheIndexsPipelinesRunWithoutAFollowPipeline() {
        FollowPipelines pipelines = FollowPipelines.resolve(BOTH, null);
        assertThat(pipelines.ids(), equalTo(List.of("default-p", "final-p")));
        assertTrue(pipelines.any());
        assertFalse(FollowPipelines.resolve(Settings.EMPTY, null).any());
    }

    public void testTheFollowsPipelineReplacesTheDefaultOnlyAndNoneNamesNone() {
        assertThat(FollowPipelines.resolve(BOTH, "mine").ids(), equalTo(List.of("mine", "final-p")));
        assertThat(FollowPipelines.resolve(BOTH, "_none").ids(), equalTo(List.of("final-p")));
        assertThat(FollowPipelines.resolve(Settings.EMPTY, "mine").ids(), equalTo(List.of("mine")));
        FollowPipelines none = FollowPipelines.resolve(Settings.builder().put("index.final_pipeline", "_none").build(), "_none");
        assertFalse(none.any());
        assertThat(none, equalTo(FollowPipelines.NONE));
    }
}

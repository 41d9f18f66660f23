package org.mongofollow.compat;

import org.elasticsearch.action.admin.indices.get.GetIndexRequestBuilder;
import org.elasticsearch.action.admin.indices.settings.get.GetSettingsRequestBuilder;
import org.elasticsearch.client.internal.IndicesAdminClient;
import org.elasticsearch.search.SearchHits;

/** The Elasticsearch 8.19 test-side calls whose signatures differ between 8.19 and 9.x. */
public final class TestApis {
    private TestApis() {}

    public static GetIndexRequestBuilder getIndex(IndicesAdminClient client) {
        return client.prepareGetIndex();
    }

    public static GetSettingsRequestBuilder getSettings(IndicesAdminClient client, String... indices) {
        return client.prepareGetSettings(indices);
    }

    /** The total hit count (Lucene 10 made it an accessor). */
    public static long totalHits(SearchHits hits) {
        return hits.getTotalHits().value;
    }
}

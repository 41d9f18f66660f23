package org.mongofollow.action;

import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentType;
import org.mongofollow.MongoFollowPlugin;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.hamcrest.Matchers.equalTo;

/** The stats endpoints over real HTTP on an internal cluster of two nodes with the plugin. */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.SUITE, numDataNodes = 2, numClientNodes = 0)
public class FollowStatsIT extends ESIntegTestCase {

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        return List.of(MongoFollowPlugin.class, Netty4Plugin.class);
    }

    @Override
    protected boolean addMockHttpTransport() {
        return false;
    }

    public void testStatsWithoutFollowsIsEmptyOnEveryNode() throws IOException {
        assertThat(internalCluster().numDataNodes(), equalTo(2));
        for (int i = 0; i < 2 * internalCluster().size(); i++) { // the client round-robins over the nodes
            Map<String, Object> body = get("/_mongo_follow/_stats");
            assertThat(body, equalTo(Map.of("indices", List.of())));
        }
    }

    public void testStatsOfMissingIndexIs404() throws IOException {
        ResponseException e = expectThrows(ResponseException.class, () -> get("/missing/_mongo_follow/_stats"));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(404));
        assertThat(errorType(e.getResponse()), equalTo("index_not_found_exception"));
    }

    public void testStatsOfPlainIndexIs404ByNameAndEmptyByPattern() throws IOException {
        createIndex("plain");
        ResponseException e = expectThrows(ResponseException.class, () -> get("/plain/_mongo_follow/_stats"));
        assertThat(e.getResponse().getStatusLine().getStatusCode(), equalTo(404));
        assertThat(errorType(e.getResponse()), equalTo("resource_not_found_exception"));
        assertThat(get("/pla*/_mongo_follow/_stats"), equalTo(Map.of("indices", List.of())));
    }

    private static Map<String, Object> get(String path) throws IOException {
        Response response = getRestClient().performRequest(new Request("GET", path));
        assertThat(response.getStatusLine().getStatusCode(), equalTo(200));
        return parse(response);
    }

    @SuppressWarnings("unchecked")
    private static String errorType(Response response) throws IOException {
        return (String) ((Map<String, Object>) parse(response).get("error")).get("type");
    }

    private static Map<String, Object> parse(Response response) throws IOException {
        try (InputStream in = response.getEntity().getContent()) {
            return XContentHelper.convertToMap(XContentType.JSON.xContent(), in, true);
        }
    }
}

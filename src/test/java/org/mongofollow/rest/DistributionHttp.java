package org.mongofollow.rest;

import org.apache.http.entity.ContentType;
import org.apache.http.entity.StringEntity;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.nio.charset.StandardCharsets;

/** Plain HTTP calls to the distribution node of the *DistributionIT tests: the status and the body, errors included. */
public final class DistributionHttp {

    public record Answer(int status, String body) {}

    private DistributionHttp() {}

    /**
     * A client of the node that {@code -Dtests.rest.cluster=host:port} names (mvn verify starts it and sets it), as the
     * node's superuser ({@code -Dtests.es.user} / {@code -Dtests.es.password}; the test node runs with security on).
     */
    public static RestClient connect() {
        return connect(System.getProperty("tests.es.user"), System.getProperty("tests.es.password"));
    }

    /** A client of the test node as {@code user} (no credentials when {@code user} is null: a node with security off). */
    public static RestClient connect(String user, String password) {
        return connect(user == null ? null : basic(user, password));
    }

    /** A client of the test node that sends {@code authorization} (an Authorization header value; none when null). */
    public static RestClient connect(String authorization) {
        String cluster = System.getProperty("tests.rest.cluster");
        if (cluster == null || cluster.isBlank()) {
            throw new IllegalStateException("-Dtests.rest.cluster=host:port is required (scripts/test starts the node)");
        }
        String[] hostPort = cluster.split(",")[0].split(":");
        var builder = RestClient.builder(new org.apache.http.HttpHost(hostPort[0], Integer.parseInt(hostPort[1]), "http"));
        if (authorization != null) {
            builder.setDefaultHeaders(new org.apache.http.Header[] { new org.apache.http.message.BasicHeader("Authorization", authorization) });
        }
        return builder.build();
    }

    /** The HTTP basic Authorization value of a user. */
    public static String basic(String user, String password) {
        return "Basic " + java.util.Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** Deletes the indices a test made, hidden ones included. */
    public static void deleteIndices(RestClient client, String pattern) throws IOException {
        Request delete = new Request("DELETE", "/" + pattern);
        delete.addParameter("expand_wildcards", "all");
        delete.addParameter("ignore_unavailable", "true");
        client.performRequest(delete);
    }

    /** Deletes every auto-follow pattern, so that none goes on starting follows after the test that put it. */
    @SuppressWarnings("unchecked")
    public static void deleteAutoFollowPatterns(RestClient client) throws IOException {
        Answer patterns = call(client, "GET", "/_mongo_follow/auto_follow", null);
        if (patterns.status() != 200) {
            throw new IOException("could not list the auto-follow patterns: " + patterns.status() + " " + patterns.body());
        }
        Map<String, Object> body = org.elasticsearch.common.xcontent.XContentHelper.convertToMap(
            org.elasticsearch.xcontent.XContentType.JSON.xContent(), patterns.body(), true);
        for (Map<String, Object> pattern : (List<Map<String, Object>>) body.get("patterns")) {
            call(client, "DELETE", "/_mongo_follow/auto_follow/" + pattern.get("name"), null);
        }
    }

    /** {@code path} may carry a query string; {@code json} may be null. */
    public static Answer call(RestClient client, String method, String path, String json) throws IOException {
        String[] pathAndQuery = path.split("\\?", 2);
        Request request = new Request(method, pathAndQuery[0]);
        if (pathAndQuery.length == 2) {
            for (String param : pathAndQuery[1].split("&")) {
                String[] kv = param.split("=", 2);
                request.addParameter(kv[0], kv.length == 2 ? kv[1] : "");
            }
        }
        if (json != null) {
            request.setEntity(new StringEntity(json, ContentType.APPLICATION_JSON));
        }
        Response response;
        try {
            response = client.performRequest(request);
        } catch (ResponseException e) {
            response = e.getResponse();
        }
        String body = response.getEntity() == null ? "" : EntityUtils.toString(response.getEntity(), StandardCharsets.UTF_8);
        return new Answer(response.getStatusLine().getStatusCode(), body);
    }
}

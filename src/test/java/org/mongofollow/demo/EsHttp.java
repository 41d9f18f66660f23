package org.mongofollow.demo;

import org.elasticsearch.common.Strings;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A minimal JSON-over-HTTP client of Elasticsearch for the demo and the benchmark (no extra library:
 * the JDK's HTTP client and Elasticsearch's own XContent parser, which reads numbers the way
 * {@code _source} is compared everywhere else in the project).
 */
public final class EsHttp {

    private final String baseUrl;
    private final HttpClient http;

    public EsHttp(String baseUrl) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A response: its status and its body parsed as a JSON object (empty if the body was not one). */
    public record Reply(int status, String body) {
        public Map<String, Object> json() {
            return parse(body);
        }

        public boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    public Reply call(String method, String path, String body) {
        return call(method, path, body, "application/json");
    }

    public Reply call(String method, String path, String body, String contentType) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(2));
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + baseUrl + path + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Calls and insists on a 2xx answer; returns the parsed body. */
    public Map<String, Object> expectOk(String method, String path, String body) {
        Reply reply = call(method, path, body);
        if (reply.ok() == false) {
            throw new IllegalStateException(method + " " + path + " answered " + reply.status() + ": " + reply.body());
        }
        return reply.json();
    }

    public static Map<String, Object> parse(String json) {
        return XContentHelper.convertToMap(XContentType.JSON.xContent(), json, true);
    }

    public static String toJson(Map<String, ?> map) {
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.map(map);
            return Strings.toString(builder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Through JSON and back, so that both sides of a comparison hold the same number types. */
    public static Map<String, Object> normalize(Map<String, Object> source) {
        return parse(toJson(source));
    }
}

package org.mongofollow.rest.yaml;

import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentType;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The REST API specs ({@code rest-api-spec/api/*.json}, Elasticsearch's format) that the YAML tests call
 * by name: this project's own, and the few core APIs the tests use (from {@code rest-api-spec-core/}).
 */
final class RestApiSpec {

    record PathSpec(String path, List<String> methods, List<String> parts) {}

    record Api(String name, List<PathSpec> paths, Set<String> params) {}

    /** A concrete request: method, path with query string, and the body if any. */
    record ApiCall(String method, String path, Object body) {}

    private static final Pattern PART = Pattern.compile("\\{([^}]+)}");

    /** The parameters every API takes (Elasticsearch's {@code _common.json}). */
    private static final java.util.Set<String> GLOBAL_PARAMS = java.util.Set.of("pretty", "human", "error_trace", "filter_path");

    private final Map<String, Api> apis;

    private RestApiSpec(Map<String, Api> apis) {
        this.apis = apis;
    }

    static RestApiSpec load(String... classpathFolders) throws IOException {
        Map<String, Api> apis = new HashMap<>();
        for (String folder : classpathFolders) {
            for (Path file : listJson(folder)) {
                try (InputStream in = Files.newInputStream(file)) {
                    Map<String, Object> root = XContentHelper.convertToMap(XContentType.JSON.xContent(), in, true);
                    for (Map.Entry<String, Object> entry : root.entrySet()) {
                        apis.put(entry.getKey(), parseApi(entry.getKey(), asMap(entry.getValue())));
                    }
                }
            }
        }
        return new RestApiSpec(apis);
    }

    private static List<Path> listJson(String folder) throws IOException {
        URL url = RestApiSpec.class.getClassLoader().getResource(folder);
        if (url == null) {
            throw new IllegalStateException("no [" + folder + "] on the test classpath");
        }
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value) {
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static Api parseApi(String name, Map<String, Object> spec) {
        List<PathSpec> paths = new ArrayList<>();
        for (Object p : (List<Object>) asMap(spec.get("url")).get("paths")) {
            Map<String, Object> path = asMap(p);
            Map<String, Object> parts = path.containsKey("parts") ? asMap(path.get("parts")) : Map.of();
            paths.add(new PathSpec((String) path.get("path"), (List<String>) path.get("methods"), List.copyOf(parts.keySet())));
        }
        Map<String, Object> params = spec.containsKey("params") ? asMap(spec.get("params")) : Map.of();
        return new Api(name, paths, params.keySet());
    }

    /** Builds the request for {@code api} with {@code params}, choosing the path that uses the most given parts. */
    ApiCall call(String apiName, Map<String, Object> params) {
        Api api = apis.get(apiName);
        if (api == null) {
            throw new AssertionError("no REST API spec named [" + apiName + "]");
        }
        Map<String, Object> remaining = new LinkedHashMap<>(params);
        Object body = remaining.remove("body");
        PathSpec best = null;
        for (PathSpec path : api.paths()) {
            if (remaining.keySet().containsAll(path.parts()) && (best == null || path.parts().size() > best.parts().size())) {
                best = path;
            }
        }
        if (best == null) {
            throw new AssertionError("no path of [" + apiName + "] fits the parameters " + params.keySet());
        }
        Matcher matcher = PART.matcher(best.path());
        StringBuilder path = new StringBuilder();
        while (matcher.find()) {
            Object value = remaining.remove(matcher.group(1));
            matcher.appendReplacement(path, Matcher.quoteReplacement(encode(stringValue(value))));
        }
        matcher.appendTail(path);
        StringBuilder query = new StringBuilder();
        for (Map.Entry<String, Object> param : remaining.entrySet()) {
            if (api.params().contains(param.getKey()) == false && GLOBAL_PARAMS.contains(param.getKey()) == false) {
                throw new AssertionError("[" + apiName + "] has no parameter [" + param.getKey() + "] in its spec");
            }
            query.append(query.isEmpty() ? '?' : '&').append(encode(param.getKey())).append('=').append(encode(stringValue(param.getValue())));
        }
        String method = body != null && best.methods().contains("POST") ? "POST" : best.methods().get(0);
        if (body != null && best.methods().contains("PUT")) {
            method = "PUT";
        }
        return new ApiCall(method, path + query.toString(), body);
    }

    private static String stringValue(Object value) {
        if (value instanceof List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        return String.valueOf(value);
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20").replace("%2C", ",").replace("%2A", "*");
    }
}

package org.mongofollow.rest.yaml;

import org.apache.http.HttpEntity;
import org.apache.http.entity.ContentType;
import org.apache.http.entity.StringEntity;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.XContentType;
import org.elasticsearch.xcontent.json.JsonXContent;

import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Executes the steps of Elasticsearch's YAML REST test format against a running cluster: {@code do}
 * (with {@code catch}), {@code match}, {@code length}, {@code is_true}, {@code is_false}, {@code gt},
 * {@code gte}, {@code lt}, {@code lte} and {@code set}, with {@code $stash} substitution.
 */
final class YamlTestExecutor {

    private static final Map<String, Integer> CATCH_STATUS = Map.of(
        "bad_request", 400, "unauthorized", 401, "forbidden", 403, "missing", 404,
        "request_timeout", 408, "conflict", 409, "unavailable", 503
    );

    private final RestClient client;
    private final RestApiSpec spec;
    private final Map<String, Object> stash = new HashMap<>();
    private int lastStatus;
    private Object lastBody;

    YamlTestExecutor(RestClient client, RestApiSpec spec) {
        this.client = client;
        this.spec = spec;
    }

    void run(List<Map<String, Object>> steps) throws IOException {
        for (Map<String, Object> step : steps) {
            if (step.size() != 1) {
                throw new IllegalArgumentException("a step has exactly one key, got " + step.keySet());
            }
            Map.Entry<String, Object> entry = step.entrySet().iterator().next();
            try {
                execute(entry.getKey(), entry.getValue());
            } catch (AssertionError e) {
                throw new AssertionError("step [" + entry.getKey() + ": " + entry.getValue() + "] failed: " + e.getMessage()
                    + "\nlast response (" + lastStatus + "): " + lastBody, e);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void execute(String kind, Object argument) throws IOException {
        switch (kind) {
            case "do" -> doRequest((Map<String, Object>) argument);
            case "skip", "requires" -> { /* no feature gating: this suite targets one version */ }
            case "match" -> forEach(argument, (path, expected) -> assertMatch(path, resolve(expected)));
            case "length" -> forEach(argument, (path, expected) -> {
                Object actual = valueAt(path);
                int length = actual instanceof List<?> l ? l.size() : actual instanceof Map<?, ?> m ? m.size() : String.valueOf(actual).length();
                if (length != ((Number) resolve(expected)).intValue()) {
                    throw new AssertionError("expected length " + expected + " at [" + path + "] but was " + length + ": " + actual);
                }
            });
            case "is_true" -> {
                Object actual = valueAt((String) argument);
                if (actual == null || Boolean.FALSE.equals(actual) || "".equals(actual) || "false".equals(actual)
                    || (actual instanceof Number n && n.doubleValue() == 0)) {
                    throw new AssertionError("expected [" + argument + "] to be true but was " + actual);
                }
            }
            case "is_false" -> {
                Object actual = valueAt((String) argument);
                if (actual != null && Boolean.FALSE.equals(actual) == false && "".equals(actual) == false && "false".equals(actual) == false) {
                    throw new AssertionError("expected [" + argument + "] to be false but was " + actual);
                }
            }
            case "gt", "gte", "lt", "lte" -> forEach(argument, (path, limit) -> {
                double actual = ((Number) valueAt(path)).doubleValue();
                double bound = ((Number) resolve(limit)).doubleValue();
                boolean ok = switch (kind) {
                    case "gt" -> actual > bound;
                    case "gte" -> actual >= bound;
                    case "lt" -> actual < bound;
                    default -> actual <= bound;
                };
                if (ok == false) {
                    throw new AssertionError("expected [" + path + "] " + kind + " " + bound + " but was " + actual);
                }
            });
            case "set" -> forEach(argument, (path, name) -> stash.put((String) name, valueAt(path)));
            default -> throw new IllegalArgumentException("unsupported step [" + kind + "]");
        }
    }

    private interface PathCheck {
        void check(String path, Object expected) throws IOException;
    }

    @SuppressWarnings("unchecked")
    private static void forEach(Object argument, PathCheck check) throws IOException {
        for (Map.Entry<String, Object> entry : ((Map<String, Object>) argument).entrySet()) {
            check.check(entry.getKey(), entry.getValue());
        }
    }

    @SuppressWarnings("unchecked")
    private void doRequest(Map<String, Object> step) throws IOException {
        Map<String, Object> rest = new LinkedHashMap<>(step);
        String expectedError = (String) rest.remove("catch");
        Map<String, Object> headers = (Map<String, Object>) rest.remove("headers");
        rest.remove("warnings");
        rest.remove("allowed_warnings");
        if (rest.size() != 1) {
            throw new IllegalArgumentException("a do step names exactly one API, got " + rest.keySet());
        }
        Map.Entry<String, Object> api = rest.entrySet().iterator().next();
        Map<String, Object> params = api.getValue() == null ? Map.of() : (Map<String, Object>) resolve(api.getValue());
        RestApiSpec.ApiCall call = spec.call(api.getKey(), params);
        Request request = new Request(call.method(), call.path());
        if (call.body() != null) {
            request.setEntity(body(call.body()));
        }
        if (headers != null) {
            var options = request.getOptions().toBuilder();
            headers.forEach((name, value) -> options.addHeader(name, String.valueOf(value)));
            request.setOptions(options);
        }
        Response response;
        try {
            response = client.performRequest(request);
        } catch (ResponseException e) {
            response = e.getResponse();
        }
        lastStatus = response.getStatusLine().getStatusCode();
        lastBody = parseBody(response.getEntity());
        if (expectedError == null) {
            if (lastStatus >= 400) {
                throw new AssertionError(call.method() + " " + call.path() + " failed with " + lastStatus + ": " + lastBody);
            }
            return;
        }
        if (lastStatus < 400) {
            throw new AssertionError("expected an error [" + expectedError + "] from " + call.method() + " " + call.path() + " but got " + lastStatus);
        }
        if (isRegex(expectedError)) {
            if (regex(expectedError).matcher(String.valueOf(lastBody)).find() == false) {
                throw new AssertionError("error body does not match " + expectedError + ": " + lastBody);
            }
        } else if ("request".equals(expectedError) == false) {
            Integer status = CATCH_STATUS.get(expectedError);
            if (status == null) {
                throw new IllegalArgumentException("unknown catch [" + expectedError + "]");
            }
            if (status != lastStatus) {
                throw new AssertionError("expected status " + status + " (" + expectedError + ") but got " + lastStatus + ": " + lastBody);
            }
        }
    }

    private static HttpEntity body(Object body) throws IOException {
        if (body instanceof String s) {
            return new StringEntity(s, ContentType.APPLICATION_JSON);
        }
        if (body instanceof List<?> lines) {
            // bulk-style bodies: one JSON document per line
            StringBuilder ndjson = new StringBuilder();
            for (Object line : lines) {
                ndjson.append(line instanceof String s ? s : toJson(line)).append('\n');
            }
            return new StringEntity(ndjson.toString(), ContentType.create("application/x-ndjson"));
        }
        return new StringEntity(toJson(body), ContentType.APPLICATION_JSON);
    }

    @SuppressWarnings("unchecked")
    private static String toJson(Object value) throws IOException {
        try (XContentBuilder builder = JsonXContent.contentBuilder()) {
            builder.map((Map<String, Object>) value);
            return org.elasticsearch.common.Strings.toString(builder);
        }
    }

    private static Object parseBody(HttpEntity entity) throws IOException {
        if (entity == null) {
            return null;
        }
        String text = EntityUtils.toString(entity);
        String type = entity.getContentType() == null ? "" : entity.getContentType().getValue();
        if (type.startsWith("application/json") && text.isEmpty() == false) {
            if (text.stripLeading().startsWith("[")) {
                // a top-level array, as _cat answers with format=json
                try (XContentParser parser = XContentType.JSON.xContent().createParser(XContentParserConfiguration.EMPTY, text)) {
                    return parser.listOrderedMap();
                }
            }
            return XContentHelper.convertToMap(XContentType.JSON.xContent(), text, true);
        }
        return text;
    }

    private void assertMatch(String path, Object expected) {
        Object actual = valueAt(path);
        if (expected instanceof String s && isRegex(s)) {
            if (actual == null || regex(s).matcher(String.valueOf(actual)).find() == false) {
                throw new AssertionError("[" + path + "] = " + actual + " does not match " + s);
            }
            return;
        }
        if (equalValues(expected, actual) == false) {
            throw new AssertionError("expected [" + path + "] = " + expected + " but was " + actual);
        }
    }

    private static boolean equalValues(Object expected, Object actual) {
        if (expected instanceof Number e && actual instanceof Number a) {
            return e.doubleValue() == a.doubleValue();
        }
        if (expected instanceof Map<?, ?> e && actual instanceof Map<?, ?> a) {
            return e.size() == a.size() && e.entrySet().stream().allMatch(en -> a.containsKey(en.getKey()) && equalValues(en.getValue(), a.get(en.getKey())));
        }
        if (expected instanceof List<?> e && actual instanceof List<?> a) {
            if (e.size() != a.size()) {
                return false;
            }
            for (int i = 0; i < e.size(); i++) {
                if (equalValues(e.get(i), a.get(i)) == false) {
                    return false;
                }
            }
            return true;
        }
        return expected == null ? actual == null : expected.equals(actual);
    }

    private static boolean isRegex(String s) {
        return s.length() > 1 && s.startsWith("/") && s.strip().endsWith("/");
    }

    private static Pattern regex(String s) {
        String body = s.strip();
        return Pattern.compile(body.substring(1, body.length() - 1), Pattern.COMMENTS | Pattern.DOTALL);
    }

    /** Replaces {@code $name} strings with stashed values, recursively. */
    @SuppressWarnings("unchecked")
    private Object resolve(Object value) {
        if (value instanceof String s && s.startsWith("$") && stash.containsKey(s.substring(1))) {
            return stash.get(s.substring(1));
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> resolved = new LinkedHashMap<>();
            ((Map<String, Object>) map).forEach((k, v) -> resolved.put(k, resolve(v)));
            return resolved;
        }
        if (value instanceof List<?> list) {
            return list.stream().map(this::resolve).toList();
        }
        return value;
    }

    /** The value at a dotted path of the last response ({@code $body} is the whole body; {@code \.} escapes a dot). */
    private Object valueAt(String path) {
        if ("$body".equals(path)) {
            return lastBody;
        }
        Object current = lastBody;
        for (String rawPart : path.split("(?<!\\\\)\\.")) {
            String part = rawPart.replace("\\.", ".");
            if (part.startsWith("$")) {
                part = String.valueOf(stash.get(part.substring(1)));
            }
            if (current instanceof Map<?, ?> map) {
                current = map.get(part);
            } else if (current instanceof List<?> list && part.matches("\\d+") && Integer.parseInt(part) < list.size()) {
                current = list.get(Integer.parseInt(part));
            } else {
                return null;
            }
        }
        return current;
    }
}

package org.mongofollow.security;

import com.mongodb.ConnectionString;

import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.Setting;
import org.mongofollow.source.MongoEndpoint;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Where a follow's {@code connection} string may point: the operator's list of {@code host:port} patterns
 * ({@code *} matches any characters), like reindex-from-remote's whitelist. Empty by default, so a user with
 * {@code manage} on an index cannot make the cluster's data nodes connect to any host they like. Named clients are
 * configured by the operator and always allowed. Dynamic: checked on {@code PUT}, {@code _resume} and {@code _resync},
 * and by every shard and copy task as it starts (on a node restart, a move, a pause and resume): a task whose hosts are
 * no longer allowed fails without connecting, with this refusal as its fatal error.
 */
public final class ConnectionAllowlist {

    public static final Setting<List<String>> SETTING = Setting.stringListSetting(
        "mongo_follow.connection.allowlist",
        Setting.Property.NodeScope,
        Setting.Property.Dynamic
    );

    private static final int DEFAULT_PORT = 27017;

    private volatile List<String> patterns;

    public ConnectionAllowlist(List<String> patterns) {
        this.patterns = normalise(patterns);
    }

    public static ConnectionAllowlist of(ClusterSettings settings) {
        ConnectionAllowlist allowlist = new ConnectionAllowlist(settings.get(SETTING));
        settings.addSettingsUpdateConsumer(SETTING, allowlist::update);
        return allowlist;
    }

    private void update(List<String> patterns) {
        this.patterns = normalise(patterns);
    }

    private static List<String> normalise(List<String> patterns) {
        return patterns.stream().map(String::trim).map(p -> p.toLowerCase(Locale.ROOT)).toList();
    }

    /** Refuses (400) a connection string with a host that no pattern allows; named clients pass. */
    public void check(MongoEndpoint endpoint) {
        if (endpoint.connection() == null) {
            return;
        }
        for (String host : hosts(endpoint.connection())) {
            if (allows(host) == false) {
                throw new IllegalArgumentException(
                    "[connection] host [" + host + "] is not allowed by [" + SETTING.getKey() + "]: an operator must add it (a "
                        + "host:port pattern, * matching any characters) to that cluster setting, or define a named client for it"
                );
            }
        }
    }

    boolean allows(String hostAndPort) {
        String candidate = hostAndPort.toLowerCase(Locale.ROOT);
        List<String> current = patterns;
        return Regex.simpleMatch(current.toArray(String[]::new), candidate);
    }

    /**
     * The {@code host:port} of every host of a connection string, with MongoDB's default port where none is given. A
     * {@code mongodb+srv://} string names one DNS name whose SRV records list the hosts: it is checked as that name with
     * the default port.
     */
    static List<String> hosts(String connection) {
        ConnectionString parsed = new ConnectionString(connection);
        Function<String, String> withPort = host -> {
            if (host.startsWith("[")) { // [IPv6]:port
                return host.contains("]:") ? host : host + ":" + DEFAULT_PORT;
            }
            return host.contains(":") ? host : host + ":" + DEFAULT_PORT;
        };
        return parsed.getHosts().stream().map(withPort).toList();
    }
}

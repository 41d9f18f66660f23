package org.mongofollow.source;

import org.elasticsearch.common.settings.SecureSetting;
import org.elasticsearch.common.settings.SecureString;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Setting.Property;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.TimeValue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of one named MongoDB client, {@code mongo_follow.client.NAME.*}: connection settings in
 * {@code elasticsearch.yml}, credentials in the keystore (reloadable with
 * {@code POST _nodes/reload_secure_settings}), as repository-s3 does for {@code s3.client.NAME.*}.
 * {@link #toString()} never shows the credentials.
 */
public final class FollowClientSettings {

    public static final String PREFIX = "mongo_follow.client.";

    public static final Setting.AffixSetting<List<String>> HOSTS = Setting.affixKeySetting(
        PREFIX,
        "hosts",
        key -> Setting.stringListSetting(key, Property.NodeScope)
    );
    public static final Setting.AffixSetting<String> REPLICA_SET = Setting.affixKeySetting(
        PREFIX,
        "replica_set",
        key -> Setting.simpleString(key, Property.NodeScope)
    );
    public static final Setting.AffixSetting<String> AUTH_SOURCE = Setting.affixKeySetting(
        PREFIX,
        "auth_source",
        key -> Setting.simpleString(key, "admin", Property.NodeScope)
    );
    public static final Setting.AffixSetting<Boolean> TLS_ENABLED = Setting.affixKeySetting(
        PREFIX,
        "tls.enabled",
        key -> Setting.boolSetting(key, false, Property.NodeScope)
    );
    public static final Setting.AffixSetting<Boolean> TLS_ALLOW_INVALID_HOSTNAMES = Setting.affixKeySetting(
        PREFIX,
        "tls.allow_invalid_hostnames",
        key -> Setting.boolSetting(key, false, Property.NodeScope)
    );
    public static final Setting.AffixSetting<TimeValue> CONNECT_TIMEOUT = Setting.affixKeySetting(
        PREFIX,
        "connect_timeout",
        key -> Setting.timeSetting(key, TimeValue.timeValueSeconds(10), Property.NodeScope)
    );
    public static final Setting.AffixSetting<TimeValue> SERVER_SELECTION_TIMEOUT = Setting.affixKeySetting(
        PREFIX,
        "server_selection_timeout",
        key -> Setting.timeSetting(key, TimeValue.timeValueSeconds(10), Property.NodeScope)
    );
    public static final Setting.AffixSetting<SecureString> USERNAME = Setting.affixKeySetting(
        PREFIX,
        "username",
        key -> SecureSetting.secureString(key, null)
    );
    public static final Setting.AffixSetting<SecureString> PASSWORD = Setting.affixKeySetting(
        PREFIX,
        "password",
        key -> SecureSetting.secureString(key, null)
    );

    /**
     * {@code mongo_follow.client.NAME.shard_hosts.SHARD_ID: "host:port,host:port"}: where this node reaches a shard of the
     * sharded cluster whose mongos routers the client names, instead of the hosts {@code config.shards} gives (which may be
     * names only the cluster's own network resolves); the replica set name stays the one {@code config.shards} gives.
     */
    public static final Setting.AffixSetting<Settings> SHARD_HOSTS = Setting.affixKeySetting(
        PREFIX,
        "shard_hosts",
        key -> Setting.groupSetting(key + ".", Property.NodeScope)
    );

    public static List<Setting<?>> all() {
        return List.of(
            HOSTS,
            SHARD_HOSTS,
            REPLICA_SET,
            AUTH_SOURCE,
            TLS_ENABLED,
            TLS_ALLOW_INVALID_HOSTNAMES,
            CONNECT_TIMEOUT,
            SERVER_SELECTION_TIMEOUT,
            USERNAME,
            PASSWORD
        );
    }

    private final String name;
    private final List<String> hosts;
    private final String replicaSet;
    private final String authSource;
    private final boolean tlsEnabled;
    private final boolean tlsAllowInvalidHostnames;
    private final TimeValue connectTimeout;
    private final TimeValue serverSelectionTimeout;
    private final String username;
    private final char[] password;
    private final Map<String, String> shardHosts;

    private FollowClientSettings(String name, Settings settings) {
        this.name = name;
        this.hosts = concrete(HOSTS, name).get(settings);
        Settings byShard = concrete(SHARD_HOSTS, name).get(settings);
        Map<String, String> shards = new java.util.TreeMap<>();
        for (String shard : byShard.keySet()) {
            String shardHosts = byShard.get(shard).strip();
            if (shardHosts.isEmpty() || shardHosts.contains("/") || shardHosts.contains("://")) {
                throw new IllegalArgumentException("[" + SHARD_HOSTS.getConcreteSettingForNamespace(name).getKey() + shard // (key ends with a dot)
                    + "] must be host:port pairs separated by commas (the replica set name comes from config.shards, credentials from the keystore)");
            }
            shards.put(shard, shardHosts);
        }
        this.shardHosts = Map.copyOf(shards);
        this.replicaSet = emptyToNull(concrete(REPLICA_SET, name).get(settings));
        this.authSource = concrete(AUTH_SOURCE, name).get(settings);
        this.tlsEnabled = concrete(TLS_ENABLED, name).get(settings);
        this.tlsAllowInvalidHostnames = concrete(TLS_ALLOW_INVALID_HOSTNAMES, name).get(settings);
        this.connectTimeout = concrete(CONNECT_TIMEOUT, name).get(settings);
        this.serverSelectionTimeout = concrete(SERVER_SELECTION_TIMEOUT, name).get(settings);
        try (SecureString user = concrete(USERNAME, name).get(settings); SecureString pass = concrete(PASSWORD, name).get(settings)) {
            this.username = user.length() == 0 ? null : user.toString();
            this.password = pass.length() == 0 ? null : pass.getChars().clone();
        }
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("[" + HOSTS.getConcreteSettingForNamespace(name).getKey() + "] must name at least one host");
        }
        if ((username == null) != (password == null)) {
            throw new IllegalArgumentException(
                "mongo_follow client [" + name + "] needs both a username and a password in the keystore, or neither"
            );
        }
    }

    private static <T> Setting<T> concrete(Setting.AffixSetting<T> setting, String name) {
        return setting.getConcreteSettingForNamespace(name);
    }

    private static String emptyToNull(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    /** Every named client defined in the settings (the keystore must be open: at start-up or in reload). */
    public static Map<String, FollowClientSettings> load(Settings settings) {
        Map<String, FollowClientSettings> clients = new HashMap<>();
        for (String name : HOSTS.getNamespaces(settings)) {
            clients.put(name, new FollowClientSettings(name, settings));
        }
        for (Setting.AffixSetting<?> secret : List.of(USERNAME, PASSWORD)) {
            for (String name : secret.getNamespaces(settings)) {
                if (clients.containsKey(name) == false) {
                    throw new IllegalArgumentException(
                        "the keystore has credentials for mongo_follow client [" + name + "] but [" + HOSTS.getConcreteSettingForNamespace(name).getKey() + "] is not set"
                    );
                }
            }
        }
        return Map.copyOf(clients);
    }

    public String name() {
        return name;
    }

    public List<String> hosts() {
        return hosts;
    }

    public String replicaSet() {
        return replicaSet;
    }

    public String authSource() {
        return authSource;
    }

    public boolean tlsEnabled() {
        return tlsEnabled;
    }

    public boolean tlsAllowInvalidHostnames() {
        return tlsAllowInvalidHostnames;
    }

    public TimeValue connectTimeout() {
        return connectTimeout;
    }

    public TimeValue serverSelectionTimeout() {
        return serverSelectionTimeout;
    }

    /** The hosts this node reaches each mapped shard at, by shard id ({@link #SHARD_HOSTS}); others as config.shards says. */
    public Map<String, String> shardHosts() {
        return shardHosts;
    }

    public boolean hasCredentials() {
        return username != null;
    }

    /** Hands the credentials to {@code consumer} without letting them escape into a string of this class. */
    public <T> T withCredentials(CredentialsFunction<T> consumer) {
        return consumer.apply(username, authSource, password);
    }

    @FunctionalInterface
    public interface CredentialsFunction<T> {
        T apply(String username, String authSource, char[] password);
    }

    /** Whether two settings would build the same client (credentials included). */
    public boolean sameClientAs(FollowClientSettings other) {
        return other != null
            && hosts.equals(other.hosts)
            && shardHosts.equals(other.shardHosts)
            && java.util.Objects.equals(replicaSet, other.replicaSet)
            && authSource.equals(other.authSource)
            && tlsEnabled == other.tlsEnabled
            && tlsAllowInvalidHostnames == other.tlsAllowInvalidHostnames
            && connectTimeout.equals(other.connectTimeout)
            && serverSelectionTimeout.equals(other.serverSelectionTimeout)
            && java.util.Objects.equals(username, other.username)
            && java.util.Arrays.equals(password, other.password);
    }

    /** A description safe for logs, stats and errors: hosts and replica set, never credentials. */
    public String describe() {
        return String.join(",", hosts) + (replicaSet == null ? "" : "/?replicaSet=" + replicaSet);
    }

    @Override
    public String toString() {
        return "mongo_follow client [" + name + "] " + describe() + (hasCredentials() ? " (with credentials)" : "");
    }
}

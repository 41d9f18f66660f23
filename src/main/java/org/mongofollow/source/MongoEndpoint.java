package org.mongofollow.source;

import com.mongodb.ConnectionString;

import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;

import java.io.IOException;
import java.util.regex.Pattern;

/**
 * Which MongoDB deployment a follow reads: a named client ({@code mongo_follow.client.NAME.*}, whose
 * credentials live in the keystore) or a connection string without credentials. Only this value travels
 * in requests, index metadata and task parameters, so none of them ever holds a credential.
 */
public record MongoEndpoint(String clientName, String connection) implements Writeable {

    public MongoEndpoint {
        if ((clientName == null) == (connection == null)) {
            throw new IllegalArgumentException("a follow needs exactly one of [client] (a named client) or [connection] (a MongoDB URI)");
        }
        if (connection != null) {
            validateConnection(connection);
        }
    }

    public static MongoEndpoint client(String name) {
        return new MongoEndpoint(name, null);
    }

    public static MongoEndpoint connection(String uri) {
        return new MongoEndpoint(null, uri);
    }

    public MongoEndpoint(StreamInput in) throws IOException {
        this(in.readOptionalString(), in.readOptionalString());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeOptionalString(clientName);
        out.writeOptionalString(connection);
    }

    /**
     * Refuses a connection string that carries credentials (or cannot be parsed), with a message that
     * never repeats the string itself: it may hold a password.
     */
    static ConnectionString validateConnection(String uri) {
        if (USER_INFO.matcher(uri).find()) {
            // checked before parsing: a user name alone, or a malformed string with a password, fails to parse
            throw carriesCredentials();
        }
        ConnectionString parsed;
        try {
            parsed = new ConnectionString(uri);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                "[connection] is not a valid MongoDB connection string (it must look like mongodb://host:port/?replicaSet=NAME)"
            );
        }
        if (parsed.getUsername() != null || parsed.getPassword() != null || parsed.getCredential() != null) {
            throw carriesCredentials();
        }
        return parsed;
    }

    /** A user-info part ({@code user[:password]@}) before the hosts of a mongodb:// or mongodb+srv:// string. */
    private static final Pattern USER_INFO = Pattern.compile("^\\s*mongodb(\\+srv)?://[^/?#]*@", Pattern.CASE_INSENSITIVE);

    private static IllegalArgumentException carriesCredentials() {
        return new IllegalArgumentException(
            "[connection] must not carry credentials: put them in the Elasticsearch keystore as "
                + "mongo_follow.client.NAME.username and mongo_follow.client.NAME.password, set mongo_follow.client.NAME.hosts "
                + "in elasticsearch.yml, and follow with \"client\": \"NAME\""
        );
    }

    /** A description safe for stats, logs and errors. */
    public String describe() {
        return clientName != null ? "client [" + clientName + "]" : connection;
    }

    @Override
    public String toString() {
        return describe();
    }
}

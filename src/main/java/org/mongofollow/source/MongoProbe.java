package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.MongoSecurityException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.client.MongoClient;

import org.elasticsearch.ElasticsearchStatusException;
import org.elasticsearch.rest.RestStatus;

/**
 * Checks, before a follow changes anything, that its MongoDB endpoint answers as a replica set member
 * whose oplog can be followed, within the client's server selection timeout; answers the majority
 * commit point, where a follow without initial copy starts. Errors are clear and never show credentials.
 */
public final class MongoProbe {

    private MongoProbe() {}

    public static OplogPosition majorityCommitPoint(MongoClientService clients, MongoEndpoint endpoint, String database, String collection) {
        String where = clients.describe(endpoint);
        // a client of its own, closed after the probe: a refused follow (wrong host, port or replica set name)
        // must not leave a client behind that monitors that endpoint for the life of the node
        try (MongoClient client = clients.newClient(endpoint)) {
            return new OplogReader(client, database, collection).majorityCommitPoint();
        } catch (OplogReader.NotAReplicaSetException | OplogReader.NotThePrimaryException e) {
            throw new IllegalArgumentException("MongoDB at [" + where + "] cannot be followed: " + e.getMessage());
        } catch (MongoTimeoutException e) {
            throw new ElasticsearchStatusException(
                "cannot reach a MongoDB replica set member at [{}] within the server selection timeout; check the hosts, the replica set name and the network",
                RestStatus.SERVICE_UNAVAILABLE,
                where
            );
        } catch (MongoSecurityException e) {
            // never e.getMessage(): the driver's message names the credential (user name, mechanism, source)
            throw new ElasticsearchStatusException(
                "MongoDB at [{}] refused the credentials of the follow's client (authentication failed{}); check "
                    + "mongo_follow.client.{}.username and mongo_follow.client.{}.password in the keystore, and that the server "
                    + "has authentication enabled",
                RestStatus.FORBIDDEN,
                where,
                serverAnswer(e),
                clientName(endpoint),
                clientName(endpoint)
            );
        } catch (IllegalStateException e) {
            // an answer the oplog cannot be followed from (no majority commit point reported)
            throw new ElasticsearchStatusException("MongoDB at [{}] cannot be followed: {}", RestStatus.BAD_GATEWAY, where, e.getMessage());
        } catch (MongoException e) {
            throw new ElasticsearchStatusException(
                "MongoDB at [{}] answered with error {}: {}",
                RestStatus.BAD_GATEWAY,
                where,
                e.getCode(),
                MongoErrors.safeMessage(e)
            );
        }
    }

    private static String clientName(MongoEndpoint endpoint) {
        return endpoint.clientName() == null ? "NAME" : endpoint.clientName();
    }

    /**
     * What the server answered to the authentication, when it answered with a command error: its code,
     * code name and message come from the server and never contain the client's credentials.
     */
    static String serverAnswer(MongoSecurityException e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof MongoCommandException command) {
                return ": the server answered error " + command.getErrorCode()
                    + (command.getErrorCodeName().isEmpty() ? "" : " (" + command.getErrorCodeName() + ")")
                    + ": " + command.getErrorMessage();
            }
        }
        return "";
    }
}

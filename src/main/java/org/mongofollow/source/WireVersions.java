package org.mongofollow.source;

import com.mongodb.client.MongoClient;
import com.mongodb.connection.ServerDescription;

import org.bson.Document;

/**
 * What a MongoDB server can do, from the wire version it reports ({@code maxWireVersion} in {@code hello}): the drivers'
 * way of telling releases apart (4.2 is 8, 4.4 9, 5.0 13, 6.0 17, 7.0 21, 8.0 25); and whether it is a mongos.
 */
public final class WireVersions {

    /** MongoDB 6.0: {@code showExpandedEvents}, {@code fullDocument: "whenAvailable"} and pre- and post-images. */
    public static final int MONGODB_6_0 = 17;

    private WireVersions() {}

    /** Whether the client talks to mongos routers (a sharded cluster), asking the server when not yet known. */
    public static boolean isMongos(MongoClient client) {
        boolean anyKnown = false;
        for (ServerDescription server : client.getClusterDescription().getServerDescriptions()) {
            if (server.getType() == com.mongodb.connection.ServerType.SHARD_ROUTER) {
                return true;
            }
            anyKnown |= server.getType() != com.mongodb.connection.ServerType.UNKNOWN;
        }
        if (anyKnown) {
            return false;
        }
        try {
            return "isdbgrid".equals(client.getDatabase("admin").runCommand(new Document("hello", 1)).get("msg"));
        } catch (com.mongodb.MongoCommandException e) {
            return false; // a server before MongoDB 4.4.2 knows hello only as isMaster; every mongos that old is unsupported
        }
    }

    /** The wire version of the client's primary (or of the one server it knows), asking the server when not yet known. */
    public static int of(MongoClient client) {
        int known = 0;
        for (ServerDescription server : client.getClusterDescription().getServerDescriptions()) {
            if (server.isPrimary() || server.isStandAlone() || server.getType() == com.mongodb.connection.ServerType.SHARD_ROUTER) {
                return server.getMaxWireVersion();
            }
            known = Math.max(known, server.getMaxWireVersion());
        }
        if (known > 0) {
            return known;
        }
        Document hello = client.getDatabase("admin").runCommand(new Document("hello", 1));
        return hello.get("maxWireVersion") instanceof Number version ? version.intValue() : 0;
    }
}

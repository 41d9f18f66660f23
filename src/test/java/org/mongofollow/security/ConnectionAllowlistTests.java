package org.mongofollow.security;

import org.junit.Test;
import org.mongofollow.source.MongoEndpoint;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** A connection string's hosts must all match the operator's patterns; named clients always pass. */
public class ConnectionAllowlistTests {

    @Test
    public void emptyByDefaultAllowsNoConnectionButEveryNamedClient() {
        ConnectionAllowlist none = new ConnectionAllowlist(List.of());
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> none.check(MongoEndpoint.connection("mongodb://127.0.0.1:27017/?replicaSet=rs0"))
        );
        assertTrue(e.getMessage(), e.getMessage().contains("mongo_follow.connection.allowlist"));
        assertTrue(e.getMessage(), e.getMessage().contains("[127.0.0.1:27017]"));
        none.check(MongoEndpoint.client("prod"));
    }

    @Test
    public void everyHostMustMatchAPattern() {
        ConnectionAllowlist list = new ConnectionAllowlist(List.of("mongo*.example:27017", "10.0.0.*:*", " Localhost:* "));
        list.check(MongoEndpoint.connection("mongodb://mongo1.example:27017,mongo2.example/?replicaSet=rs0"));
        list.check(MongoEndpoint.connection("mongodb://10.0.0.7:27018/?replicaSet=rs0"));
        list.check(MongoEndpoint.connection("mongodb://LOCALHOST:1234/?replicaSet=rs0"));
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> list.check(MongoEndpoint.connection("mongodb://mongo1.example:27017,evil.example:27017/?replicaSet=rs0"))
        );
        assertTrue(e.getMessage(), e.getMessage().contains("[evil.example:27017]"));
        // the pattern's port counts: 27018 is not 27017
        assertThrows(IllegalArgumentException.class, () -> list.check(MongoEndpoint.connection("mongodb://mongo1.example:27018/?replicaSet=rs0")));
        // 10.0.0.* does not reach 10.0.1.x
        assertThrows(IllegalArgumentException.class, () -> list.check(MongoEndpoint.connection("mongodb://10.0.1.7:27017/?replicaSet=rs0")));
    }

    @Test
    public void hostsWithoutPortAreCheckedAtMongosDefaultPort() {
        assertEquals(List.of("a.example:27017", "b.example:27018"), ConnectionAllowlist.hosts("mongodb://a.example,b.example:27018/?replicaSet=rs0"));
        assertEquals(List.of("cluster0.example.net:27017"), ConnectionAllowlist.hosts("mongodb+srv://cluster0.example.net/"));
        assertEquals(List.of("[::1]:27017"), ConnectionAllowlist.hosts("mongodb://[::1]/?replicaSet=rs0"));
    }
}

package org.mongofollow.source;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoCredential;
import com.mongodb.MongoSecurityException;
import com.mongodb.ServerAddress;

import org.bson.BsonDocument;
import org.junit.Test;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** Connection strings with credentials are refused, with a message that points to the keystore and repeats nothing. */
public class MongoEndpointTests {

    private static final String SECRET = "Un1t-Secret-Pw";

    @Test
    public void credentialFreeConnectionStringsAreAccepted() {
        for (String uri : List.of(
            "mongodb://127.0.0.1:27017/?replicaSet=rs0",
            "mongodb://a.example:27017,b.example:27017/shop?replicaSet=rs0&serverSelectionTimeoutMS=1000"
        )) {
            assertEquals(uri, MongoEndpoint.connection(uri).connection());
        }
    }

    @Test
    public void credentialsAreRefusedWithoutBeingRepeated() {
        for (String uri : List.of(
            "mongodb://reader:" + SECRET + "@127.0.0.1:27017/?replicaSet=rs0",
            "MONGODB://reader:" + SECRET + "@127.0.0.1:27017/?replicaSet=rs0",
            "mongodb+srv://reader:" + SECRET + "@cluster.example/?replicaSet=rs0",
            "mongodb://reader:" + SECRET + "@/?replicaSet",
            "mongodb://reader:" + SECRET + "@",
            "  mongodb://reader:" + SECRET + "@127.0.0.1",
            "mongodb://" + SECRET + "@127.0.0.1:27017/?replicaSet=rs0",
            "mongodb://reader:@127.0.0.1:27017/?replicaSet=rs0"
        )) {
            IllegalArgumentException e = assertThrows(uri, IllegalArgumentException.class, () -> MongoEndpoint.connection(uri));
            assertTrue(uri + ": " + e.getMessage(), e.getMessage().startsWith("[connection] must not carry credentials"));
            assertTrue(e.getMessage(), e.getMessage().contains("mongo_follow.client.NAME.password"));
            assertFalse(e.getMessage(), e.getMessage().contains(SECRET));
            assertFalse(e.getMessage(), e.getMessage().contains("reader"));
        }
    }

    @Test
    public void invalidStringsAreRefusedWithoutBeingRepeated() {
        for (String uri : List.of("not a uri " + SECRET, "http://" + SECRET, "mongodb://reader:pa/ss" + SECRET + "@host")) {
            IllegalArgumentException e = assertThrows(uri, IllegalArgumentException.class, () -> MongoEndpoint.connection(uri));
            assertFalse(e.getMessage(), e.getMessage().contains(SECRET));
        }
    }

    @Test
    public void authenticationFailuresShowTheServersAnswerButNotTheCredential() {
        MongoCredential credential = MongoCredential.createCredential("reader", "admin", SECRET.toCharArray());
        MongoCommandException reply = new MongoCommandException(
            BsonDocument.parse("{ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: \"no such command: 'saslStart'\"}"),
            new ServerAddress("127.0.0.1", 27017)
        );
        MongoSecurityException e = new MongoSecurityException(credential, "Exception authenticating " + credential, reply);
        String answer = MongoProbe.serverAnswer(e);
        assertEquals(": the server answered error 59 (CommandNotFound): no such command: 'saslStart'", answer);
        assertFalse(answer.contains("reader"));
        assertEquals("", MongoProbe.serverAnswer(new MongoSecurityException(credential, "no cause")));

        // as the stats and task status show a read's error: the driver's message names the user
        assertTrue(e.getMessage().contains("reader"));
        for (Exception shown : List.of(e, new RuntimeException(e), new IllegalStateException("read failed: " + e.getMessage(), e))) {
            String message = MongoErrors.safeMessage(shown);
            assertTrue(message, message.startsWith("MongoDB refused the credentials of the follow's client (authentication failed: "
                + "the server answered error 59 (CommandNotFound)"));
            assertFalse(message, message.contains("reader"));
            assertFalse(message, message.contains(SECRET));
        }
        assertEquals("other", MongoErrors.safeMessage(new IllegalStateException("other")));
    }
}

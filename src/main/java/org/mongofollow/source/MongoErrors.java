package org.mongofollow.source;

import com.mongodb.MongoSecurityException;

/**
 * Messages of MongoDB driver errors that are safe to show in stats, task status and logs. The driver's
 * {@link MongoSecurityException} names the credential it failed with ({@code MongoCredential{...,
 * userName='...', ...}}): its message is replaced by what the server answered.
 */
public final class MongoErrors {

    /** MongoDB's error code Unauthorized: the user lacks a privilege. */
    public static final int UNAUTHORIZED = 13;


    private MongoErrors() {}

    /** The message of {@code e}, unless an authentication failure is in its causes: then a credential-free one. */
    public static String safeMessage(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof MongoSecurityException security) {
                return "MongoDB refused the credentials of the follow's client (authentication failed"
                    + MongoProbe.serverAnswer(security)
                    + "); check the client's username and password in the keystore and reload them with POST _nodes/reload_secure_settings";
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        return e.getMessage();
    }
}

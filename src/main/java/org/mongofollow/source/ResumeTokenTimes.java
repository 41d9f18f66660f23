package org.mongofollow.source;

import org.mongofollow.operation.OplogPosition;

import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.elasticsearch.core.Nullable;

/**
 * The cluster time a change stream resume token stands for. MongoDB 4.0 and later write a token's {@code _data} as the hex
 * digits of a KeyString whose first value is the cluster time: the type byte {@code 0x82} (a BSON timestamp) and the
 * timestamp's 8 bytes, big-endian. Only that prefix is read: the rest of the token (its version, type, transaction index,
 * collection and document key) is MongoDB's to interpret, and the project never builds tokens.
 */
public final class ResumeTokenTimes {

    private static final int TIMESTAMP_TYPE = 0x82;

    private ResumeTokenTimes() {}

    /** The token's cluster time, or null for a token in another format (MongoDB 3.6's binary {@code _data}). */
    @Nullable
    public static OplogPosition clusterTime(BsonDocument token) {
        BsonValue data = token.get("_data");
        if (data == null || data.isString() == false) {
            return null;
        }
        String hex = data.asString().getValue();
        try {
            if (hex.length() < 18 || Integer.parseInt(hex.substring(0, 2), 16) != TIMESTAMP_TYPE) {
                return null;
            }
            return OplogPosition.ofTimestamp(Long.parseUnsignedLong(hex.substring(2, 18), 16));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}

package org.mongofollow.source;

import java.util.Locale;

/**
 * What a change-stream follow applies for an update ({@code full_document}): by default the event's
 * {@code updateDescription}, applied to the follower's document as the oplog's diffs are (exact, no look-up); with
 * {@code update_lookup} ({@code fullDocument: updateLookup}) the document as MongoDB's look-up found it, which is the
 * document at some time after the update (it may carry later changes, which later events bring again; it is null once the
 * document is deleted, and the update is then applied from its description); with {@code when_available}
 * ({@code fullDocument: whenAvailable}, MongoDB 6.0 and later, for collections with {@code changeStreamPreAndPostImages})
 * the post-image: the document exactly as that update left it, and where MongoDB has none (the option was off, or the
 * image expired), the update is applied from its description.
 */
public enum FullDocumentMode {
    DEFAULT,
    UPDATE_LOOKUP,
    WHEN_AVAILABLE;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The driver's option for the stream. */
    public com.mongodb.client.model.changestream.FullDocument driverOption() {
        return switch (this) {
            case DEFAULT -> com.mongodb.client.model.changestream.FullDocument.DEFAULT;
            case UPDATE_LOOKUP -> com.mongodb.client.model.changestream.FullDocument.UPDATE_LOOKUP;
            case WHEN_AVAILABLE -> com.mongodb.client.model.changestream.FullDocument.WHEN_AVAILABLE;
        };
    }

    public static FullDocumentMode parse(String value) {
        for (FullDocumentMode mode : values()) {
            if (mode.label().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("[full_document] must be [default], [update_lookup] or [when_available], got [" + value + "]");
    }
}

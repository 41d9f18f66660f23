package org.mongofollow.source;

import java.util.Locale;

/**
 * What a change-stream follow applies for an update ({@code full_document}): by default the event's
 * {@code updateDescription}, applied to the follower's document as the oplog's diffs are (exact, no look-up); with
 * {@code update_lookup} ({@code fullDocument: updateLookup}) the document as MongoDB's look-up found it, which is the
 * document at some time after the update (it may carry later changes, which later events bring again; it is null once the
 * document is deleted, and the update is then applied from its description).
 */
public enum FullDocumentMode {
    DEFAULT,
    UPDATE_LOOKUP;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FullDocumentMode parse(String value) {
        for (FullDocumentMode mode : values()) {
            if (mode.label().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("[full_document] must be [default] or [update_lookup], got [" + value + "]");
    }
}

package org.mongofollow.task;

/**
 * The outcome of a successful write request.
 *
 * @param documentsRejected operations of the batch that could not be applied to their document and went to the
 *                          dead-letter index instead; they count as applied for the checkpoint
 */
public record WriteResponse(long documentsRejected) {

    public static final WriteResponse OK = new WriteResponse(0);

    public WriteResponse {
        if (documentsRejected < 0) {
            throw new IllegalArgumentException("documentsRejected must not be negative, got [" + documentsRejected + "]");
        }
    }
}

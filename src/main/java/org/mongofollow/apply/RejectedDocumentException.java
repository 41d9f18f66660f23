package org.mongofollow.apply;

/**
 * A document (or a value in it) that Elasticsearch cannot take faithfully under the documented
 * mapping ({@code docs/bson-mapping.md}): a non-finite double, a field name Elasticsearch rejects, ...
 * The follow does not stop: the document goes to the dead-letter index with {@link #reason()} and
 * {@link #path()}, and it is removed from the follower index so no stale version stays there.
 */
public class RejectedDocumentException extends RuntimeException {

    private final String path;

    public RejectedDocumentException(String path, String reason) {
        super(reason + (path == null || path.isEmpty() ? "" : " at [" + path + "]"));
        this.path = path;
    }

    /** The dotted path of the offending field ("" for the document itself). */
    public String path() {
        return path;
    }

    /** The human explanation, including the path. */
    public String reason() {
        return getMessage();
    }
}

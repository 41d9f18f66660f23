package org.mongofollow.apply;

/**
 * An update that cannot be applied faithfully: an unknown or unsupported diff section (for example
 * the {@code b} BSONColumn patch of 8.0 time-series buckets), a malformed diff, an unknown update
 * operator. This is fatal for the follow (DESIGN.md section 8: never silently diverge); the message
 * explains why.
 */
public class UnapplicableUpdateException extends RuntimeException {
    public UnapplicableUpdateException(String message) {
        super(message);
    }
}

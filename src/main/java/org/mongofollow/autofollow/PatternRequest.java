package org.mongofollow.autofollow;

import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.support.master.MasterNodeRequest;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.core.Nullable;
import org.elasticsearch.core.TimeValue;

import java.io.IOException;
import java.util.regex.Pattern;

/**
 * A request about one auto-follow pattern by name, or about all of them (no name: the listing requests), sent to the elected
 * master, which holds the patterns' stats and alone changes them. {@code ?master_timeout} bounds the wait for a master.
 */
public abstract class PatternRequest<R extends PatternRequest<R>> extends MasterNodeRequest<R> {

    /** Letters, digits, {@code -}, {@code _} and {@code .}, not starting with {@code _} or {@code .}: safe in a URL path and in logs. */
    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,254}");

    private final String name;

    /** A request that is only a name, or none: the listing requests (GET, stats). */
    public static final class Named extends PatternRequest<Named> {
        public Named(@Nullable String name, TimeValue masterNodeTimeout) {
            super(name, masterNodeTimeout);
        }

        public Named(StreamInput in) throws IOException {
            super(in);
        }
    }

    protected PatternRequest(@Nullable String name, TimeValue masterNodeTimeout) {
        super(masterNodeTimeout);
        this.name = name;
    }

    protected PatternRequest(StreamInput in) throws IOException {
        super(in);
        this.name = in.readOptionalString();
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeOptionalString(name);
    }

    /** The pattern's name; null: every pattern. */
    @Nullable
    public String name() {
        return name;
    }

    /** Refuses a name a pattern cannot have, with a 400 that says which names it can. */
    public static void validateName(String name) {
        if (name == null || VALID_NAME.matcher(name).matches() == false) {
            throw new IllegalArgumentException(
                "[" + name + "] is not a valid auto-follow pattern name: use letters, digits, '-', '_' and '.', starting with a letter or"
                    + " digit, at most 255 characters"
            );
        }
    }

    @Override
    public ActionRequestValidationException validate() {
        return null;
    }

    static org.elasticsearch.ResourceNotFoundException missing(String name) {
        return new org.elasticsearch.ResourceNotFoundException("auto-follow pattern [{}] does not exist", name);
    }
}

package org.mongofollow.embedded;

import java.util.Arrays;

import io.netty.buffer.ByteBuf;

/**
 * A BSON value that mongo-java-server has no class for, kept exactly as it came over the wire: its type
 * byte and the bytes of its element body. {@link WireBson} reads undefined, DBPointer, symbol, code with
 * scope and every binary value the library would change (subtypes other than 0, UUIDs that are not 16
 * bytes) into one, and writes it back verbatim. The library stores, copies and compares it for equality
 * like any other value; it cannot sort or range-query it (nor could it before: it refused these types).
 */
final class RawBsonValue {

    private final byte type;
    private final byte[] body;

    RawBsonValue(byte type, byte[] body) {
        this.type = type;
        this.body = body.clone();
    }

    /** The BSON element type (for example 0x0E for a symbol). */
    byte type() {
        return type;
    }

    /** Writes the element's bytes after its type and name, as they came. */
    void writeBody(ByteBuf out) {
        out.writeBytes(body);
    }

    /** The size of the element's bytes after its type and name. */
    int bodySize() {
        return body.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawBsonValue other && type == other.type && Arrays.equals(body, other.body);
    }

    @Override
    public int hashCode() {
        return 31 * type + Arrays.hashCode(body);
    }

    @Override
    public String toString() {
        StringBuilder hex = new StringBuilder();
        for (byte b : body) {
            hex.append(String.format("%02x", b));
        }
        return String.format("RawBsonValue(type 0x%02x, %s)", type, hex);
    }
}

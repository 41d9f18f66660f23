package org.mongofollow.embedded;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.LegacyUUID;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import de.bwaldvogel.mongo.bson.ObjectId;

/**
 * Change stream resume tokens as mongod writes them ({@code resume_token.cpp}): the token's fields (cluster time, token
 * version, token type, transaction operation index, whether it comes from an invalidate, the collection UUID and the
 * event identifier) as the KeyString bytes (format V1, ascending) of a BSON object without field names, in upper-case hex
 * in {@code _data}, with {@code _typeBits} when a number that is not an int32 (or a symbol) needs it. Tokens sort in event
 * order by their {@code _data}, so comparing the strings compares the events.
 * <p>
 * Token version 2, the default of MongoDB 6.1 and later (the version this server reports, 7.0): the event identifier is
 * {@code {operationType, documentKey}} or {@code {operationType, operationDescription}}, and a token without a collection
 * UUID holds a null. Version 1 (4.2 to 6.0) is encoded too, for resumes from older tokens.
 */
final class ResumeTokens {

    static final int EVENT = 128;
    static final int HIGH_WATER_MARK = 0;

    private ResumeTokens() {}

    /** The fields of a token that a resume needs. */
    record Data(long clusterTime, int version, int tokenType, int txnOpIndex, boolean fromInvalidate) {}

    /** An event's token. {@code uuid} may be null (dropDatabase); {@code eventIdentifier} as the version wants it. */
    static Document event(long clusterTime, int version, int txnOpIndex, boolean fromInvalidate, UUID uuid, Document eventIdentifier) {
        KeyStringWriter key = new KeyStringWriter();
        key.timestamp(clusterTime);
        key.integer(version);
        key.integer(EVENT);
        key.integer(txnOpIndex);
        key.bool(fromInvalidate);
        if (uuid != null) {
            key.uuid(uuid);
        } else if (version >= 2) {
            key.nullValue();
        }
        if (eventIdentifier != null && eventIdentifier.isEmpty() == false) {
            key.value(eventIdentifier);
        }
        return key.token();
    }

    /** The token of a position without an event: every event with this cluster time or later comes after it. */
    static Document highWaterMark(long clusterTime, int version) {
        KeyStringWriter key = new KeyStringWriter();
        key.timestamp(clusterTime);
        key.integer(version);
        key.integer(HIGH_WATER_MARK);
        key.integer(0);
        key.bool(false);
        if (version >= 2) {
            key.nullValue();
        }
        return key.token();
    }

    /** The same token with {@code fromInvalidate} set: the token of the invalidate that a drop or a rename causes. */
    static Document asInvalidate(Document token) {
        String data = (String) token.get("_data");
        byte[] bytes = HexFormat.of().parseHex(data);
        // the fromInvalidate byte ends the fields that decode reads (0x6E: false)
        int offset = prefixLength(bytes) - 1;
        if (bytes[offset] != 0x6E) {
            throw new IllegalStateException("not an event token: " + data);
        }
        bytes[offset] = 0x6F;
        Document invalidate = new Document("_data", HexFormat.of().withUpperCase().formatHex(bytes));
        if (token.containsKey("_typeBits")) {
            invalidate.put("_typeBits", token.get("_typeBits"));
        }
        return invalidate;
    }

    /**
     * Reads a token's leading fields. Throws {@link IllegalArgumentException} for anything that is not a token of version 1
     * or 2 (the caller answers InvalidResumeToken or a parse error, as mongod does).
     */
    static Data decode(Document token) {
        if (!(token.get("_data") instanceof String data)) {
            throw new IllegalArgumentException("resume token _data must be a string");
        }
        byte[] bytes;
        try {
            bytes = HexFormat.of().parseHex(data);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("resume token _data is not hex: " + data);
        }
        KeyStringReader reader = new KeyStringReader(bytes);
        long ts = reader.timestamp();
        int version = reader.integer();
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("unsupported resume token version " + version);
        }
        int tokenType = reader.integer();
        int txnOpIndex = reader.integer();
        boolean fromInvalidate = reader.bool();
        return new Data(ts, version, tokenType, txnOpIndex, fromInvalidate);
    }

    private static int prefixLength(byte[] bytes) {
        KeyStringReader reader = new KeyStringReader(bytes);
        reader.timestamp();
        reader.integer();
        reader.integer();
        reader.integer();
        reader.bool();
        return reader.position;
    }

    /** Token order: event order. */
    static int compare(Document a, Document b) {
        return ((String) a.get("_data")).compareTo((String) b.get("_data"));
    }

    /** Writes KeyString V1 bytes and the type bits that go with them. */
    static final class KeyStringWriter {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final List<Boolean> typeBits = new ArrayList<>();

        void timestamp(long value) {
            out.write(0x82);
            longBigEndian(value);
        }

        /** An int32 (type bits 00). */
        void integer(long value) {
            typeBits.add(false);
            typeBits.add(false);
            integerBytes(value);
        }

        void bool(boolean value) {
            out.write(value ? 0x6F : 0x6E);
        }

        void nullValue() {
            out.write(0x14);
        }

        void uuid(UUID uuid) {
            out.write(0x5A);
            out.write(16);
            out.write(4);
            longBigEndian(uuid.getMostSignificantBits());
            longBigEndian(uuid.getLeastSignificantBits());
        }

        /** Any value with its own type byte. */
        void value(Object value) {
            if (value == null) {
                nullValue();
            } else if (value instanceof Document document) {
                out.write(0x46);
                for (Map.Entry<String, Object> field : document.entrySet()) {
                    out.write(genericType(field.getValue()));
                    stringBytes(field.getKey());
                    value(field.getValue());
                }
                out.write(0);
            } else if (value instanceof List<?> list) {
                out.write(0x50);
                for (Object element : list) {
                    value(element);
                }
                out.write(0);
            } else if (value instanceof String string) {
                typeBits.add(false);
                out.write(0x3C);
                stringBytes(string);
            } else if (value instanceof Integer n) {
                integer(n);
            } else if (value instanceof Long n) {
                typeBits.add(false);
                typeBits.add(true);
                if (n == Long.MIN_VALUE) {
                    throw new IllegalArgumentException("a resume token cannot hold Long.MIN_VALUE in this server");
                }
                integerBytes(n);
            } else if (value instanceof Double d) {
                doubleValue(d);
            } else if (value instanceof Boolean b) {
                bool(b);
            } else if (value instanceof ObjectId id) {
                out.write(0x64);
                out.writeBytes(id.toByteArray());
            } else if (value instanceof UUID uuid) {
                uuid(uuid);
            } else if (value instanceof LegacyUUID legacy) {
                out.write(0x5A);
                out.write(16);
                out.write(3);
                UUID uuid = legacy.getUuid();
                // the legacy Java byte order, as the driver writes subtype 3
                longLittleEndian(uuid.getMostSignificantBits());
                longLittleEndian(uuid.getLeastSignificantBits());
            } else if (value instanceof BinData binData) {
                byte[] data = binData.getData();
                out.write(0x5A);
                if (data.length < 0xFF) {
                    out.write(data.length);
                } else {
                    out.write(0xFF);
                    out.write(data.length >>> 24);
                    out.write(data.length >>> 16);
                    out.write(data.length >>> 8);
                    out.write(data.length);
                }
                out.write(0); // generic binary (the library keeps only subtype 0 as BinData)
                out.writeBytes(data);
            } else if (value instanceof Instant instant) {
                out.write(0x78);
                longBigEndian(instant.toEpochMilli() ^ Long.MIN_VALUE);
            } else if (value instanceof BsonTimestamp ts) {
                timestamp(ts.getValue());
            } else if (value instanceof MinKey) {
                out.write(0x0A);
            } else if (value instanceof MaxKey) {
                out.write(0xF0);
            } else {
                throw new IllegalArgumentException("the embedded MongoDB cannot put a value of type " + value.getClass().getSimpleName()
                    + " in a resume token");
            }
        }

        private static int genericType(Object value) {
            if (value == null) {
                return 0x14;
            } else if (value instanceof Number && !(value instanceof de.bwaldvogel.mongo.bson.Decimal128)) {
                return 0x1E;
            } else if (value instanceof String) {
                return 0x3C;
            } else if (value instanceof Document) {
                return 0x46;
            } else if (value instanceof List) {
                return 0x50;
            } else if (value instanceof UUID || value instanceof LegacyUUID || value instanceof BinData) {
                return 0x5A;
            } else if (value instanceof ObjectId) {
                return 0x64;
            } else if (value instanceof Boolean) {
                return 0x6E;
            } else if (value instanceof Instant) {
                return 0x78;
            } else if (value instanceof BsonTimestamp) {
                return 0x82;
            } else if (value instanceof MinKey) {
                return 0x0A;
            } else if (value instanceof MaxKey) {
                return 0xF0;
            }
            throw new IllegalArgumentException("the embedded MongoDB cannot put a value of type " + value.getClass().getSimpleName()
                + " in a resume token");
        }

        private void doubleValue(double d) {
            typeBits.add(true);
            typeBits.add(false);
            if (Double.isNaN(d)) {
                out.write(0x1E);
            } else if (d == 0) {
                if (Double.doubleToRawLongBits(d) != 0) {
                    // -0.0: its type bits say so (11, then three more bits)
                    typeBits.set(typeBits.size() - 1, true);
                    typeBits.add(false);
                    typeBits.add(false);
                    typeBits.add(false);
                }
                out.write(0x29);
            } else if (d == Math.rint(d) && Math.abs(d) < 0x1p63) {
                integerBytes((long) d);
            } else if (Double.isInfinite(d)) {
                out.write(d > 0 ? 0x33 : 0x1F);
                for (int i = 0; i < 8; i++) {
                    out.write(d > 0 ? 0xFF : 0x00);
                }
            } else {
                boolean negative = d < 0;
                double magnitude = Math.abs(d);
                long encoded;
                int type;
                if (magnitude >= 0x1p63) {
                    type = negative ? 0x1F : 0x33;
                    encoded = (Double.doubleToRawLongBits(magnitude) << 1) & ~(1L << 63);
                } else if (magnitude < 1) {
                    type = negative ? 0x28 : 0x2A;
                    encoded = Double.doubleToRawLongBits(magnitude) << 2;
                } else {
                    long integerPart = (long) magnitude;
                    int fractionBytes = Long.numberOfLeadingZeros(integerPart << 1) / 8;
                    type = negative ? 0x20 + fractionBytes : 0x32 - fractionBytes;
                    encoded = (long) (magnitude * Math.pow(256, fractionBytes)) + ((integerPart + 1) << (fractionBytes * 8));
                    // (the low bits keep the fraction; mongod adds the decimal continuation marker, 0 for doubles)
                }
                out.write(type);
                longBigEndian(negative ? ~encoded : encoded);
            }
        }

        /** An integral number: |n| << 1 in as few bytes as it needs, big-endian (inverted when negative). */
        private void integerBytes(long n) {
            if (n == 0) {
                out.write(0x29);
                return;
            }
            boolean negative = n < 0;
            long v = Math.abs(n) << 1;
            int bytes = (64 - Long.numberOfLeadingZeros(v) + 7) / 8;
            out.write(negative ? 0x27 - (bytes - 1) : 0x2B + bytes - 1);
            for (int i = bytes - 1; i >= 0; i--) {
                int b = (int) (v >>> (8 * i)) & 0xFF;
                out.write(negative ? ~b & 0xFF : b);
            }
        }

        private void stringBytes(String string) {
            for (byte b : string.getBytes(StandardCharsets.UTF_8)) {
                out.write(b);
                if (b == 0) {
                    out.write(0xFF);
                }
            }
            out.write(0);
        }

        private void longBigEndian(long value) {
            for (int i = 7; i >= 0; i--) {
                out.write((int) (value >>> (8 * i)) & 0xFF);
            }
        }

        private void longLittleEndian(long value) {
            for (int i = 0; i < 8; i++) {
                out.write((int) (value >>> (8 * i)) & 0xFF);
            }
        }

        /** {@code {_data[, _typeBits]}}, the key ended by its end byte. */
        Document token() {
            out.write(0x04);
            Document token = new Document("_data", HexFormat.of().withUpperCase().formatHex(out.toByteArray()));
            byte[] bits = serializedTypeBits();
            if (bits != null) {
                token.put("_typeBits", new BinData(bits));
            }
            return token;
        }

        /** The type bits packed from the least significant bit up; null when all are zero (the usual case). */
        private byte[] serializedTypeBits() {
            if (typeBits.contains(true) == false) {
                return null;
            }
            byte[] packed = new byte[(typeBits.size() + 7) / 8];
            for (int i = 0; i < typeBits.size(); i++) {
                if (typeBits.get(i)) {
                    packed[i / 8] |= (byte) (1 << (i % 8));
                }
            }
            int length = packed.length;
            while (length > 0 && packed[length - 1] == 0) {
                length--;
            }
            if (length == 1 && (packed[0] & 0x80) == 0) {
                return new byte[] { packed[0] };
            }
            byte[] serialized = new byte[length + 1];
            serialized[0] = (byte) (0x80 | length);
            System.arraycopy(packed, 0, serialized, 1, length);
            return serialized;
        }
    }

    /** Reads the leading fields of a token. */
    private static final class KeyStringReader {
        private final byte[] bytes;
        int position;

        KeyStringReader(byte[] bytes) {
            this.bytes = bytes;
        }

        private int next() {
            if (position >= bytes.length) {
                throw new IllegalArgumentException("resume token too short");
            }
            return bytes[position++] & 0xFF;
        }

        long timestamp() {
            if (next() != 0x82) {
                throw new IllegalArgumentException("resume token does not start with a timestamp");
            }
            long value = 0;
            for (int i = 0; i < 8; i++) {
                value = (value << 8) | next();
            }
            return value;
        }

        int integer() {
            int type = next();
            if (type == 0x29) {
                return 0;
            }
            if (type < 0x2B || type > 0x32) {
                throw new IllegalArgumentException("resume token field is not a non-negative integer");
            }
            long v = 0;
            for (int i = 0; i <= type - 0x2B; i++) {
                v = (v << 8) | next();
            }
            if ((v & 1) != 0) {
                throw new IllegalArgumentException("resume token field is not an integer");
            }
            return (int) (v >>> 1);
        }

        boolean bool() {
            int type = next();
            if (type != 0x6E && type != 0x6F) {
                throw new IllegalArgumentException("resume token field is not a boolean");
            }
            return type == 0x6F;
        }
    }
}

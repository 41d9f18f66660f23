package org.mongofollow.embedded;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Map;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;

/**
 * BSON on the wire without loss, in the library's value model. The library's own codec refuses DBPointer,
 * symbol, code with scope and binary subtypes 1, 2 and 5 to 9, reads undefined as null and subtype 0x80 as
 * 0, and writes every {@code BinData} as subtype 0. Here documents and arrays are walked by this class,
 * those values become {@link RawBsonValue}s (written back byte for byte), and every other value is read
 * and written by the library's codec, which keeps it exactly (doubles bit for bit, all 64-bit dates,
 * Decimal128 bits, regex options as sent).
 */
final class WireBson {

    private static final int BINARY_HEADER = 4 + 1; // length, subtype
    private static final int UUID_LENGTH = 16;
    private static final int COMMAND_ENVELOPE = 16 * 1024; // a command may exceed the document limit by this, as on MongoDB

    private WireBson() {
    }

    /** Reads one document (length prefix to terminating byte) at the reader index. */
    static Document readDocument(ByteBuf in) {
        int start = in.readerIndex();
        int length = in.readIntLE();
        if (length < 5 || length - 4 > in.readableBytes()) {
            throw new IllegalArgumentException("invalid BSON document length " + length + " with "
                + (in.readableBytes() + 4) + " bytes left");
        }
        if (length > BsonConstants.MAX_BSON_OBJECT_SIZE + COMMAND_ENVELOPE) {
            throw new IllegalArgumentException("BSON document too large: " + length + " bytes");
        }
        Document document = new Document();
        byte type;
        while ((type = in.readByte()) != BsonConstants.TERMINATING_BYTE) {
            String name = readCString(in);
            if (document.put(name, readValue(type, in)) != null) {
                throw new IllegalArgumentException("duplicate field '" + name + "' in a BSON document");
            }
        }
        if (in.readerIndex() - start != length) {
            throw new IllegalArgumentException("BSON document of length " + length + " ends after " + (in.readerIndex() - start) + " bytes");
        }
        return document;
    }

    static String readCString(ByteBuf in) {
        int length = in.bytesBefore(BsonConstants.STRING_TERMINATION);
        if (length < 0) {
            throw new IllegalArgumentException("unterminated BSON cstring");
        }
        String value = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length + 1);
        return value;
    }

    private static Object readValue(byte type, ByteBuf in) {
        switch (type) {
            case BsonConstants.TYPE_EMBEDDED_DOCUMENT:
                return readDocument(in);
            case BsonConstants.TYPE_ARRAY:
                return new ArrayList<>(readDocument(in).values());
            case BsonConstants.TYPE_DATA:
                return libraryKeepsBinary(in) ? BsonDecoder.decodeValue(type, in)
                    : readRaw(type, in, BINARY_HEADER + in.getIntLE(in.readerIndex()));
            case BsonConstants.TYPE_UNDEFINED:
                return readRaw(type, in, 0);
            case BsonConstants.TYPE_SYMBOL:
                return readRaw(type, in, 4 + in.getIntLE(in.readerIndex()));
            case BsonConstants.TYPE_DBPOINTER:
                return readRaw(type, in, 4 + in.getIntLE(in.readerIndex()) + BsonConstants.LENGTH_OBJECTID);
            case BsonConstants.TYPE_JAVASCRIPT_CODE_WITH_SCOPE:
                return readRaw(type, in, in.getIntLE(in.readerIndex()));
            default:
                return BsonDecoder.decodeValue(type, in);
        }
    }

    /** Generic binary (subtype 0) and 16-byte UUIDs (3 and 4) have library classes that keep them exactly. */
    private static boolean libraryKeepsBinary(ByteBuf in) {
        int length = in.getIntLE(in.readerIndex());
        byte subtype = in.getByte(in.readerIndex() + 4);
        return subtype == BsonConstants.BINARY_SUBTYPE_GENERIC
            || ((subtype == BsonConstants.BINARY_SUBTYPE_OLD_UUID || subtype == BsonConstants.BINARY_SUBTYPE_UUID)
                && length == UUID_LENGTH);
    }

    private static RawBsonValue readRaw(byte type, ByteBuf in, int bodyLength) {
        if (bodyLength < 0 || bodyLength > in.readableBytes()) {
            throw new IllegalArgumentException(String.format("invalid length %d of a BSON value of type 0x%02x", bodyLength, type));
        }
        byte[] body = new byte[bodyLength];
        in.readBytes(body);
        return new RawBsonValue(type, body);
    }

    /** Writes {@code document} (a library {@link Document} or any map) as a BSON document. */
    static void writeDocument(Map<String, ?> document, ByteBuf out) {
        int start = startDocument(out);
        for (Map.Entry<String, ?> field : document.entrySet()) {
            writeElement(field.getKey(), field.getValue(), out);
        }
        endDocument(start, out);
    }

    /** An array is a document whose field names are the indexes. */
    private static void writeArray(Collection<?> array, ByteBuf out) {
        int start = startDocument(out);
        int index = 0;
        for (Object element : array) {
            writeElement(Integer.toString(index++), element, out);
        }
        endDocument(start, out);
    }

    private static int startDocument(ByteBuf out) {
        int start = out.writerIndex();
        out.writeIntLE(0); // the length, set by endDocument
        return start;
    }

    private static void endDocument(int start, ByteBuf out) {
        out.writeByte(BsonConstants.TERMINATING_BYTE);
        out.setIntLE(start, out.writerIndex() - start);
    }

    private static void writeElement(String name, Object value, ByteBuf out) {
        if (value instanceof RawBsonValue raw) {
            writeHeader(raw.type(), name, out);
            raw.writeBody(out);
        } else if (value instanceof Map<?, ?> map) {
            writeHeader(BsonConstants.TYPE_EMBEDDED_DOCUMENT, name, out);
            writeDocument(castMap(map), out);
        } else if (value instanceof Collection<?> array) {
            writeHeader(BsonConstants.TYPE_ARRAY, name, out);
            writeArray(array, out);
        } else {
            byte type = BsonEncoder.determineType(value);
            writeHeader(type, name, out);
            BsonEncoder.encodeValue(type, value, out);
        }
    }

    private static void writeHeader(byte type, String name, ByteBuf out) {
        out.writeByte(type);
        out.writeCharSequence(name, StandardCharsets.UTF_8);
        out.writeByte(BsonConstants.STRING_TERMINATION);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> castMap(Map<?, ?> map) {
        return (Map<String, ?>) map;
    }
}

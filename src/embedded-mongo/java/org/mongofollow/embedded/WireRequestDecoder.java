package org.mongofollow.embedded;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.MessageFlag;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import de.bwaldvogel.mongo.wire.OpCode;
import de.bwaldvogel.mongo.wire.message.ClientRequest;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * Frames the client's byte stream into requests for {@code MongoDatabaseHandler}, in place of the
 * library's {@code MongoWireProtocolHandler}, reading their BSON with {@link WireBson} so that every BSON
 * type arrives intact. Understands OP_MSG (every command of a current driver: a body section, document
 * sequences, an optional checksum, which is not verified) and OP_QUERY (the driver's first handshake).
 */
final class WireRequestDecoder extends ByteToMessageDecoder {

    private static final int HEADER_LENGTH = 16; // length, requestID, responseTo, opCode
    private static final int CHECKSUM_LENGTH = 4;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws IOException {
        if (in.readableBytes() < 4) {
            return;
        }
        int length = in.getIntLE(in.readerIndex());
        if (length < HEADER_LENGTH || length > MongoWireProtocolHandler.MAX_MESSAGE_SIZE_BYTES) {
            throw new IOException("invalid message length: " + length + " bytes");
        }
        if (in.readableBytes() < length) {
            return; // the rest has not arrived yet
        }
        ByteBuf message = in.readSlice(length);
        message.skipBytes(4);
        int requestId = message.readIntLE();
        int responseTo = message.readIntLE();
        MessageHeader header = new MessageHeader(length, requestId, responseTo);
        int opCode = message.readIntLE();
        ClientRequest request;
        if (opCode == OpCode.OP_MSG.getId()) {
            request = readMessage(ctx.channel(), header, message);
        } else if (opCode == OpCode.OP_QUERY.getId()) {
            request = readQuery(ctx.channel(), header, message);
        } else {
            throw new IOException("unsupported opCode " + opCode);
        }
        if (message.isReadable()) {
            throw new IOException(message.readableBytes() + " bytes left over at the end of a message");
        }
        out.add(request);
    }

    private static MongoMessage readMessage(Channel channel, MessageHeader header, ByteBuf in) throws IOException {
        int flags = in.readIntLE();
        boolean checksum = MessageFlag.CHECKSUM_PRESENT.isSet(flags);
        if ((checksum ? MessageFlag.CHECKSUM_PRESENT.removeFrom(flags) : flags) != 0) {
            throw new IOException("OP_MSG flags " + Integer.toBinaryString(flags) + " are not supported");
        }
        ByteBuf sections = in.readSlice(in.readableBytes() - (checksum ? CHECKSUM_LENGTH : 0));
        in.skipBytes(in.readableBytes());
        Document body = null;
        Document sequences = new Document();
        while (sections.isReadable()) {
            byte kind = sections.readByte();
            if (kind == MongoMessage.SECTION_KIND_BODY && body == null) {
                body = WireBson.readDocument(sections);
            } else if (kind == MongoMessage.SECTION_KIND_DOCUMENT_SEQUENCE) {
                readDocumentSequence(sections, sequences);
            } else {
                throw new IOException("unexpected OP_MSG section of kind " + kind);
            }
        }
        if (body == null) {
            throw new IOException("OP_MSG without a body section");
        }
        for (String identifier : sequences.keySet()) {
            if (body.put(identifier, sequences.get(identifier)) != null) {
                throw new IOException("OP_MSG field '" + identifier + "' both in the body and as a document sequence");
            }
        }
        return new MongoMessage(channel, header, body);
    }

    /** A kind-1 section: its size, an identifier (such as {@code documents}), then documents to its end. */
    private static void readDocumentSequence(ByteBuf in, Document sequences) throws IOException {
        int size = in.readIntLE();
        if (size < 4 || size - 4 > in.readableBytes()) {
            throw new IOException("invalid OP_MSG document sequence size " + size);
        }
        ByteBuf section = in.readSlice(size - 4);
        String identifier = WireBson.readCString(section);
        List<Document> documents = new ArrayList<>();
        while (section.isReadable()) {
            documents.add(WireBson.readDocument(section));
        }
        if (sequences.put(identifier, documents) != null) {
            throw new IOException("OP_MSG document sequence '" + identifier + "' given twice");
        }
    }

    private static MongoQuery readQuery(Channel channel, MessageHeader header, ByteBuf in) {
        in.skipBytes(4); // flags: only the handshake comes this way, and none of its flags changes the answer
        String fullCollectionName = WireBson.readCString(in);
        int numberToSkip = in.readIntLE();
        int numberToReturn = in.readIntLE();
        Document query = WireBson.readDocument(in);
        Document fieldSelector = in.isReadable() ? WireBson.readDocument(in) : null;
        return new MongoQuery(channel, header, fullCollectionName, numberToSkip, numberToReturn, query, fieldSelector);
    }
}

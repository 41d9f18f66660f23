package org.mongofollow.embedded;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.OpCode;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoReply;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Writes the server's replies, in place of the library's {@code MongoWireMessageEncoder} and
 * {@code MongoWireReplyEncoder}, with {@link WireBson} so that every value goes back as it was stored:
 * an OP_MSG answer to an OP_MSG command, an OP_REPLY to a legacy OP_QUERY. A reply that cannot be encoded
 * closes the connection (the driver then sees an error rather than waiting), reported through the
 * pipeline's exception handler.
 */
final class WireReplyEncoder extends MessageToByteEncoder<Object> {

    @Override
    public boolean acceptOutboundMessage(Object msg) {
        return msg instanceof MongoMessage || msg instanceof MongoReply;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Object reply, ByteBuf out) {
        int start = out.writerIndex();
        out.writeIntLE(0); // the message length, set at the end
        try {
            if (reply instanceof MongoMessage message) {
                writeHeader(message.getHeader(), OpCode.OP_MSG, out);
                out.writeIntLE(message.getFlags());
                out.writeByte(MongoMessage.SECTION_KIND_BODY);
                WireBson.writeDocument(message.getDocument(), out);
            } else {
                MongoReply legacy = (MongoReply) reply;
                writeHeader(legacy.getHeader(), OpCode.OP_REPLY, out);
                out.writeIntLE(legacy.getFlags());
                out.writeLongLE(legacy.getCursorId());
                out.writeIntLE(legacy.getStartingFrom());
                out.writeIntLE(legacy.getDocuments().size());
                for (Document document : legacy.getDocuments()) {
                    WireBson.writeDocument(document, out);
                }
            }
        } catch (RuntimeException e) {
            ctx.fireExceptionCaught(new EncoderException("could not encode a reply", e));
            ctx.close();
            throw e;
        }
        out.setIntLE(start, out.writerIndex() - start);
    }

    private static void writeHeader(MessageHeader header, OpCode opCode, ByteBuf out) {
        out.writeIntLE(header.getRequestID());
        out.writeIntLE(header.getResponseTo());
        out.writeIntLE(opCode.getId());
    }
}

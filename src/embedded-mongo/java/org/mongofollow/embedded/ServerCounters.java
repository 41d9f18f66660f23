package org.mongofollow.embedded;

import de.bwaldvogel.mongo.bson.Document;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the server has served, as a real mongod reports it in {@code serverStatus}: {@code network.bytesIn},
 * {@code network.bytesOut} and {@code network.numRequests} (counted on the wire, before decoding and after encoding),
 * {@code opcounters} ({@code insert} counts documents, {@code update} and {@code delete} statements, {@code query} finds,
 * {@code getmore} getMores, {@code command} everything else) and {@code metrics.document.returned} (documents in the
 * replies' cursor batches). So read amplification can be measured from outside, with the official driver.
 */
final class ServerCounters {

    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong insert = new AtomicLong();
    private final AtomicLong query = new AtomicLong();
    private final AtomicLong update = new AtomicLong();
    private final AtomicLong delete = new AtomicLong();
    private final AtomicLong getmore = new AtomicLong();
    private final AtomicLong command = new AtomicLong();
    private final AtomicLong returned = new AtomicLong();

    /** The wire counter: first in each connection's pipeline, so it sees the bytes as they cross the socket. */
    ChannelHandler networkHandler() {
        return new ChannelDuplexHandler() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf buf) {
                    bytesIn.addAndGet(buf.readableBytes());
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof ByteBuf buf) {
                    bytesOut.addAndGet(buf.readableBytes());
                }
                ctx.write(msg, promise);
            }
        };
    }

    /** A decoded request. */
    void request() {
        requests.incrementAndGet();
    }

    /** A command about to run. */
    void command(String name, Document query) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "insert" -> insert.addAndGet(size(query.get("documents")));
            case "update" -> update.addAndGet(size(query.get("updates")));
            case "delete" -> delete.addAndGet(size(query.get("deletes")));
            case "find" -> this.query.incrementAndGet();
            case "getmore" -> getmore.incrementAndGet();
            default -> command.incrementAndGet();
        }
    }

    /** A command's reply: the documents of its cursor batch. */
    void reply(Document reply) {
        if (reply != null && reply.get("cursor") instanceof Document cursor) {
            Object batch = cursor.containsKey("firstBatch") ? cursor.get("firstBatch") : cursor.get("nextBatch");
            returned.addAndGet(size(batch));
        }
    }

    private static long size(Object list) {
        return list instanceof Collection<?> c ? c.size() : list instanceof List<?> l ? l.size() : 0;
    }

    /** The {@code network}, {@code opcounters} and {@code metrics.document} parts of {@code serverStatus}. */
    Document serverStatus(Document base) {
        base.append("network", new Document("bytesIn", bytesIn.get()).append("bytesOut", bytesOut.get()).append("numRequests", requests.get()));
        base.append(
            "opcounters",
            new Document("insert", insert.get()).append("query", query.get())
                .append("update", update.get())
                .append("delete", delete.get())
                .append("getmore", getmore.get())
                .append("command", command.get())
        );
        base.append("metrics", new Document("document", new Document("returned", returned.get())));
        return base;
    }
}

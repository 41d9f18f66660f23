package org.mongofollow.embedded;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.exception.MongoServerException;
import de.bwaldvogel.mongo.wire.MongoDatabaseHandler;
import de.bwaldvogel.mongo.wire.MongoExceptionHandler;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

/**
 * The library's server with its own Netty pipeline, serving a replica set member ({@link ReplicaSetBackend}) or a mongos
 * ({@link MongosBackend}). The wire codec is the project's
 * ({@link WireRequestDecoder}, {@link WireReplyEncoder}), which carries every BSON type without loss where
 * the library's refuses or changes some. A handler in front of {@code MongoDatabaseHandler} runs
 * {@code getMore}s on oplog cursors and change streams on a worker pool and replies with {@code ctx.writeAndFlush}, so an
 * await-data cursor waiting for new entries never blocks the event loop that other connections share. (A
 * driver connection has one request in flight, so replies keep their order.) The backend is not closed by
 * {@link #stopServing()}: a stopped server can bind again on the same port with its data.
 */
final class WireServer extends MongoServer {

    private final ServedBackend backend;
    private final ExecutorService getMorePool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "embedded-mongo-getmore");
        t.setDaemon(true);
        return t;
    });
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private ChannelGroup channelGroup;
    private volatile Channel channel;

    WireServer(ServedBackend backend) {
        super(backend);
        this.backend = backend;
    }

    @Override
    public synchronized void bind(SocketAddress socketAddress, int bossThreads, int workerThreads) {
        bossGroup = new NioEventLoopGroup(1, (java.util.concurrent.ThreadFactory) r -> daemon(r, "embedded-mongo-boss"));
        workerGroup = new NioEventLoopGroup(workerThreads, (java.util.concurrent.ThreadFactory) r -> daemon(r, "embedded-mongo-worker"));
        channelGroup = new DefaultChannelGroup("embedded-mongo-channels", workerGroup.next());
        try {
            ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 100)
                .option(ChannelOption.SO_REUSEADDR, Boolean.TRUE)
                .localAddress(socketAddress)
                .childOption(ChannelOption.TCP_NODELAY, Boolean.TRUE)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    public void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(backend.counters().networkHandler());
                        ch.pipeline().addLast(new WireReplyEncoder());
                        ch.pipeline().addLast(new WireRequestDecoder());
                        ch.pipeline().addLast(new OffLoopGetMoreHandler());
                        ch.pipeline().addLast(new MongoDatabaseHandler(backend, channelGroup));
                        ch.pipeline().addLast(new MongoExceptionHandler());
                    }
                });
            channel = bootstrap.bind().syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            stopServing();
            throw e;
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public InetSocketAddress getLocalAddress() {
        Channel c = channel;
        return c == null ? null : (InetSocketAddress) c.localAddress();
    }

    @Override
    public synchronized void stopListening() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
            channel = null;
        }
    }

    /** Closes the listener and every client connection and stops the event loops; keeps the data. */
    synchronized void stopServing() {
        stopListening();
        if (channelGroup != null) {
            channelGroup.close().syncUninterruptibly();
            channelGroup = null;
        }
        if (bossGroup != null) {
            bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            bossGroup = null;
        }
        if (workerGroup != null) {
            workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            workerGroup = null;
        }
        getMorePool.shutdownNow(); // one bind per instance: EmbeddedMongo makes a new server to start again
        try {
            getMorePool.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void shutdown() {
        shutdownNow();
    }

    @Override
    public void shutdownNow() {
        stopServing();
        backend.close();
    }

    /** Runs oplog getMores (which may wait for maxTimeMS) on the pool; everything else goes on as usual. */
    private final class OffLoopGetMoreHandler extends ChannelInboundHandlerAdapter {
        private final AtomicInteger replyIds = new AtomicInteger();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            backend.counters().request();
            if (msg instanceof MongoMessage message && isAwaitingGetMore(message)) {
                getMorePool.execute(() -> {
                    Document reply;
                    try {
                        reply = backend.handleMessage(message);
                    } catch (MongoServerException e) {
                        reply = error(e);
                    } catch (RuntimeException e) {
                        reply = error(new MongoServerException("Unknown error: " + e.getMessage(), e));
                    }
                    MessageHeader header = new MessageHeader(replyIds.incrementAndGet(), message.getHeader().getRequestID());
                    ctx.writeAndFlush(new MongoMessage(message.getChannel(), header, reply));
                });
                return;
            }
            ctx.fireChannelRead(msg);
        }

        private boolean isAwaitingGetMore(MongoMessage message) {
            Document document = message.getDocument();
            return document != null && !document.isEmpty()
                && "getMore".equals(document.keySet().iterator().next())
                && backend.isAwaitingGetMore(document);
        }

        private Document error(MongoServerException e) {
            Document d = new Document("$err", e.getMessageWithoutErrorCode()).append("errmsg", e.getMessageWithoutErrorCode());
            if (e instanceof MongoServerError error) {
                d.put("code", error.getCode());
                d.putIfNotNull("codeName", error.getCodeName());
            }
            d.put("ok", 0);
            return d;
        }
    }
}

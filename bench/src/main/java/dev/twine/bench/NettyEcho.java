package dev.twine.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The reference echo server: plain Netty 4.2, tuned no further than a careful user would.
 *
 * <p>One event loop group with one loop per core serves both accept and the connections (the loop
 * that accepts is idle after the connect burst, so a separate boss thread would only add a
 * thread). It uses Netty's default allocator ({@code ByteBufAllocator.DEFAULT}: in 4.2 the
 * adaptive pooling allocator unless {@code -Dio.netty.allocator.type} says otherwise), the epoll
 * transport when it loads, and echoes as bytes arrive: write on read, flush on read-complete, so
 * a burst read in one wake-up goes back in one {@code writev}.
 *
 * <p>Prints {@code listening netty-echo tcp 127.0.0.1:PORT} once bound (the real port when
 * {@code --port 0}); runs until SIGINT/SIGTERM.
 */
public final class NettyEcho {
    private static final Set<String> OPTIONS = Set.of("port", "interface", "threads");
    private static final String USAGE = "usage: NettyEcho [--port N] [--interface 127.0.0.1] [--threads N]";

    private NettyEcho() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(USAGE);
            return;
        }
        int port;
        String iface;
        int threads;
        try {
            Flags flags = Flags.parse(args, OPTIONS);
            port = flags.integer("port", 0, 0, 65535);
            iface = flags.string("interface", "127.0.0.1");
            threads = flags.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
            if (!InetAddress.getByName(iface).isLoopbackAddress()) {
                throw new Flags.BadArgument("--interface must be a loopback address, not " + iface);
            }
        } catch (Flags.BadArgument | IOException e) {
            System.err.println("netty-echo: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }

        Transport transport = Transport.best();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, transport.ioHandlerFactory());
        try {
            Echo echo = new Echo();
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannel())
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(echo);
                        }
                    })
                    .bind(new InetSocketAddress(iface, port))
                    .sync()
                    .channel();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }, "netty-echo-shutdown"));

            InetSocketAddress bound = (InetSocketAddress) server.localAddress();
            System.out.println("netty-echo transport=" + transport.describe() + " event-loops=" + threads
                    + " allocator=" + ByteBufAllocator.DEFAULT.getClass().getSimpleName());
            System.out.println("listening netty-echo tcp " + bound.getAddress().getHostAddress() + ":" + bound.getPort());
            System.out.flush();
            server.closeFuture().sync();
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }

    /** Echoes each read buffer back as is; the write releases it. */
    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a peer reset is normal when a load generator exits; nothing to log per connection
            ctx.close();
        }
    }
}

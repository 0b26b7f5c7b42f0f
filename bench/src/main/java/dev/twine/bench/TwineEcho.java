package dev.twine.bench;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Set;

/**
 * Twine's echo with a choice of handler, so the benchmark shows both paths a protocol can take:
 * {@code transfer} is the launcher's echo ({@code input().transferTo(output())}, which writes
 * straight from the input buffer), {@code loop} reads into its own array, writes it and flushes
 * whenever the input has nothing more buffered: the {@code read}/{@code write}/{@code flush}
 * calls a line- or frame-based protocol makes through {@code Connection}.
 *
 * <p>With {@code --tls DIR} it listens on a {@code tls:} endpoint with a self-signed certificate
 * it writes to {@code DIR/cert.pem} (and its key to {@code DIR/key.pem}), for {@link TlsIdle}.
 *
 * <p>Prints {@code listening echo tcp 127.0.0.1:PORT} once bound; runs until SIGINT/SIGTERM.
 */
public final class TwineEcho {
    private static final Set<String> OPTIONS = Set.of("port", "interface", "handler", "tls");
    private static final String USAGE = "usage: TwineEcho [--port N] [--interface 127.0.0.1] [--handler transfer|loop] [--tls DIR]";

    private TwineEcho() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        // the JDK's I/O pollers on platform threads, as the twine launcher has them (see its Main)
        if (System.getProperty("jdk.pollerMode") == null) {
            System.setProperty("jdk.pollerMode", "1");
        }
        int port;
        String iface;
        String listen;
        ConnectionHandler handler;
        try {
            Flags flags = Flags.parse(args, OPTIONS);
            port = flags.integer("port", 0, 0, 65535);
            iface = flags.string("interface", "127.0.0.1");
            handler = switch (flags.string("handler", "loop")) {
                case "transfer" -> conn -> conn.input().transferTo(conn.output());
                case "loop" -> TwineEcho::loop;
                default -> throw new Flags.BadArgument("--handler must be transfer or loop");
            };
            if (!InetAddress.getByName(iface).isLoopbackAddress()) {
                throw new Flags.BadArgument("--interface must be a loopback address, not " + iface);
            }
            listen = "tcp:" + port + ":interface=" + iface;
            if (flags.has("tls")) {
                java.nio.file.Path dir = java.nio.file.Path.of(flags.string("tls", "."));
                java.nio.file.Path cert = dir.resolve("cert.pem");
                java.nio.file.Path key = dir.resolve("key.pem");
                dev.twine.core.Tls.selfSigned(cert, key, java.util.List.of("localhost", iface));
                listen = "tls:" + port + ":cert=" + cert + ":key=" + key + ":interface=" + iface;
            }
        } catch (Flags.BadArgument e) {
            System.err.println("twine-echo: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        // the launcher's echo defaults (./twine echo --max-connections-per-address 0), so the two compare
        Server server = Server.builder("echo").handler(handler).listen(listen)
                .maxConnections(10_000).readTimeout(Duration.ofMinutes(5))
                .limits(ConnectionLimits.builder().perAddress(0).build())
                .build();
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.shutdown(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "twine-echo-shutdown"));
        System.out.println("twine-echo transport=" + System.getProperty("twine.transport", "default"));
        System.out.println("listening echo tcp " + iface + ":" + server.port());
        System.out.flush();
        Thread.currentThread().join();
    }

    /** Read, write, flush when nothing more is buffered: what a request/response protocol does. */
    private static void loop(dev.twine.core.Connection conn) throws IOException {
        InputStream in = conn.input();
        OutputStream out = conn.output();
        byte[] buf = new byte[256];
        int n;
        while ((n = in.read(buf, 0, buf.length)) >= 0) {
            out.write(buf, 0, n);
            if (in.available() == 0) {
                conn.flush();
            }
        }
    }
}

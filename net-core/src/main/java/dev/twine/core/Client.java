package dev.twine.core;

import dev.twine.core.internal.ChannelTransport;
import java.io.IOException;
import dev.twine.core.internal.Transport;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * Connects to servers and returns the same {@link Connection} type that server handlers get, so
 * protocol code and test code read the same on both sides.
 *
 * <pre>{@code
 * try (Connection c = Client.connect("tcp:localhost:7000")) {
 *     LineWriter.of(c).writeLine("hello").flush();
 *     String echo = LineReader.of(c, 1024).readLine();
 * }
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * {@code connect} blocks until connected (and, for {@code tls:}, handshaken), bounded by the
 * connect timeout; it throws {@link SocketTimeoutException} when that passes and
 * {@link IOException} naming the endpoint otherwise. Interrupting the thread aborts it.
 */
public final class Client {
    private Client() {}

    /**
     * Connects with the default options.
     *
     * @param endpoint in the client grammar: {@code tcp:HOST:PORT}, {@code tls:HOST:PORT},
     *     {@code unix:PATH}
     * @throws IllegalArgumentException if the endpoint does not parse
     */
    public static Connection connect(String endpoint) throws IOException {
        return connect(Endpoint.parseClient(endpoint), ClientOptions.defaults());
    }

    /**
     * Connects to {@code endpoint} with {@code options}.
     *
     * @throws IllegalArgumentException for a {@code udp:} endpoint (datagrams have no connection)
     */
    public static Connection connect(Endpoint endpoint, ClientOptions options) throws IOException {
        try {
            return switch (endpoint) {
                case Endpoint.Tcp tcp -> tcp(tcp.host(), tcp.port(), null, options);
                case Endpoint.Tls tls -> {
                    Tls ctx = options.tls() != null ? options.tls()
                            : tls.trust() != null ? Tls.client(tls.trust()) : Tls.client();
                    yield tcp(tls.host(), tls.port(), ctx, options);
                }
                case Endpoint.Unix unix -> {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(unix.path()));
                        Connection c = new Connection(options.name(), new ChannelTransport(ch), true, "");
                        c.applyTimeouts(options.readTimeout(), options.writeTimeout());
                        yield c;
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                }
                case Endpoint.Udp udp -> throw new IllegalArgumentException(
                        "cannot connect a stream to " + udp + ": udp endpoints carry datagrams");
                case Endpoint.Systemd sd -> throw new IllegalArgumentException(
                        "cannot connect to " + sd + ": systemd endpoints are sockets passed to a server");
                case Endpoint.Proxied p -> throw new IllegalArgumentException(
                        "cannot connect to " + p + ": the PROXY protocol options are for listening endpoints");
            };
        } catch (SocketTimeoutException e) {
            throw new SocketTimeoutException("connecting to " + endpoint + " timed out after " + options.connectTimeout());
        } catch (IOException e) {
            IOException named = new IOException("cannot connect to " + endpoint + ": " + e.getMessage(), e);
            throw named;
        }
    }

    private static Connection tcp(String host, int port, Tls tls, ClientOptions options) throws IOException {
        Connection c = new Connection(options.name(), open(host, port, options), true, host);
        try {
            c.applyTimeouts(options.readTimeout(), options.writeTimeout());
            if (tls != null) {
                Duration hs = options.connectTimeout().isZero() ? Duration.ofSeconds(30) : options.connectTimeout();
                c.upgradeAccepted(tls, hs);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Connects a socket, or a channel for the readiness loop (see {@link Transports}). */
    private static Transport open(String host, int port, ClientOptions options) throws IOException {
        InetSocketAddress to = new InetSocketAddress(host, port);
        int timeout = (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis());
        if (Transports.readiness()) {
            SocketChannel ch = SocketChannel.open();
            try {
                if (options.localAddress() != null) {
                    ch.bind(new InetSocketAddress(options.localAddress(), 0));
                }
                // blocking until connected: the socket adaptor is what bounds a channel's connect
                ch.socket().connect(to, timeout);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            return Transports.of(ch);
        }
        Socket s = new Socket();
        try {
            if (options.localAddress() != null) {
                s.bind(new InetSocketAddress(options.localAddress(), 0));
            }
            s.connect(to, timeout);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return Transports.of(s);
    }
}

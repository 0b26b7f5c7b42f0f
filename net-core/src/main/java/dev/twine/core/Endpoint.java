package dev.twine.core;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where to listen or connect, written as one string in every module and on the command line, as
 * in Twisted's endpoint strings.
 *
 * <pre>
 * server side                                          client side
 * tcp:PORT[:interface=ADDR][:backlog=N]                tcp:HOST:PORT
 * tls:PORT[:cert=FILE:key=FILE][:interface=ADDR]       tls:HOST:PORT[:trust=FILE]
 * udp:PORT[:interface=ADDR][:receivers=N]             udp:HOST:PORT
 * unix:PATH                                            unix:PATH
 * tcp:... or tls:... [:proxy=v1|v2|any][:proxy-from=CIDR,...]
 * systemd:index=N | systemd:name=NAME
 * </pre>
 *
 * <p>A colon inside a value is written {@code \:} (and a backslash {@code \\}); an IPv6 address may
 * instead be put in brackets: {@code tcp:[::1]:53}, {@code tcp:53:interface=[::1]}. Port 0 on the
 * server side picks a free port. A server endpoint without {@code interface} listens on all
 * interfaces. {@code cert} is a PEM certificate chain, {@code key} a PEM PKCS#8 private key,
 * {@code trust} a PEM file of certificates to trust instead of the JDK's default trust store.
 * {@code proxy} makes a TCP or TLS listener expect a PROXY protocol header from the load balancers
 * named by {@code proxy-from} (loopback only if it is left out): see {@link ProxyProtocol}.
 * {@code systemd:} adopts a listening TCP socket that a service manager passed (socket
 * activation, {@code sd_listen_fds(3)}): see {@link Systemd}.
 * {@code receivers} gives a {@code udp:} server endpoint that many receiving sockets on the one
 * port (1 to 64, default 2 with two processors or more): see {@link Udp}.
 *
 * <h2>Error handling</h2>
 * {@link #parseServer} and {@link #parseClient} throw {@link IllegalArgumentException} whose
 * message quotes the whole endpoint and names the bad part.
 */
public sealed interface Endpoint {
    /** Default listen backlog when {@code backlog} is not given. */
    int DEFAULT_BACKLOG = 1024;

    /**
     * TCP. {@code host} is the interface to bind on the server side ({@code ""} for all), the host
     * to connect to on the client side.
     */
    record Tcp(String host, int port, int backlog) implements Endpoint {
        public Tcp {
            Objects.requireNonNull(host, "host");
            checkPort(port);
        }

        @Override
        public String toString() {
            return "tcp:" + hostPort(host, port);
        }
    }

    /**
     * TLS from the first byte. On the server side {@code trust} is null, and {@code cert} and
     * {@code key} are either both set or both null: then the server's own configuration
     * ({@link Server.Builder#tls}) serves the endpoint. On the client side {@code trust} may be
     * null (the JDK's trust store).
     */
    record Tls(String host, int port, int backlog, Path cert, Path key, Path trust) implements Endpoint {
        public Tls {
            Objects.requireNonNull(host, "host");
            checkPort(port);
        }

        @Override
        public String toString() {
            return "tls:" + hostPort(host, port);
        }
    }

    /**
     * UDP datagrams; {@code host} as for {@link Tcp}.
     *
     * <p>{@code receivers} (server side) is how many sockets the server binds to the address, each
     * with its own receiving virtual thread. With more than one, every socket is bound with
     * {@code SO_REUSEPORT} and the kernel spreads the senders over them (Linux hashes each
     * sender's address and port, so one sender always reaches the same socket, and a few senders
     * may share the sockets unevenly); the server first checks that nobody holds the port, so a
     * second server on a taken port still fails to bind. Any other process of the same user may
     * still join the port later with {@code SO_REUSEPORT} and take a share of the datagrams. The
     * default, {@link #DEFAULT_RECEIVERS}, is two where the JVM has two processors or more, so a
     * busy DNS server answers from two cores (net-dns's README has the figures). On the client
     * side it is ignored.
     *
     * @param receivers the number of receiving sockets, 1 to {@link #MAX_RECEIVERS}
     */
    record Udp(String host, int port, int receivers) implements Endpoint {
        /** Most receiving sockets one {@code udp:} endpoint may have. */
        public static final int MAX_RECEIVERS = 64;
        /** Receiving sockets when {@code receivers} is not given: 2, or 1 on a single processor. */
        public static final int DEFAULT_RECEIVERS = Math.min(2, Runtime.getRuntime().availableProcessors());

        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException for a port outside 0-65535 or receivers out of range
         */
        public Udp {
            Objects.requireNonNull(host, "host");
            checkPort(port);
            if (receivers < 1 || receivers > MAX_RECEIVERS) {
                throw new IllegalArgumentException("receivers must be 1-" + MAX_RECEIVERS + ": " + receivers);
            }
        }

        /** The {@link #DEFAULT_RECEIVERS default} number of receiving sockets. */
        public Udp(String host, int port) {
            this(host, port, DEFAULT_RECEIVERS);
        }

        @Override
        public String toString() {
            return "udp:" + hostPort(host, port);
        }
    }

    /**
     * A TCP or TLS listener behind a load balancer that speaks the PROXY protocol: connections are
     * accepted only from the trusted proxies, and each must start with a header giving the real
     * client's address. Server side only.
     *
     * @param listener the {@link Tcp} or {@link Tls} endpoint to listen on
     * @param proxy which headers to accept, and from whom
     */
    record Proxied(Endpoint listener, ProxyProtocol proxy) implements Endpoint {
        public Proxied {
            Objects.requireNonNull(listener, "listener");
            Objects.requireNonNull(proxy, "proxy");
            if (!(listener instanceof Tcp || listener instanceof Tls)) {
                throw new IllegalArgumentException("the PROXY protocol is for tcp and tls listeners, not " + listener);
            }
        }

        @Override
        public String toString() {
            return listener + ":" + proxy;
        }
    }

    /**
     * A listening socket passed by systemd (or any manager speaking its protocol: {@code
     * LISTEN_PID}, {@code LISTEN_FDS}, {@code LISTEN_FDNAMES}), so that the manager binds
     * privileged ports and keeps them open across restarts. Chosen by {@code FileDescriptorName}
     * ({@code systemd:name=smtp}) or by position ({@code systemd:index=0}); served as plain TCP.
     * The JVM needs {@code --add-exports java.base/sun.nio.ch=dev.twine.core --add-opens
     * java.base/sun.nio.ch=dev.twine.core} (the {@code twine} launcher passes them), since the JDK
     * offers no public way to adopt a descriptor other than 0. Server side only.
     *
     * @param name the FileDescriptorName, or null to choose by index
     * @param index the position among the passed sockets (0 is file descriptor 3); -1 with a name
     */
    record Systemd(String name, int index) implements Endpoint {
        public Systemd {
            if (name == null && index < 0) {
                throw new IllegalArgumentException("a systemd endpoint needs a name or an index");
            }
        }

        @Override
        public String toString() {
            return name != null ? "systemd:name=" + name : "systemd:index=" + index;
        }
    }

    /** A Unix domain stream socket at {@code path}. */
    record Unix(Path path) implements Endpoint {
        public Unix {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /**
     * Parses a server-side (listening) endpoint.
     *
     * @throws IllegalArgumentException naming the bad part
     */
    static Endpoint parseServer(String spec) {
        return dev.twine.core.internal.EndpointParser.parse(spec, true);
    }

    /**
     * Parses a client-side (connecting) endpoint.
     *
     * @throws IllegalArgumentException naming the bad part
     */
    static Endpoint parseClient(String spec) {
        return dev.twine.core.internal.EndpointParser.parse(spec, false);
    }

    private static void checkPort(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 0-65535");
        }
    }

    private static String hostPort(String host, int port) {
        if (host.isEmpty()) {
            return "*:" + port;
        }
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}

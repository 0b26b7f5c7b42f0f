package dev.twine.core;

import dev.twine.core.internal.ChannelTransport;
import dev.twine.core.internal.Events;
import dev.twine.core.internal.InheritedSockets;
import dev.twine.core.internal.ProxyHeader;
import dev.twine.core.internal.Transport;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLException;

/**
 * A server: binds endpoints, accepts on virtual threads, and runs one virtual thread per
 * connection (or per datagram that {@link DatagramHandler#tryHandle} does not answer at once)
 * inside the server's {@link Scope}.
 *
 * <pre>{@code
 * Server server = Server.builder("echo")
 *         .listen("tcp:7000")
 *         .handler(conn -> conn.input().transferTo(conn.output()))
 *         .start();
 * }</pre>
 *
 * <h2>Limits</h2>
 * {@link Builder#maxConnections(int)}: a permit is taken <em>before</em> {@code accept()} and given
 * back when the connection's handler ends. Over the limit, new connections are therefore
 * <em>queued</em> in the kernel's listen backlog (the endpoint's {@code backlog}), not accepted and
 * dropped; the peer's connect completes there and its first bytes wait until a permit frees.
 * Datagrams are bounded the same way by {@link Builder#maxDatagramsInFlight(int)}.
 *
 * <p>{@link Builder#limits(ConnectionLimits)} adds caps per client address and on connections
 * that have not authenticated yet, and a total time to authenticate: a connection over a cap is
 * accepted, told so by the {@link Builder#overLimit(ConnectionHandler)} handler (not on a
 * {@code tls:} endpoint, where nothing can be said before the handshake) and closed at once, so
 * that one address flooding the server never keeps others out. Refusals are logged at
 * {@code WARNING} at most once every ten seconds, with their count.
 *
 * <h2>Stopping</h2>
 * {@link #shutdown(Duration)} stops accepting, marks every connection as
 * {@linkplain Connection#draining() draining} (a handler waiting for new input gets a
 * {@link DrainingException} and can say goodbye), waits up to the grace period, then cancels the
 * rest. {@link #close()} cancels at once.
 *
 * <h2>Error handling</h2>
 * A handler's exception closes its own connection only and is logged once. A bind failure makes
 * {@link #start()} throw an {@link IOException} naming the endpoint; accept errors (such as running
 * out of file descriptors) are logged and retried after a pause.
 */
public final class Server implements Service {
    private static final System.Logger LOG = System.getLogger(Server.class.getName());
    private static final int MAX_DATAGRAM = 65_535;
    /** SO_RCVBUF asked for on udp: endpoints; Linux grants at most {@code net.core.rmem_max}. */
    private static final int DATAGRAM_RECEIVE_BUFFER = 4 * 1024 * 1024;
    private static final long REFUSAL_LOG_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** How long a refused connection may take to read the refusal. */
    private static final Duration REFUSAL_WRITE_TIMEOUT = Duration.ofSeconds(2);

    private final String name;
    private final List<Endpoint> endpoints;
    private final ConnectionHandler handler;
    private final DatagramHandler datagramHandler;
    private final int maxConnections;
    private final int maxDatagrams;
    private final Duration readTimeout;
    private final Duration writeTimeout;
    private final ConnectionLimits limits;
    private final ConnectionHandler overLimit;
    /** For tls: endpoints without their own cert= and key=, or null. */
    private final Tls tls;
    /** The ALPN names offered on tls: listeners whose configuration has none. */
    private final List<String> alpn;
    private final AtomicLong refused = new AtomicLong();
    /** The totals {@link Builder#metrics} exposes; counted whether or not anyone reads them. */
    private final Traffic traffic = new Traffic(new LongAdder(), new LongAdder());
    private final LongAdder accepted = new LongAdder();
    private final LongAdder refusedTotal = new LongAdder();
    private final LongAdder handlerErrors = new LongAdder();
    private final LongAdder datagrams = new LongAdder();
    private volatile long lastRefusalLog = System.nanoTime() - REFUSAL_LOG_PERIOD_NANOS;
    private volatile long lastProxyRefusalLog = System.nanoTime() - REFUSAL_LOG_PERIOD_NANOS;
    private final Semaphore permits;
    private final Semaphore datagramPermits;
    /**
     * Connections admitted and being served now. The connections themselves are found through the
     * scope's running children ({@link Scope#forEachConnection}), so that each costs one registry
     * entry (its thread's, in {@code Scope}) rather than one more here.
     */
    private final AtomicInteger open = new AtomicInteger();
    private final List<AutoCloseable> listeners = new ArrayList<>();
    /** The configurations of the tls: listeners, for {@link #reload()}. */
    private final List<Tls> tlsListeners = new CopyOnWriteArrayList<>();
    private final List<Binding> bindings = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private Scope scope;
    private boolean started;
    private volatile boolean stopping;

    private Server(Builder b) {
        this.name = b.name;
        this.endpoints = List.copyOf(b.endpoints);
        this.handler = b.handler;
        this.datagramHandler = b.datagramHandler;
        this.maxConnections = b.maxConnections;
        this.maxDatagrams = b.maxDatagrams;
        this.readTimeout = b.readTimeout;
        this.writeTimeout = b.writeTimeout;
        this.limits = b.limits;
        this.overLimit = b.overLimit;
        this.tls = b.tls;
        this.alpn = b.alpn;
        this.permits = new Semaphore(maxConnections);
        this.datagramPermits = new Semaphore(maxDatagrams);
        if (b.metrics != null) {
            register(b.metrics);
        }
    }

    /** Bytes read from and written to this server's connections (after TLS: application bytes). */
    record Traffic(LongAdder received, LongAdder sent) {}

    private void register(Metrics m) {
        String[] service = {"service", name};
        m.gauge("twine_connections_open", "Connections being served now.", open::get, service);
        m.counter("twine_connections_total", "Connections accepted and served.", accepted::sum, service);
        m.counter("twine_connections_refused_total", "Connections refused by the connection limits.", refusedTotal::sum, service);
        m.counter("twine_handler_errors_total", "Connections whose handler failed with an unexpected exception.",
                handlerErrors::sum, service);
        m.counter("twine_received_bytes_total", "Bytes read from connections (after TLS).", traffic.received()::sum, service);
        m.counter("twine_sent_bytes_total", "Bytes written to connections (before TLS).", traffic.sent()::sum, service);
        if (datagramHandler != null) {
            m.counter("twine_datagrams_total", "Datagrams received.", datagrams::sum, service);
        }
    }

    /** Starts describing a server named {@code name} (used in thread names and logs). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Binds every endpoint and starts accepting; returns once all are bound.
     *
     * @throws IOException naming the endpoint that could not be bound or whose TLS files are bad;
     *     nothing stays bound then
     * @throws IllegalStateException if already started
     */
    @Override
    public void start() throws IOException {
        lock.lock();
        try {
            if (started) {
                throw new IllegalStateException("server '" + name + "' already started");
            }
            started = true;
            List<Runnable> loops = new ArrayList<>();
            try {
                for (Endpoint e : endpoints) {
                    loops.add(bind(e));
                }
            } catch (IOException | RuntimeException e) {
                closeListeners();
                terminated.countDown();
                throw e;
            }
            JdkPoller.initialise();
            scope = Scope.open(name);
            for (int i = 0; i < loops.size(); i++) {
                Runnable loop = loops.get(i);
                scope.fork("accept-" + bindings.get(i).protocol() + "-" + bindings.get(i).port(), () -> loop.run());
            }
        } finally {
            lock.unlock();
        }
    }

    private Runnable bind(Endpoint e) throws IOException {
        try {
            return switch (e) {
                case Endpoint.Tcp tcp -> bindStream(tcp.host(), tcp.port(), tcp.backlog(), null, "tcp", null);
                case Endpoint.Tls tls -> bindTls(tls, null);
                case Endpoint.Proxied p -> switch (p.listener()) {
                    case Endpoint.Tcp tcp -> bindStream(tcp.host(), tcp.port(), tcp.backlog(), null, "tcp", p.proxy());
                    case Endpoint.Tls tls -> bindTls(tls, p.proxy());
                    default -> throw new IllegalArgumentException("the PROXY protocol is for tcp and tls listeners");
                };
                case Endpoint.Udp udp -> bindDatagram(udp);
                case Endpoint.Unix unix -> bindUnix(unix);
                case Endpoint.Systemd sd -> bindInherited(sd);
            };
        } catch (BindException be) {
            throw new BindException("cannot listen on " + e + ": " + be.getMessage());
        } catch (IOException io) {
            throw new IOException("cannot listen on " + e + ": " + io.getMessage(), io);
        }
    }

    private Runnable bindTls(Endpoint.Tls tls, ProxyProtocol proxy) throws IOException {
        Tls ctx = tls.cert() == null ? this.tls : Tls.server(tls.cert(), tls.key());
        if (!alpn.isEmpty() && ctx.applicationProtocols().isEmpty()) {
            ctx = ctx.withAlpn(alpn.toArray(new String[0])); // RFC 7301: this server's protocol
        }
        tlsListeners.add(ctx);
        return bindStream(tls.host(), tls.port(), tls.backlog(), ctx, "tls", proxy);
    }

    private Runnable bindStream(String host, int port, int backlog, Tls tls, String protocol, ProxyProtocol proxy)
            throws IOException {
        requireHandler(protocol);
        InetAddress addr = host.isEmpty() ? null : InetAddress.getByName(host);
        if (Transports.readiness()) {
            // channels for Twine's readiness loop (see Transports)
            ServerSocketChannel ch = ServerSocketChannel.open();
            listeners.add(ch);
            ch.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(new InetSocketAddress(addr, port), backlog);
            bindings.add(new Binding(name, protocol, ch.getLocalAddress()));
            return () -> acceptLoop(() -> Transports.of(ch.accept()), () -> !ch.isOpen(), tls, proxy);
        }
        ServerSocket ss = new ServerSocket();
        listeners.add(ss);
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(addr, port), backlog);
        bindings.add(new Binding(name, protocol, ss.getLocalSocketAddress()));
        return () -> acceptLoop(() -> Transports.of(ss.accept()), ss::isClosed, tls, proxy);
    }

    private Runnable bindInherited(Endpoint.Systemd sd) throws IOException {
        requireHandler("systemd");
        ServerSocketChannel ch = InheritedSockets.adopt(System.getenv(), sd.name(), sd.index());
        listeners.add(ch);
        bindings.add(new Binding(name, "tcp", ch.getLocalAddress()));
        return () -> acceptChannelLoop(ch);
    }

    private Runnable bindUnix(Endpoint.Unix unix) throws IOException {
        requireHandler("unix");
        if (Files.isDirectory(unix.path())) {
            throw new IOException(unix.path() + " is a directory");
        }
        removeStaleSocket(unix.path());
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listeners.add(ch);
        listeners.add(() -> Files.deleteIfExists(unix.path()));
        ch.bind(UnixDomainSocketAddress.of(unix.path()));
        bindings.add(new Binding(name, "unix", ch.getLocalAddress()));
        return () -> acceptChannelLoop(ch);
    }

    /**
     * A socket file left by a server that died would make bind fail, so it is removed; but only a
     * socket nobody answers on: a regular file is not ours to delete, and a live server's socket
     * must not be taken from it (TCP would refuse the bind too).
     */
    private static void removeStaleSocket(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!attrs.isOther()) {
            throw new IOException(path + " exists and is not a socket; not replacing it");
        }
        boolean live;
        try {
            SocketChannel.open(UnixDomainSocketAddress.of(path)).close();
            live = true;
        } catch (IOException refused) {
            live = false;
        }
        if (live) {
            throw new BindException(path + " is in use by another server");
        }
        Files.deleteIfExists(path);
    }

    private Runnable bindDatagram(Endpoint.Udp udp) throws IOException {
        if (datagramHandler == null) {
            throw new IllegalStateException("server '" + name + "' has a udp endpoint but no datagram handler");
        }
        InetAddress addr = udp.host().isEmpty() ? null : InetAddress.getByName(udp.host());
        boolean shared = udp.receivers() > 1;
        InetSocketAddress at = new InetSocketAddress(addr, udp.port());
        if (shared && udp.port() != 0) {
            // SO_REUSEPORT would let this bind join a port someone else holds with it (a second
            // copy of this server): bind once without it first, to fail as a single socket would
            try (DatagramChannel probe = datagramChannel(addr)) {
                probe.bind(at);
            }
        }
        DatagramChannel first = openDatagram(addr, shared);
        first.bind(at);
        bindings.add(new Binding(name, "udp", first.getLocalAddress()));
        // the others join the first one's port (the real one when port 0 was asked for); Linux
        // spreads the senders over the group by a hash of their address and port
        List<DatagramChannel> more = new ArrayList<>();
        for (int i = 1; i < udp.receivers(); i++) {
            DatagramChannel ch = openDatagram(addr, true);
            ch.bind(first.getLocalAddress());
            more.add(ch);
        }
        int granted = first.getOption(java.net.StandardSocketOptions.SO_RCVBUF);
        if (granted < DATAGRAM_RECEIVE_BUFFER) {
            // Linux grants at most net.core.rmem_max (its default, about 200 KiB, holds a few
            // hundred queries): say so once, as the drops it causes are silent
            LOG.log(Level.INFO, "{0}: the udp receive buffer on {1} is {2} KiB of the {3} KiB asked; bursts beyond it "
                    + "are dropped by the kernel (on Linux, raise net.core.rmem_max)", name, first.getLocalAddress(),
                    granted / 1024, DATAGRAM_RECEIVE_BUFFER / 1024);
        }
        int port = ((InetSocketAddress) first.getLocalAddress()).getPort();
        return () -> {
            for (int i = 0; i < more.size(); i++) {
                DatagramChannel ch = more.get(i);
                scope.fork("receive-udp-" + port + "-" + (i + 1), () -> receiveLoop(ch));
            }
            receiveLoop(first);
        };
    }

    /**
     * A datagram channel for binding to {@code addr} (null: every interface), closed with the
     * listeners; shared: to be bound with others to one port.
     */
    private DatagramChannel openDatagram(InetAddress addr, boolean shared) throws IOException {
        DatagramChannel ch = datagramChannel(addr);
        listeners.add(ch);
        if (shared) {
            if (!ch.supportedOptions().contains(java.net.StandardSocketOptions.SO_REUSEPORT)) {
                throw new IOException("receivers above 1 need SO_REUSEPORT, which this platform does not offer");
            }
            ch.setOption(java.net.StandardSocketOptions.SO_REUSEPORT, true);
        }
        // the kernel drops what arrives while the buffer is full: the default (about 200 KiB, a
        // few hundred queries) overflowed in short stalls under dnsperf, which counted them as lost
        ch.setOption(java.net.StandardSocketOptions.SO_RCVBUF, DATAGRAM_RECEIVE_BUFFER);
        return ch;
    }

    /**
     * An IPv4 socket for an IPv4 address: a dual-stack IPv6 socket bound to one would carry every
     * datagram through the kernel's IPv4-mapped path and the JDK's address conversions (seen in
     * perf under dnsperf as udpv6_recvmsg and udpv6_sendmsg); the platform's default otherwise.
     */
    private static DatagramChannel datagramChannel(InetAddress addr) throws IOException {
        return addr instanceof Inet4Address ? DatagramChannel.open(StandardProtocolFamily.INET) : DatagramChannel.open();
    }

    private void requireHandler(String protocol) {
        if (handler == null) {
            throw new IllegalStateException("server '" + name + "' has a " + protocol + " endpoint but no connection handler");
        }
    }

    /** Accepts the next connection of one listener as a transport (closing the socket if that fails). */
    @FunctionalInterface
    private interface Accept {
        Transport next() throws IOException;
    }

    private void acceptLoop(Accept accept, java.util.function.BooleanSupplier listenerClosed, Tls tls, ProxyProtocol proxy) {
        Runner runner = new Runner(tls);
        while (!stopping) {
            if (!acquirePermit()) {
                return;
            }
            Transport t;
            try {
                t = accept.next();
            } catch (IOException e) {
                permits.release();
                if (stopping || listenerClosed.getAsBoolean()) {
                    return;
                }
                acceptFailed(e);
                continue;
            }
            try {
                Connection conn = new Connection(name, t, false, "");
                if (proxy == null) {
                    admit(conn, runner);
                } else {
                    acceptProxied(conn, runner, proxy);
                }
            } catch (RuntimeException e) {
                permits.release();
                t.close();
            }
        }
    }

    /** Accepts from a channel: a Unix domain socket's, or a TCP socket a service manager passed. */
    private void acceptChannelLoop(ServerSocketChannel ch) {
        Runner runner = new Runner(null);
        while (!stopping) {
            if (!acquirePermit()) {
                return;
            }
            SocketChannel s;
            try {
                s = ch.accept();
            } catch (IOException e) {
                permits.release();
                if (stopping || !ch.isOpen()) {
                    return;
                }
                acceptFailed(e);
                continue;
            }
            try {
                if (s.getLocalAddress() instanceof InetSocketAddress) {
                    s.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
                }
                admit(new Connection(name, new ChannelTransport(s), false, ""), runner);
            } catch (IOException | RuntimeException e) {
                permits.release();
                closeQuietly(s);
            }
        }
    }

    private boolean acquirePermit() {
        try {
            permits.acquire();
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private void acceptFailed(IOException e) {
        // typically EMFILE: pause instead of spinning, then go on serving
        LOG.log(Level.WARNING, "{0}: accept failed, retrying in 100 ms: {1}", name, e.toString());
        try {
            Thread.sleep(100);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A connection through a load balancer: refused unanswered unless it comes from a trusted
     * proxy; then, on the connection's own thread (a slow header must not hold up the accept
     * loop), the header is read, the client address taken from it, and the limits asked about
     * that address.
     */
    private void acceptProxied(Connection conn, Runner runner, ProxyProtocol proxy) {
        if (!(conn.remoteAddress() instanceof InetSocketAddress from)
                || !AddressBlock.anyContains(proxy.trusted(), from.getAddress())) {
            long now = System.nanoTime();
            // at most one line every 10 s at WARNING: a client hammering the port must not flood the log
            Level level = now - lastProxyRefusalLog >= REFUSAL_LOG_PERIOD_NANOS ? Level.WARNING : Level.DEBUG;
            if (level == Level.WARNING) {
                lastProxyRefusalLog = now;
            }
            LOG.log(level, "{0}: refused a connection from {1}: not a trusted proxy ({2})", name, conn.peer(), proxy);
            Events.refused(name, conn.peer(), "not a trusted proxy");
            conn.close();
            permits.release();
            return;
        }
        Handle<Void> h = scope.fork(conn, c -> {
            try {
                conn.readTimeout(proxy.headerTimeout());
                ProxyHeader.read(conn.input(), proxy.version()).ifPresent(conn::proxiedClient);
                conn.readTimeout(readTimeout); // the header's own bound ends here, even with no server timeout

            } catch (IOException e) {
                LOG.log(Level.WARNING, "{0}: closed a connection from proxy {1}: {2}", name, conn.peer(), e.getMessage());
                conn.close();
                permits.release();
                return;
            }
            if (!take(conn)) {
                refuse(conn, runner.tls);
                return;
            }
            open.incrementAndGet();
            if (stopping) {
                conn.beginDrain();
            }
            runner.run(conn);
        });
        if (h.state() == Handle.State.CANCELLED) {
            conn.close();
            permits.release();
        }
    }

    /** Serves the connection if the limits admit it, else refuses it on its own thread. */
    private void admit(Connection conn, Runner runner) {
        if (take(conn)) {
            try {
                serve(conn, runner);
            } catch (RuntimeException e) {
                conn.releasePermit(); // the accept loop closes the socket; the place goes back too
                throw e;
            }
            return;
        }
        Handle<Void> h = scope.fork("refuse-" + conn.id(), () -> refuse(conn, runner.tls));
        if (h.state() == Handle.State.CANCELLED) {
            conn.close();
            permits.release();
        }
    }

    /**
     * Asks the limits about the connection's (real) address. Admitted, it holds its place in them
     * and is counted; refused, the refusal is counted and logged, and the caller says so.
     */
    private boolean take(Connection conn) {
        Optional<ConnectionLimits.Permit> permit = limits.tryAdmit(conn.remoteAddress());
        if (permit.isEmpty()) {
            noteRefusal(conn);
            return false;
        }
        conn.admitted(permit.get(), limits.preauthTimeout());
        conn.countInto(traffic);
        accepted.increment();
        return true;
    }

    private void refuse(Connection conn, Tls tls) {
        try {
            if (overLimit != null && tls == null) {
                conn.writeTimeout(REFUSAL_WRITE_TIMEOUT);
                overLimit.handle(conn);
                conn.flush();
            }
        } catch (Exception e) {
            LOG.log(Level.DEBUG, () -> conn + ": refusal not delivered: " + e);
        } finally {
            conn.end();
            permits.release();
        }
    }

    private void noteRefusal(Connection conn) {
        refusedTotal.increment();
        Events.refused(name, conn.peer(), "connection limits");
        long n = refused.incrementAndGet();
        long now = System.nanoTime();
        long last = lastRefusalLog;
        if (now - last >= REFUSAL_LOG_PERIOD_NANOS) {
            lastRefusalLog = now;
            long count = refused.getAndSet(0);
            LOG.log(Level.WARNING, "{0}: refused {1} connection(s) over the connection limits in the last {2} s,"
                    + " the last from address={3} ({4})", name, count, (now - last) / 1_000_000_000L, conn.peer(), limits);
        } else {
            LOG.log(Level.DEBUG, () -> name + ": refused connection from " + conn.peer() + " (" + n + " recently)");
        }
    }

    private void serve(Connection conn, Runner runner) {
        open.incrementAndGet();
        Handle<Void> h = scope.fork(conn, runner);
        if (h.state() == Handle.State.CANCELLED) {
            // the server was closed between accept and fork
            open.decrementAndGet();
            conn.close();
            conn.releasePermit();
            permits.release();
        } else if (stopping) {
            conn.beginDrain();
        }
    }

    /**
     * What a connection's thread runs, from the scope's child straight into the handler: one per
     * listener, shared by its connections, so a connection costs no task object of its own and its
     * parked stack no frame between the two.
     */
    private final class Runner implements Scope.ConnectionTask {
        /** TLS from the first byte (a {@code tls:} endpoint), or null. */
        final Tls tls;

        Runner(Tls tls) {
            this.tls = tls;
        }

        @Override
        public void run(Connection conn) {
            Throwable failure = null;
            try {
                conn.applyTimeouts(readTimeout, writeTimeout);
                if (tls != null) {
                    Duration hs = readTimeout.isZero() ? Duration.ofSeconds(30) : readTimeout;
                    conn.upgradeAccepted(tls, hs);
                }
                handler.handle(conn);
                if (!conn.isClosed()) {
                    conn.flush();
                    if (conn.isSecure()) {
                        // TLS must end with close_notify (RFC 8446 §6.1), or the peer sees truncation
                        conn.shutdownOutput();
                    }
                }
            } catch (Throwable t) {
                failure = t;
                logHandlerEnd(conn, t);
            } finally {
                conn.endEvent(failure);
                open.decrementAndGet();
                try {
                    conn.end();
                } catch (RuntimeException | Error e) {
                    // a child forked in conn.scope() failed: that ends this connection only; escaping
                    // here would fail the server's scope and cancel every connection and listener
                    logHandlerEnd(conn, e);
                } finally {
                    conn.releasePermit();
                    permits.release();
                }
            }
        }
    }

    private void logHandlerEnd(Connection conn, Throwable t) {
        if (t instanceof DrainingException || (stopping || scope.isCancelled()) && isEndOfConnection(t)) {
            return;
        }
        if (isEndOfConnection(t)) {
            LOG.log(Level.DEBUG, () -> conn + ": connection ended: " + t);
        } else if (t instanceof SSLException) {
            LOG.log(Level.INFO, () -> conn + ": TLS failed: " + t.getMessage());
        } else {
            handlerErrors.increment();
            LOG.log(Level.WARNING, conn + ": handler failed", t);
        }
    }

    private static boolean isEndOfConnection(Throwable t) {
        return t instanceof InterruptedIOException // timeouts, drains
                || t instanceof EOFException
                || t instanceof SocketException // reset, broken pipe, closed
                || t instanceof InterruptedException
                || t instanceof java.nio.channels.ClosedChannelException
                || t instanceof IOException io && io.getMessage() != null && io.getMessage().contains("Broken pipe");
    }

    /**
     * Receives datagrams and forks each one's handler. The channel is in blocking mode, and a
     * virtual thread's blocking receive first tries the socket without waiting and parks only
     * when it is empty: a burst of waiting datagrams is drained one receive call each, with no
     * park between them.
     */
    private void receiveLoop(DatagramChannel ch) {
        // direct: the kernel copies into it without the JDK's intermediate buffer
        ByteBuffer buf = ByteBuffer.allocateDirect(MAX_DATAGRAM);
        SocketAddress local;
        try {
            local = ch.getLocalAddress();
        } catch (IOException e) {
            local = null;
        }
        // one name for every datagram's thread: formatting the sender each time costs about 1%
        // of a DNS server's CPU; a failing handler's log line names the sender
        String threadName = "udp " + (local instanceof InetSocketAddress a ? a.getPort() : local);
        while (!stopping) {
            SocketAddress sender;
            try {
                buf.clear();
                sender = ch.receive(buf);
            } catch (IOException e) {
                if (stopping || !ch.isOpen()) {
                    return;
                }
                LOG.log(Level.WARNING, "{0}: receive failed: {1}", name, e.toString());
                continue;
            }
            buf.flip();
            byte[] payload = new byte[buf.remaining()];
            buf.get(payload);
            Datagram d = new Datagram(payload, sender, local);
            datagrams.increment();
            Optional<byte[]> now;
            try {
                now = datagramHandler.tryHandle(d);
            } catch (Throwable t) {
                handlerFailed(d, t);
                continue;
            }
            if (now.isPresent()) {
                reply(ch, d, now.get());
                continue;
            }
            try {
                datagramPermits.acquire();
            } catch (InterruptedException e) {
                return;
            }
            Handle<Void> h = scope.fork(threadName, () -> answer(ch, d));
            if (h.state() == Handle.State.CANCELLED) {
                datagramPermits.release();
            }
        }
    }

    private void answer(DatagramChannel ch, Datagram d) {
        try {
            Optional<byte[]> reply = datagramHandler.handle(d);
            if (reply.isPresent()) {
                reply(ch, d, reply.get());
            }
        } catch (Throwable t) {
            handlerFailed(d, t);
        } finally {
            datagramPermits.release();
        }
    }

    private void reply(DatagramChannel ch, Datagram d, byte[] reply) {
        try {
            ch.send(ByteBuffer.wrap(reply), d.sender());
        } catch (IOException e) {
            handlerFailed(d, e);
        }
    }

    private void handlerFailed(Datagram d, Throwable t) {
        if (!stopping) {
            LOG.log(Level.WARNING, name + ": datagram handler failed for " + d.sender(), t);
        }
    }

    /** The bound addresses, in the order the endpoints were given. */
    @Override
    public List<Binding> bindings() {
        lock.lock();
        try {
            return List.copyOf(bindings);
        } finally {
            lock.unlock();
        }
    }

    /** The port of the first bound endpoint (the real one if port 0 was asked for). */
    public int port() {
        List<Binding> b = bindings();
        if (b.isEmpty()) {
            throw new IllegalStateException("server '" + name + "' is not bound");
        }
        return b.get(0).port();
    }

    /** Connections being served now. */
    public int connectionCount() {
        return open.get();
    }

    /** The connection limit. */
    public int maxConnections() {
        return maxConnections;
    }

    /** The per-address and pre-authentication limits ({@link ConnectionLimits#none()} by default). */
    public ConnectionLimits limits() {
        return limits;
    }

    /**
     * Stops accepting, marks connections as draining, waits up to {@code grace} for their
     * handlers to end, then cancels the rest and waits for them. Idempotent.
     *
     * @throws InterruptedException if interrupted while waiting; everything is cancelled first
     */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        Objects.requireNonNull(grace, "grace");
        if (!beginStop()) {
            awaitTermination();
            return;
        }
        Scope s = scope;
        if (s != null) { // null when start() failed to bind
            s.forEachConnection(c -> {
                if (c.isAdmitted()) { // one still reading its PROXY header drains once admitted
                    c.beginDrain();
                }
            });
        }
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            while (open.get() > 0 && System.nanoTime() - deadline < 0) {
                // connections end on their own threads; poll the count rather than hold a lock per end
                Thread.sleep(Math.min(20, Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
            }
        } finally {
            finishStop();
        }
    }

    /**
     * Re-reads the certificate and key files of this server's {@code tls:} listeners
     * ({@link Tls#reload()}); new handshakes get the new pairs, open connections keep theirs.
     * Handshakes also pick up changed files by themselves (see {@link Tls.ServerBuilder}).
     *
     * @return whether a certificate or key changed
     * @throws IOException naming the file and the problem; that listener keeps its old pair, and
     *     the others are still reloaded
     */
    @Override
    public boolean reload() throws IOException {
        return Services.reloadAll(tlsListeners, Tls::reload);
    }

    /** Stops at once: stops accepting and cancels every connection, then waits for them. */
    @Override
    public void close() {
        if (beginStop()) {
            finishStop();
        } else {
            // a graceful shutdown may be under way on another thread: cut its grace short
            Scope s;
            lock.lock();
            try {
                s = scope;
            } finally {
                lock.unlock();
            }
            if (s != null) {
                s.cancel();
            }
            try {
                terminated.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    private boolean beginStop() {
        lock.lock();
        try {
            if (stopping) {
                return false;
            }
            stopping = true;
            if (!started) {
                terminated.countDown();
                return false;
            }
            closeListeners();
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void finishStop() {
        try {
            if (scope != null) {
                scope.cancel();
                try {
                    scope.close();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, name + ": failure while stopping", e);
                }
            }
        } finally {
            terminated.countDown();
        }
    }

    private void closeListeners() {
        for (AutoCloseable c : listeners) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a listener cannot fail in a way that matters here
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // nothing to do
        }
    }

    @Override
    public String toString() {
        return "Server[" + name + ", " + bindings() + ", connections=" + open.get() + "]";
    }

    /** Describes a server; {@link #build()} or {@link #start()} at the end. */
    public static final class Builder {
        private final String name;
        private final List<Endpoint> endpoints = new ArrayList<>();
        private ConnectionHandler handler;
        private DatagramHandler datagramHandler;
        private int maxConnections = 10_000;
        private int maxDatagrams = 1_024;
        private Duration readTimeout = Duration.ofMinutes(5);
        private Duration writeTimeout = Duration.ofSeconds(60);
        private ConnectionLimits limits = ConnectionLimits.none();
        private ConnectionHandler overLimit;
        private Metrics metrics;
        private Tls tls;
        private List<String> alpn = List.of();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        /** Adds an endpoint to listen on. */
        public Builder listen(Endpoint endpoint) {
            endpoints.add(Objects.requireNonNull(endpoint, "endpoint"));
            return this;
        }

        /**
         * Adds an endpoint in the server grammar ({@code tcp:7000}, see {@link Endpoint}).
         *
         * @throws IllegalArgumentException naming the bad part
         */
        public Builder listen(String endpoint) {
            return listen(Endpoint.parseServer(endpoint));
        }

        /** The handler for stream connections (tcp, tls, unix). */
        public Builder handler(ConnectionHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * The TLS configuration of this server's {@code tls:} endpoints that name no
         * {@code cert=}/{@code key=} of their own ({@code tls:993}), so that they get what a
         * {@link Tls#serverBuilder()} configures: several certificates by SNI, ALPN, client
         * certificates. {@link #reload()} rereads it with the others.
         *
         * @param serverTls a server-side configuration
         * @return this builder
         */
        public Builder tls(Tls serverTls) {
            this.tls = Objects.requireNonNull(serverTls, "tls");
            return this;
        }

        /**
         * The application protocol this server speaks, offered by ALPN (RFC 7301) on its
         * {@code tls:} listeners whose configuration offers none: those with their own
         * {@code cert=}/{@code key=}, and the {@link #tls(Tls)} configuration if it was built
         * without {@code alpn(...)}. A client that offers the name gets it chosen, one that offers
         * only other names fails the handshake ({@code no_application_protocol}), one that offers
         * none is served as before. Protocol servers register their IANA name ({@code "imap"},
         * {@code "pop3"}, {@code "xmpp-client"}, {@code "dot"}).
         *
         * @param protocols ALPN names, preferred first; none for no ALPN (the default)
         * @return this builder
         * @throws IllegalArgumentException if a name is empty or longer than 255 bytes
         */
        public Builder alpn(String... protocols) {
            this.alpn = Tls.alpnList(protocols);
            return this;
        }

        /**
         * Registers this server's series in {@code metrics}, labelled {@code service="NAME"}:
         * {@code twine_connections_open}, {@code twine_connections_total},
         * {@code twine_connections_refused_total}, {@code twine_handler_errors_total},
         * {@code twine_received_bytes_total}, {@code twine_sent_bytes_total}, and
         * {@code twine_datagrams_total} for a server with a datagram handler.
         *
         * @param metrics the registry to add to
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** The handler for datagrams (udp). */
        public Builder datagramHandler(DatagramHandler handler) {
            this.datagramHandler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Most connections served at once; default 10,000. Beyond it they wait in the backlog. */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be positive: " + max);
            }
            this.maxConnections = max;
            return this;
        }

        /**
         * Caps per client address and on unauthenticated connections, and the time a connection
         * has to authenticate ({@link Connection#markAuthenticated()}); default
         * {@link ConnectionLimits#none()}. Several servers may share one instance, so that the
         * caps count their connections together.
         */
        public Builder limits(ConnectionLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /**
         * What a connection refused by the {@linkplain #limits limits} is told before it is closed:
         * the protocol's own "too many connections" reply, written with a two-second write
         * timeout. Not run on {@code tls:} endpoints. Default: nothing, the connection is just
         * closed.
         */
        public Builder overLimit(ConnectionHandler refusal) {
            this.overLimit = Objects.requireNonNull(refusal, "refusal");
            return this;
        }

        /**
         * Most datagrams whose {@link DatagramHandler#handle} runs at once; default 1,024. Beyond
         * it the server stops receiving (answers that {@link DatagramHandler#tryHandle} gives at
         * once take no part of it).
         */
        public Builder maxDatagramsInFlight(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxDatagramsInFlight must be positive: " + max);
            }
            this.maxDatagrams = max;
            return this;
        }

        /**
         * Each connection's initial read timeout (idle timeout): how long a read may wait for
         * input. Default 5 minutes; zero means none. Handlers may change it per connection.
         */
        public Builder readTimeout(Duration timeout) {
            this.readTimeout = nonNegative(timeout, "readTimeout");
            return this;
        }

        /**
         * Each connection's initial write timeout: how long a write may block on a peer that does
         * not read. Default 60 seconds; zero means none.
         */
        public Builder writeTimeout(Duration timeout) {
            this.writeTimeout = nonNegative(timeout, "writeTimeout");
            return this;
        }

        /**
         * The server, not started.
         *
         * @throws IllegalStateException if no endpoint was given
         */
        public Server build() {
            if (endpoints.isEmpty()) {
                throw new IllegalStateException("server '" + name + "' has no endpoint to listen on");
            }
            for (Endpoint e : endpoints) {
                Endpoint listener = e instanceof Endpoint.Proxied p ? p.listener() : e;
                if (listener instanceof Endpoint.Tls t && t.cert() == null && tls == null) {
                    throw new IllegalArgumentException("bad endpoint '" + e + "': tls needs cert=FILE:key=FILE,"
                            + " unless the server has a TLS configuration of its own");
                }
            }
            return new Server(this);
        }

        /**
         * Builds and starts the server; returns once every endpoint is bound.
         *
         * @throws IOException naming the endpoint that could not be bound
         */
        public Server start() throws IOException {
            Server s = build();
            s.start();
            return s;
        }

        private static Duration nonNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative: " + d);
            }
            return d;
        }
    }
}

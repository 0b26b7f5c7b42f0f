package dev.twine.core;

import dev.twine.core.internal.Events;
import dev.twine.core.internal.CoreAccess;
import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * One stream connection, as a handler sees it: buffered blocking input and output, the addresses,
 * a child {@link Scope} for work that belongs to this connection, STARTTLS, timeouts and
 * {@link #close()}. Servers hand one to each {@link ConnectionHandler}; {@link Client#connect}
 * returns the same type.
 *
 * <pre>{@code
 * ConnectionHandler greeter = conn -> {
 *     LineReader in = LineReader.of(conn, 1024);
 *     LineWriter out = LineWriter.of(conn);
 *     out.writeLine("* OK ready").flush();
 *     if ("STARTTLS".equals(in.readLine())) {
 *         out.writeLine("OK go ahead").flush();
 *         conn.startTls(tls);                  // plaintext the client pipelined is dropped
 *     }
 *     out.writeLine("hello " + conn.peer()).flush();
 * };                                           // returning flushes and closes
 * }</pre>
 *
 * <h2>Threads</h2>
 * One thread reads and one thread writes at a time (they may be different threads: a chat server
 * reads on the connection's thread and writes from a forked child). {@link #close()} may be called
 * from any thread and unblocks both.
 *
 * <h2>Timeouts</h2>
 * The <em>read timeout</em> bounds each wait for input: when no byte arrives for that long, the
 * read throws {@link java.net.SocketTimeoutException} and the input is shut down; the connection
 * can still write, so the handler can answer (SMTP {@code 421}) before closing, but every later
 * read throws too. (A timeout ends the conversation; a protocol that wants to do something on a
 * quiet line and go on reading forks a child in {@link #scope()} for it instead.) The
 * <em>write timeout</em> bounds each
 * blocking send to a peer that does not read: the write throws
 * {@link java.net.SocketTimeoutException} and the connection is closed. Zero means no timeout.
 * Two limits bound whole phases rather than single waits, and end reads the same way when they
 * pass: a server's {@linkplain ConnectionLimits.Builder#preauthTimeout pre-auth timeout} (until
 * {@link #markAuthenticated()}), and, for a line read through {@link LineReader}, the read
 * timeout counted from the line's first byte to its end.
 *
 * <h2>Codecs</h2>
 * {@link LineReader}, {@link LineWriter} and {@link Frames} read from and write to the same buffers
 * as {@link #input()} and {@link #output()}, so they can be mixed freely.
 */
public final class Connection implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong();
    /**
     * Guards {@link #scope} of every connection: taken once or twice per connection, briefly, so one
     * lock for all costs no memory per connection (and, unlike a monitor, cannot leave a virtual
     * thread stuck entering it on JDK 25.0.3 and earlier, JDK-8373120).
     */
    private static final ReentrantLock SCOPE_LOCK = new ReentrantLock();
    private static final java.lang.invoke.VarHandle CLOSED;

    static {
        try {
            CLOSED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Connection.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
        CoreAccess.install(new CoreAccess.Factory() {
            @Override
            public Connection connection(String service, Transport transport, boolean clientSide) {
                return new Connection(service, transport, clientSide, "");
            }

            @Override
            public Transport transport(Connection connection) {
                return connection.transport;
            }

            @Override
            public void end(Connection connection) {
                connection.end();
            }
        });
    }

    private final long id;
    private final String service;
    private final boolean clientSide;
    private final String host;
    /** Read by the buffers for every operation; replaced by STARTTLS. */
    volatile Transport transport;
    private final InputBuffer in;
    private final OutputBuffer out;
    /** Set once by {@link #close()}; a field rather than an atomic object, as there is one per connection. */
    private volatile boolean closed;
    /** Made on first use; guarded by this object's monitor, held around nothing that blocks. */
    private Scope scope;
    private volatile boolean draining;
    private Duration readTimeout = Duration.ZERO;
    private Duration writeTimeout = Duration.ZERO;
    private volatile boolean authenticated;
    /** The client's address from a PROXY protocol header, or null: it wins over the socket's. */
    private volatile SocketAddress proxiedClient;
    private volatile ConnectionLimits.Permit permit;
    /** When the peer must have authenticated by (see {@link ConnectionLimits}), or null. */
    private volatile Instant preauthDeadline;
    /** When the line being read must be complete by (see {@link LineReader}), or null. */
    private Instant lineDeadline;
    /** The handler's own deadline ({@link #readDeadline(Instant)}), or null. */
    private Instant handlerDeadline;

    Connection(String service, Transport transport, boolean clientSide, String host) {
        this.id = IDS.incrementAndGet();
        this.service = service;
        this.transport = transport;
        this.clientSide = clientSide;
        this.host = host;
        this.in = new InputBuffer(this, null);
        this.out = new OutputBuffer(this, null);
    }

    /** A number unique in this process, used in thread names and logs ({@code conn-12}). */
    public long id() {
        return id;
    }

    /** The service this connection belongs to ({@code "echo"}, {@code "smtp"}), or the client's name. */
    public String service() {
        return service;
    }

    /** Whether this is the connecting side. */
    public boolean isClient() {
        return clientSide;
    }

    /**
     * The peer's address: an {@link InetSocketAddress}, a Unix domain address, or a test's. Behind
     * a load balancer speaking the {@link ProxyProtocol}, the real client's address from its header.
     */
    public SocketAddress remoteAddress() {
        SocketAddress proxied = proxiedClient;
        return proxied != null ? proxied : transport.remoteAddress();
    }

    /** Where this connection's bytes are counted: its server's totals, or nothing. */
    private volatile Server.Traffic traffic;

    /** This connection's Flight Recorder event while a recording runs, else null. */
    private volatile Events.Connection event;
    private Server.Traffic own;

    /** Counts this connection's bytes into its server's totals, and starts its JFR event. */
    void countInto(Server.Traffic traffic) {
        this.traffic = traffic;
        Events.Connection e = new Events.Connection();
        if (e.isEnabled()) {
            own = new Server.Traffic(new java.util.concurrent.atomic.LongAdder(), new java.util.concurrent.atomic.LongAdder());
            e.begin();
            event = e;
        }
    }

    /** Ends the JFR event, if one was started: with the handler's failure, if it failed. */
    void endEvent(Throwable failure) {
        Events.Connection e = event;
        if (e != null) {
            event = null;
            e.end();
            if (e.shouldCommit()) {
                e.service = service;
                e.peer = peer();
                e.received = own.received().sum();
                e.sent = own.sent().sum();
                e.failure = failure == null ? null : failure.toString();
                e.commit();
            }
        }
    }

    void received(int n) {
        Server.Traffic t = traffic;
        if (t != null) {
            t.received().add(n);
            if (event != null) {
                own.received().add(n);
            }
        }
    }

    void sent(int n) {
        Server.Traffic t = traffic;
        if (t != null) {
            t.sent().add(n);
            if (event != null) {
                own.sent().add(n);
            }
        }
    }

    /** Sets the client address a PROXY protocol header gave (before the handler runs). */
    void proxiedClient(SocketAddress client) {
        this.proxiedClient = client;
    }

    /** This side's address. */
    public SocketAddress localAddress() {
        return transport.localAddress();
    }

    /** The peer as text for logs: {@code 127.0.0.1:50123}. */
    public String peer() {
        SocketAddress a = remoteAddress();
        if (a instanceof InetSocketAddress i) {
            String ip = i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString();
            return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + i.getPort();
        }
        return String.valueOf(a);
    }

    /**
     * The buffered input. Reads block (bounded by the read timeout), return -1 at end of stream,
     * and throw {@link DrainingException} when the server shuts down while this connection waits
     * for new input. Closing it closes the connection.
     */
    public InputStream input() {
        return in;
    }

    /**
     * The buffered output: nothing is sent before {@link #flush()} or a full buffer. Writes block
     * while the peer does not read (bounded by the write timeout). Closing it closes the connection.
     */
    public OutputStream output() {
        return out;
    }

    /**
     * Sends everything buffered.
     *
     * @throws java.net.SocketTimeoutException if the write timeout passes
     * @throws IOException if the connection is broken or closed
     */
    public void flush() throws IOException {
        out.flush();
    }

    /**
     * This connection's own scope: children forked here are cancelled and joined when the
     * connection's handler ends (after the connection is closed, which unblocks their I/O). Made on
     * first use.
     */
    public Scope scope() {
        SCOPE_LOCK.lock();
        try {
            if (scope == null) {
                scope = Scope.open(service + "/conn-" + id);
            }
            return scope;
        } finally {
            SCOPE_LOCK.unlock();
        }
    }

    /**
     * Upgrades this connection to TLS in place (STARTTLS), in client or server mode as
     * {@code tls} says. Buffered output is sent first. Input that arrived before the upgrade and
     * was not yet read is <em>discarded</em>: a peer that pipelines commands after STARTTLS must
     * not have them run as if they came over TLS (RFC 3207 §4.2, RFC 2595 §3.1). The handshake is
     * bounded by the read timeout, or by 30 seconds if there is none.
     *
     * @throws IOException if the handshake fails; the connection is then closed
     * <p>TCP connections on the socket transport layer an {@code SSLSocket}; all others (the
     * readiness transport, Unix domain sockets, the in-memory connections of
     * {@link dev.twine.core.testing.MemoryConnections}) run an {@code SSLEngine} over the
     * connection, so STARTTLS can be tested without sockets, in any chunking.
     *
     * @throws UnsupportedOperationException on a read-only connection over a plain stream
     * @throws IllegalStateException if the connection is already encrypted
     */
    public void startTls(Tls tls) throws IOException {
        startTls(tls, host);
    }

    /**
     * Upgrades this connection to TLS as {@link #startTls(Tls)} does, with the name a client
     * checks the server's certificate against (and sends as SNI) given explicitly: the service's
     * domain rather than the address connected to, as XMPP (RFC 6120 §13.7.2.1) and SRV/MX
     * lookups (RFC 6125 §6.2) require. A server-side {@code tls} ignores the name.
     *
     * @param serverName the host name the certificate must be valid for
     * @throws IOException if the handshake fails; the connection is then closed
     * @throws UnsupportedOperationException on a transport that cannot carry TLS
     * @throws IllegalStateException if the connection is already encrypted
     */
    public void startTls(Tls tls, String serverName) throws IOException {
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(serverName, "serverName");
        if (isSecure()) {
            throw new IllegalStateException("connection is already using TLS");
        }
        out.flush();
        in.discard();
        Duration handshake = readTimeout.isZero() ? Duration.ofSeconds(30) : readTimeout;
        upgrade(tls, serverName, handshake, "starttls");
    }

    /** Runs the transport's TLS handshake and swaps the transport; closes the connection if it fails. */
    private void upgrade(Tls tls, String serverName, Duration handshake, String how) throws IOException {
        Events.TlsHandshake event = Events.handshakeBegins();
        try {
            transport = transport.startTls(tls.layer(), serverName, readTimeout, writeTimeout, handshake);
        } catch (IOException e) {
            Events.handshakeEnds(event, service, peer(), how, null, e);
            close();
            throw e;
        }
        Events.handshakeEnds(event, service, peer(), how, transport.tlsSession(), null);
        applyDeadline();
    }

    /**
     * A connection carried inside this one, for a protocol framed in another (XMPP over WebSocket,
     * RFC 7395, say): its bytes are read from {@code in} and written to {@code out}, a codec that
     * decodes and encodes this connection's framing, on this connection; the rest is this
     * connection's: addresses, TLS ({@link #isSecure()}, peer certificates, ALPN), timeouts and
     * deadlines (they apply to this connection's reads, which {@code in} makes), and closing
     * (closing either closes this one). {@link #markAuthenticated()} on it marks this one too, so
     * the server's pre-authentication limits see a login inside. {@link #startTls} on it fails.
     *
     * <pre>{@code
     * Connection inner = connection.carrying(new MyFrameDecoder(connection), new MyFrameEncoder(connection));
     * try {
     *     handler.handle(inner);
     * } finally {
     *     inner.close();
     *     inner.scope().cancel();
     *     inner.scope().close();
     * }
     * }</pre>
     *
     * <p>The caller runs the handler and ends the carried connection's {@link #scope()} after it,
     * as a server does for its own connections. {@code out} gets each flush of the carried
     * connection as one write, and is flushed after it.
     *
     * @param in the decoded bytes
     * @param out where the bytes written go to be encoded
     * @return the carried connection
     */
    public Connection carrying(InputStream in, OutputStream out) {
        return new Connection(service, new CarriedTransport(this, in, out), clientSide, host);
    }

    /**
     * Compresses both directions from now on with raw DEFLATE (RFC 1951), as IMAP's
     * COMPRESS=DEFLATE (RFC 4978) and XMPP's stream compression (XEP-0138) do. Buffered output is
     * sent first, uncompressed (the reply that agreed to compress); input already received and
     * not yet read is taken as compressed (the peer may pipeline behind its command). Every
     * {@link #flush()} from then on ends with a DEFLATE sync flush, so the peer can decode all that
     * was sent at once. Over TLS, compression runs inside it; TLS cannot start after it. Does not
     * block beyond sending the buffered output.
     *
     * <p><b>Error handling.</b> Compressed input that is not valid DEFLATE makes reads throw a
     * {@link java.util.zip.ZipException} (an IOException). Each compressed connection holds about
     * 300 KiB of native zlib memory, freed when the connection closes.
     *
     * @param level the {@link java.util.zip.Deflater} level of what this side sends (1 fastest,
     *     9 smallest, -1 zlib's default)
     * @throws IOException if sending the buffered output fails
     * @throws IllegalStateException if the connection is already compressed
     */
    public void startCompression(int level) throws IOException {
        if (isCompressed()) {
            throw new IllegalStateException("connection is already compressed");
        }
        out.flush();
        transport = new dev.twine.core.internal.DeflateTransport(transport, in.takeBuffered(), level);
    }

    /** Whether {@link #startCompression} was called on this connection. */
    public boolean isCompressed() {
        return transport instanceof dev.twine.core.internal.DeflateTransport;
    }

    /** Whether the connection is encrypted (a {@code tls:} endpoint or after {@link #startTls}). */
    public boolean isSecure() {
        return transport.tlsSession() != null;
    }

    /** The TLS session, once encrypted. */
    public Optional<SSLSession> tlsSession() {
        return Optional.ofNullable(transport.tlsSession());
    }

    /**
     * The application protocol the TLS handshake agreed on by ALPN (RFC 7301), as configured with
     * {@link Tls.ServerBuilder#alpn(String...)} and {@link Tls.ClientBuilder#alpn(String...)}.
     *
     * @return the protocol name; empty before TLS, or when either side offered no ALPN
     */
    public Optional<String> applicationProtocol() {
        return Optional.ofNullable(transport.applicationProtocol());
    }

    /**
     * The peer's certificate chain, leaf first, as the TLS handshake verified it: on a server, the
     * client certificate asked for with {@link Tls.ServerBuilder#clientAuth}; on a client, the
     * server's.
     *
     * @return the chain; empty before TLS, or when the peer sent no certificate
     */
    public List<X509Certificate> peerCertificates() {
        SSLSession s = transport.tlsSession();
        if (s == null) {
            return List.of();
        }
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : s.getPeerCertificates()) {
                out.add((X509Certificate) c);
            }
            return List.copyOf(out);
        } catch (SSLPeerUnverifiedException none) {
            return List.of();
        }
    }

    /**
     * Sets how long each read may wait for input; zero means forever. Takes effect from the next
     * read.
     *
     * @throws IOException if the socket is closed
     */
    public void readTimeout(Duration timeout) throws IOException {
        requireNonNegative(timeout, "read timeout");
        readTimeout = timeout;
        transport.readTimeout(timeout);
    }

    /** The read timeout; zero means none. */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** Sets how long each write may block on a peer that does not read; zero means forever. */
    public void writeTimeout(Duration timeout) {
        requireNonNegative(timeout, "write timeout");
        writeTimeout = timeout;
        transport.writeTimeout(timeout);
    }

    /** The write timeout; zero means none. */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    /**
     * Records that the peer has authenticated (or, for a protocol without logins, has shown it is
     * a real client, as SMTP's first {@code MAIL} does). The connection leaves its server's
     * pre-authentication counts and the {@linkplain ConnectionLimits.Builder#preauthTimeout
     * pre-auth deadline} no longer applies. Idempotent; a connection not accepted by a server with
     * limits only remembers it.
     */
    public void markAuthenticated() {
        if (authenticated) {
            return;
        }
        authenticated = true;
        if (transport instanceof CarriedTransport carried) {
            carried.outer.markAuthenticated();
        }
        ConnectionLimits.Permit p = permit;
        if (p != null) {
            p.authenticated();
        }
        if (preauthDeadline != null) {
            preauthDeadline = null;
            applyDeadline();
        }
    }

    /**
     * The clock this connection's timeouts and deadlines are measured on: the system clock, or
     * the clock of an in-memory pair ({@link dev.twine.core.testing.MemoryConnections}).
     */
    public java.time.Clock clock() {
        return transport.clock();
    }

    /**
     * Blocks for {@code delay} on {@link #clock()}: a protocol's deliberate slowness towards a
     * peer that misbehaves (SMTP's tarpit after errors), which in-memory tests drive with their
     * manual clock instead of sleeping.
     *
     * @param delay how long; zero or negative returns at once
     * @throws InterruptedException if interrupted (the connection is being cancelled)
     */
    public void pause(java.time.Duration delay) throws InterruptedException {
        if (delay.isPositive()) {
            dev.twine.core.internal.Clocks.sleepUntil(clock(), clock().instant().plus(delay));
        }
    }

    /**
     * Sets a deadline, on {@link #clock()}, for every read from now on, beside the read timeout:
     * a read still waiting then throws {@link java.net.SocketTimeoutException}, as a read timeout
     * does, and so does every later read. For a protocol that reads its own framing and bounds a
     * whole phase (SMTP's message text at a minimum rate) the way {@link LineReader} bounds a
     * line. The pre-auth deadline and a line's deadline still apply; the earliest wins. Call it
     * on the reading thread.
     *
     * @param deadline when reads must be done, or null for no deadline of the handler's own
     */
    public void readDeadline(Instant deadline) {
        if (!java.util.Objects.equals(deadline, handlerDeadline)) {
            handlerDeadline = deadline;
            applyDeadline();
        }
    }

    /** Whether {@link #markAuthenticated()} was called. */
    public boolean isAuthenticated() {
        return authenticated;
    }

    /**
     * Whether the server is shutting down: a handler should finish the request at hand, say
     * goodbye in its protocol's words and return. A read that waits with nothing buffered then
     * throws {@link DrainingException}. The connection cannot tell a wait between requests from
     * one inside a request, so a request whose bytes stop arriving during the drain is ended too;
     * a protocol that must finish such a request checks {@code draining()} itself.
     */
    public boolean draining() {
        return draining;
    }

    /**
     * Flushes, then signals end of stream to the peer (TCP FIN; TLS close_notify); reading may go
     * on until the peer closes too.
     */
    public void shutdownOutput() throws IOException {
        out.flush();
        transport.shutdownOutput();
    }

    /**
     * Closes the connection at once, without flushing; blocked reads and writes end with an
     * exception. Idempotent and callable from any thread. A TLS connection sends close_notify
     * first (RFC 8446 §6.1), waiting at most a second (or the write timeout, if shorter) for a
     * peer that does not read; it is skipped when another thread is blocked writing or the calling
     * thread is interrupted (see {@link Tls}, "Ending a TLS connection").
     */
    @Override
    public void close() {
        if (CLOSED.compareAndSet(this, false, true)) {
            transport.close();
        }
    }

    /** Whether {@link #close()} was called or a write timeout closed the connection. */
    public boolean isClosed() {
        return closed || transport.isClosed();
    }

    @Override
    public String toString() {
        return service + "/conn-" + id + " " + peer();
    }

    // ---- used by Server and the codecs in this package ----

    InputBuffer in() {
        return in;
    }

    OutputBuffer out() {
        return out;
    }

    /** From the server: this connection's place in its limits, and the time it has to authenticate. */
    void admitted(ConnectionLimits.Permit permit, Duration preauthTimeout) {
        this.permit = permit;
        if (!preauthTimeout.isZero()) {
            preauthDeadline = transport.clock().instant().plus(preauthTimeout);
            applyDeadline();
        }
    }

    /** Whether a server admitted this connection (gave it its place in the limits). */
    boolean isAdmitted() {
        return permit != null;
    }

    /** Gives back this connection's place in its server's limits; once, when it ends. */
    void releasePermit() {
        ConnectionLimits.Permit p = permit;
        if (p != null) {
            p.close();
        }
    }

    /**
     * From {@link LineReader}, once a line has begun but is not complete: the rest must come
     * within the read timeout, however the bytes trickle in. Does nothing without a read timeout.
     */
    void beginLine() {
        if (!readTimeout.isZero() && lineDeadline == null) {
            lineDeadline = transport.clock().instant().plus(readTimeout);
            applyDeadline();
        }
    }

    /** From {@link LineReader}, when the line is complete (or reading it failed). */
    void endLine() {
        if (lineDeadline != null) {
            lineDeadline = null;
            applyDeadline();
        }
    }

    private void applyDeadline() {
        transport.readDeadline(earliest(earliest(preauthDeadline, lineDeadline), handlerDeadline));
    }

    private static Instant earliest(Instant a, Instant b) {
        return a == null ? b : b == null || a.isBefore(b) ? a : b;
    }

    void beginDrain() {
        draining = true;
        if (in.waitingForInput) {
            transport.shutdownInput();
        }
    }

    /** After the handler: close, then cancel and join the connection's children. */
    void end() {
        close();
        Scope s;
        SCOPE_LOCK.lock();
        try {
            s = scope;
        } finally {
            SCOPE_LOCK.unlock();
        }
        try {
            if (s != null) {
                s.cancel();
                s.close();
            }
        } finally {
            in.release(); // every reader has ended: the array can go back to the pool
        }
    }

    /** TLS from the first byte (a {@code tls:} endpoint): handshake now, nothing to discard. */
    void upgradeAccepted(Tls tls, Duration handshakeTimeout) throws IOException {
        upgrade(tls, host, handshakeTimeout, "tls");
    }

    void applyTimeouts(Duration read, Duration write) throws IOException {
        if (!read.isZero()) {
            readTimeout(read);
        }
        if (!write.isZero()) {
            writeTimeout(write);
        }
    }

    private static void requireNonNegative(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative: " + d);
        }
    }
}

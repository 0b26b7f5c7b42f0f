package dev.twine.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLSession;

/**
 * The byte pipe under a connection: a socket, a Unix domain channel, TLS over either, or an
 * in-memory pipe. Reads and writes block; at most one thread reads and one writes at a time.
 */
public interface Transport {
    /** How long {@link #close()} waits to send close_notify at most: a peer that reads gets it at once. */
    Duration CLOSE_NOTIFY_BOUND = Duration.ofSeconds(1);

    /**
     * Runs a TLS handshake over this transport (STARTTLS, or a {@code tls:} endpoint's first
     * bytes) and returns the encrypted transport that replaces it; this one must not be used
     * after. By default an {@link javax.net.ssl.SSLEngine} runs over this transport
     * ({@link EngineTransport}); a socket layers its own {@code SSLSocket}.
     *
     * @param host the name the peer's certificate is checked against (a client's), and SNI
     * @param handshakeTimeout bounds the handshake's reads
     * @throws IOException if the handshake fails; this transport is then closed
     * @throws UnsupportedOperationException if this transport cannot carry TLS
     */
    default Transport startTls(TlsLayer tls, String host, Duration readTimeout, Duration writeTimeout,
            Duration handshakeTimeout) throws IOException {
        int port = remoteAddress() instanceof java.net.InetSocketAddress a ? a.getPort() : -1;
        return EngineTransport.handshake(this, tls.engine(host, port), readTimeout, handshakeTimeout);
    }

    /**
     * Reads up to {@code len} bytes, blocking until at least one arrives.
     *
     * @return the count read, or -1 at end of stream (also after {@link #shutdownInput()})
     * @throws java.net.SocketTimeoutException when the read timeout passes with no byte
     */
    int read(byte[] b, int off, int len) throws IOException;

    /**
     * Whether a {@link #read} now would return without waiting (bytes are buffered here, or the
     * end of the stream or an error is known), or this transport cannot wait without a buffer:
     * only a transport that implements {@link #awaitReadable()} answers false. Does not block.
     */
    default boolean readyToRead() {
        return true;
    }

    /**
     * Waits until {@link #readyToRead()} holds, bounded by the read timeout and deadline as a read
     * is, with no array of the caller's held meanwhile: so an idle connection's reader can give
     * its buffer back before it waits. Returns at once on a transport that cannot wait so.
     *
     * @throws java.net.SocketTimeoutException when the read timeout passes, as {@link #read} does
     * @throws IOException if the transport is closed or broken meanwhile
     */
    default void awaitReadable() throws IOException {
    }

    /**
     * Writes all {@code len} bytes, blocking while the peer does not read.
     *
     * @throws java.net.SocketTimeoutException when the write timeout passes; the transport is
     *     then closed, as the stream position is lost
     */
    void write(byte[] b, int off, int len) throws IOException;

    /** Sets the read timeout; zero means none. */
    void readTimeout(Duration timeout) throws IOException;

    /** Sets the write timeout; zero means none. */
    void writeTimeout(Duration timeout);

    /**
     * Sets an absolute limit, on {@link #clock()}, for every read from now on: a read that would
     * wait past it throws {@link java.net.SocketTimeoutException} as a read timeout does (and the
     * input is shut down). Null removes it. It bounds a whole phase (the time before a peer
     * authenticates, the rest of a line once it has begun) where the read timeout bounds one wait.
     */
    void readDeadline(Instant deadline);

    /** The clock that {@link #readDeadline(Instant)} is read on. */
    default Clock clock() {
        return Clock.systemUTC();
    }

    /** The peer's address. */
    SocketAddress remoteAddress();

    /** This side's address. */
    SocketAddress localAddress();

    /** The TLS session, or null if this transport is not encrypted. */
    SSLSession tlsSession();

    /** The protocol ALPN chose (RFC 7301), or null if not encrypted or none was chosen. */
    default String applicationProtocol() {
        return null;
    }

    /**
     * Stops reading: a blocked or later read returns -1. Buffered bytes in the kernel are
     * discarded. Used to wake an idle reader when a server drains.
     */
    void shutdownInput();

    /** Sends end of stream to the peer; writing is no longer possible. */
    void shutdownOutput() throws IOException;

    /** Closes the transport at once, unblocking readers and writers; idempotent. */
    void close();

    /** Whether {@link #close()} was called or a timeout closed it. */
    boolean isClosed();
}

package dev.twine.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A TCP socket, plain or TLS. Both timeouts are enforced by {@link Timeouts} (the watchdog), not by
 * {@code SO_TIMEOUT}, which schedules a timer for every blocking read.
 */
public final class SocketTransport implements Transport, Timeouts.Actions {
    private final Socket raw;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Timeouts timeouts = new Timeouts(this);
    private volatile boolean closed;
    private volatile boolean aborted;
    /** Whether a handshake completed: only then is there a TLS session to end with close_notify. */
    private volatile boolean established;
    /** Whether a thread is in {@link #write}: {@link #close()} must not queue behind it. */
    private volatile boolean writing;
    private volatile Duration writeTimeout = Duration.ZERO;

    /** Takes over a connected socket. */
    public SocketTransport(Socket socket) throws IOException {
        this(socket, socket);
    }

    private SocketTransport(Socket raw, Socket socket) throws IOException {
        this.raw = raw;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /**
     * Layers an {@code SSLSocket} over this transport's socket and handshakes; this transport must
     * not be used after. The handshake alone is bounded by {@code SO_TIMEOUT}.
     */
    @Override
    public Transport startTls(TlsLayer tls, String host, Duration readTimeout, Duration writeTimeout, Duration handshakeTimeout)
            throws IOException {
        SSLSocket ssl = tls.layer(raw, host);
        raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, handshakeTimeout.toMillis()));
        SocketTransport t = new SocketTransport(raw, ssl);
        timeouts.stop();
        try {
            ssl.startHandshake();
        } catch (SocketTimeoutException e) {
            t.close();
            throw new SocketTimeoutException("TLS handshake timed out after " + handshakeTimeout);
        } catch (IOException e) {
            t.close();
            throw e;
        }
        raw.setSoTimeout(0);
        t.established = true;
        t.readTimeout(readTimeout);
        t.writeTimeout(writeTimeout);
        return t;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        timeouts.beginRead();
        int n = -1;
        IOException failure = null;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            failure = e;
        }
        return timeouts.endRead(n, failure);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        timeouts.beginWrite();
        IOException failure = null;
        writing = true;
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            failure = e;
        } finally {
            writing = false;
        }
        timeouts.endWrite(failure, "write");
    }

    @Override
    public void readTimeout(Duration timeout) {
        timeouts.read(timeout);
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
        timeouts.write(timeout);
    }

    @Override
    public void readDeadline(Instant deadline) {
        timeouts.deadline(deadline);
    }

    @Override
    public SocketAddress remoteAddress() {
        return raw.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress localAddress() {
        return raw.getLocalSocketAddress();
    }

    @Override
    public SSLSession tlsSession() {
        return socket instanceof SSLSocket s ? s.getSession() : null;
    }

    @Override
    public String applicationProtocol() {
        String p = socket instanceof SSLSocket s ? s.getApplicationProtocol() : null;
        return p == null || p.isEmpty() ? null : p;
    }

    @Override
    public void shutdownInput() {
        try {
            raw.shutdownInput();
        } catch (IOException ignored) {
            // already closed or not connected: a read ends anyway
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        if (socket instanceof SSLSocket s) {
            // sends close_notify, a write that a peer not reading could block: bound it too
            timeouts.beginWrite();
            IOException failure = null;
            try {
                s.shutdownOutput();
            } catch (IOException e) {
                failure = e;
            }
            timeouts.endWrite(failure, "close_notify");
        } else {
            raw.shutdownOutput();
        }
    }

    /**
     * Closes the socket; a TLS session still open is ended with close_notify first (RFC 8446
     * §6.1), so the peer can tell the end from a truncation. That send is skipped when another
     * thread is writing (the alert would queue behind it), when this thread is interrupted (a
     * cancellation), or after a write timed out, and it waits at most {@link #CLOSE_NOTIFY_BOUND}
     * (or the write timeout, if shorter) for a peer that does not read.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (socket instanceof SSLSocket s && established && !aborted && !writing && !s.isOutputShutdown()
                && !Thread.currentThread().isInterrupted()) {
            Duration bound = writeTimeout.isZero() || writeTimeout.compareTo(CLOSE_NOTIFY_BOUND) > 0
                    ? CLOSE_NOTIFY_BOUND : writeTimeout;
            timeouts.write(bound);
            try {
                shutdownOutput();
            } catch (IOException ignored) {
                // the peer is gone or not reading: closing is all that is left
            }
        }
        abort();
    }

    /**
     * Closes the raw socket at once, sending nothing: closing the TLS layer instead would write
     * close_notify, which can block forever on a peer that does not read.
     */
    @Override
    public void abort() {
        aborted = true;
        closed = true;
        timeouts.stop();
        try {
            raw.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }
}

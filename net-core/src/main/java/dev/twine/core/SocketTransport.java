package dev.twine.core;

import dev.twine.core.internal.Transport;
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
final class SocketTransport implements Transport, Timeouts.Actions {
    private final Socket raw;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final Timeouts timeouts = new Timeouts(this);
    private volatile boolean closed;

    SocketTransport(Socket socket) throws IOException {
        this(socket, socket);
    }

    private SocketTransport(Socket raw, Socket socket) throws IOException {
        this.raw = raw;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /**
     * Layers TLS over this transport's socket and handshakes; this transport must not be used
     * after. The handshake alone is bounded by {@code SO_TIMEOUT}.
     */
    SocketTransport startTls(Tls tls, String host, Duration readTimeout, Duration writeTimeout, Duration handshakeTimeout)
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
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            failure = e;
        }
        timeouts.endWrite(failure, "write");
    }

    @Override
    public void readTimeout(Duration timeout) {
        timeouts.read(timeout);
    }

    @Override
    public void writeTimeout(Duration timeout) {
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

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timeouts.stop();
        try {
            // close the raw socket, not the TLS layer: closing TLS writes close_notify, which can
            // block forever on a peer that does not read
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

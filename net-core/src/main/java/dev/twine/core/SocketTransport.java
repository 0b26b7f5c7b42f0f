package dev.twine.core;

import dev.twine.core.internal.Transport;
import dev.twine.core.internal.Watchdog;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A TCP socket, plain or TLS. Read timeouts use the socket's own {@code SO_TIMEOUT} (the
 * connection stays usable after one fires, so a handler can still answer); write timeouts use the
 * {@link Watchdog}, which closes the raw socket since a half-written stream cannot be resumed.
 */
final class SocketTransport implements Transport, Watchdog.Guard {
    private final Socket raw;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private volatile long writeDeadline;
    private volatile boolean writeTimedOut;
    private volatile boolean closed;
    private long writeTimeoutNanos;
    private Duration writeTimeout = Duration.ZERO;

    SocketTransport(Socket socket) throws IOException {
        this(socket, socket);
    }

    private SocketTransport(Socket raw, Socket socket) throws IOException {
        this.raw = raw;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Layers TLS over this transport's socket and handshakes; this transport must not be used after. */
    SocketTransport startTls(Tls tls, String host, Duration handshakeTimeout) throws IOException {
        int saved = raw.getSoTimeout();
        SSLSocket ssl = tls.layer(raw, host);
        raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, handshakeTimeout.toMillis()));
        SocketTransport t = new SocketTransport(raw, ssl);
        t.writeTimeout(writeTimeout);
        Watchdog.get().unregister(this);
        try {
            ssl.startHandshake();
        } catch (SocketTimeoutException e) {
            t.close();
            throw new SocketTimeoutException("TLS handshake timed out after " + handshakeTimeout);
        } catch (IOException e) {
            t.close();
            throw e;
        }
        raw.setSoTimeout(saved);
        return t;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (writeTimeoutNanos > 0) {
            writeDeadline = System.nanoTime() + writeTimeoutNanos | 1;
        }
        try {
            out.write(b, off, len);
        } catch (IOException e) {
            if (writeTimedOut) {
                throw new SocketTimeoutException("write timed out after " + writeTimeout + " (the peer is not reading)");
            }
            throw e;
        } finally {
            writeDeadline = 0;
        }
    }

    @Override
    public void readTimeout(Duration timeout) throws IOException {
        raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
        writeTimeoutNanos = timeout.toNanos();
        if (writeTimeoutNanos > 0 && !closed) {
            Watchdog.get().register(this);
        } else {
            Watchdog.get().unregister(this);
        }
    }

    @Override
    public long deadlineNanos() {
        return writeDeadline;
    }

    @Override
    public void expire() {
        writeTimedOut = true;
        close();
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
            if (writeTimeoutNanos > 0) {
                writeDeadline = System.nanoTime() + writeTimeoutNanos | 1;
            }
            try {
                s.shutdownOutput();
            } catch (IOException e) {
                if (writeTimedOut) {
                    throw new SocketTimeoutException("close_notify timed out after " + writeTimeout + " (the peer is not reading)");
                }
                throw e;
            } finally {
                writeDeadline = 0;
            }
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
        Watchdog.get().unregister(this);
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

package dev.twine.core.testing;

import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLSession;

/** One end of an in-memory connection: reads one pipe, writes the other. */
final class MemoryTransport implements Transport {
    private final Pipe in;
    private final Pipe out;
    private final SocketAddress local;
    private final SocketAddress remote;
    private volatile Duration readTimeout = Duration.ZERO;
    private volatile Duration writeTimeout = Duration.ZERO;
    private volatile boolean closed;
    private volatile boolean readTimedOut;
    private volatile Instant deadline;
    private volatile boolean deadlinePassed;

    MemoryTransport(Pipe in, Pipe out, SocketAddress local, SocketAddress remote) {
        this.in = in;
        this.out = out;
        this.local = local;
        this.remote = remote;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return readOrAwait(b, off, len);
    }

    @Override
    public boolean readyToRead() {
        return readTimedOut || in.readable();
    }

    /** As a readiness transport waits: so the connection's input buffer is given back while idle. */
    @Override
    public void awaitReadable() throws IOException {
        readOrAwait(null, 0, 0);
    }

    /** Reads into {@code b}, or with {@code b} null waits until a read would not block. */
    private int readOrAwait(byte[] b, int off, int len) throws IOException {
        if (readTimedOut) {
            throw timedOut();
        }
        Duration timeout = readTimeout;
        Instant d = deadline;
        if (d != null) {
            Duration left = Duration.between(in.clock().instant(), d);
            if (left.isNegative() || left.isZero()) {
                deadlinePassed = true;
                readTimedOut = true;
                in.shutdownRead();
                throw timedOut();
            }
            if (timeout.isZero() || left.compareTo(timeout) < 0) {
                timeout = left;
            }
        }
        try {
            if (b == null) {
                in.awaitReadable(timeout);
                return 0;
            }
            return in.read(b, off, len, timeout);
        } catch (java.net.SocketTimeoutException e) {
            // as over a socket: a read timeout shuts the input down, writing still works
            readTimedOut = true;
            deadlinePassed = d != null && !in.clock().instant().isBefore(d);
            in.shutdownRead();
            throw timedOut();
        }
    }

    private java.net.SocketTimeoutException timedOut() {
        return new java.net.SocketTimeoutException(deadlinePassed ? "read deadline passed" : "read timed out after " + readTimeout);
    }

    @Override
    public void readDeadline(Instant deadline) {
        this.deadline = deadline;
    }

    @Override
    public Clock clock() {
        return in.clock();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new java.net.SocketException("Socket closed");
        }
        try {
            out.write(b, off, len, writeTimeout);
        } catch (java.net.SocketTimeoutException e) {
            close(); // as a socket's write timeout does: the stream position is lost
            throw e;
        }
    }

    @Override
    public void readTimeout(Duration timeout) {
        readTimeout = timeout;
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
    }

    @Override
    public SocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public SocketAddress localAddress() {
        return local;
    }

    @Override
    public SSLSession tlsSession() {
        return null;
    }

    @Override
    public void shutdownInput() {
        in.shutdownRead();
    }

    @Override
    public void shutdownOutput() {
        out.closeWrite();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        out.closeWrite();
        in.closeRead();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }
}

package dev.twine.core;

import dev.twine.core.internal.LayeredTransport;
import dev.twine.core.internal.TlsLayer;
import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;

/**
 * The transport of a connection carried inside another ({@link Connection#carrying}): bytes
 * through the codec's streams, everything else (addresses, TLS, timeouts, the clock, closing) the
 * outer connection's, whose reads the codec's input makes.
 */
final class CarriedTransport implements LayeredTransport {
    final Connection outer;
    private final InputStream in;
    private final OutputStream out;

    CarriedTransport(Connection outer, InputStream in, OutputStream out) {
        this.outer = outer;
        this.in = in;
        this.out = out;
    }

    /** The outer connection's transport as it is now (its STARTTLS or compression replaces it). */
    @Override
    public Transport under() {
        return outer.transport;
    }

    @Override
    public Transport startTls(TlsLayer tls, String host, Duration readTimeout, Duration writeTimeout, Duration handshakeTimeout)
            throws IOException {
        throw new IOException("a carried connection has the TLS of the connection carrying it");
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    @Override
    public boolean readyToRead() {
        try {
            return in.available() > 0;
        } catch (IOException e) {
            return true; // the read says what is wrong
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        out.flush();
    }

    @Override
    public void shutdownOutput() throws IOException {
        out.close();
    }

    // timeouts, the deadline, the peer's address and closing go to the outer connection itself,
    // not its transport: so its own deadlines still combine, a PROXY header's address holds, and
    // it knows it is closed

    @Override
    public void readTimeout(Duration timeout) throws IOException {
        outer.readTimeout(timeout);
    }

    @Override
    public void writeTimeout(Duration timeout) {
        outer.writeTimeout(timeout);
    }

    @Override
    public void readDeadline(Instant deadline) {
        outer.readDeadline(deadline);
    }

    @Override
    public SocketAddress remoteAddress() {
        return outer.remoteAddress();
    }

    @Override
    public void close() {
        outer.close();
    }

    @Override
    public boolean isClosed() {
        return outer.isClosed();
    }
}

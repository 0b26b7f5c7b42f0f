package dev.twine.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketAddress;
import java.time.Duration;
import javax.net.ssl.SSLSession;

/** A read-only transport over a plain stream, so codecs can also read files and test input. */
public final class StreamTransport implements Transport {
    private final InputStream in;

    /** Reads {@code in}; writing and TLS are not possible. */
    public StreamTransport(InputStream in) {
        this.in = in;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("read-only stream");
    }

    /** A plain stream cannot carry TLS. */
    @Override
    public Transport startTls(TlsLayer tls, String host, Duration readTimeout, Duration writeTimeout, Duration handshakeTimeout) {
        throw new UnsupportedOperationException("STARTTLS needs a connection that can write");
    }

    @Override
    public void readTimeout(Duration timeout) {}

    @Override
    public void writeTimeout(Duration timeout) {}

    @Override
    public void readDeadline(java.time.Instant deadline) {}

    @Override
    public SocketAddress remoteAddress() {
        return null;
    }

    @Override
    public SocketAddress localAddress() {
        return null;
    }

    @Override
    public SSLSession tlsSession() {
        return null;
    }

    @Override
    public void shutdownInput() {}

    @Override
    public void shutdownOutput() {}

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public boolean isClosed() {
        return false;
    }
}

package dev.twine.core.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLSession;

/**
 * A blocking {@link SocketChannel}, used for Unix domain sockets; timeouts as for TCP
 * ({@link Timeouts}).
 */
public final class ChannelTransport implements Transport, Timeouts.Actions {
    private final SocketChannel channel;
    private final Timeouts timeouts = new Timeouts(this);
    private volatile boolean closed;

    /** Takes over a connected channel, in blocking mode. */
    public ChannelTransport(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(true);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        timeouts.beginRead();
        int n = -1;
        IOException failure = null;
        try {
            n = channel.read(ByteBuffer.wrap(b, off, len));
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
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
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
        return ChannelAddresses.remote(channel);
    }

    @Override
    public SocketAddress localAddress() {
        return ChannelAddresses.local(channel);
    }

    @Override
    public SSLSession tlsSession() {
        return null;
    }

    @Override
    public void shutdownInput() {
        try {
            channel.shutdownInput();
        } catch (IOException ignored) {
            // closed already: a read ends anyway
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timeouts.stop();
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    @Override
    public void abort() {
        close();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }
}

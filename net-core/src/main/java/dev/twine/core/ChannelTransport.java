package dev.twine.core;

import dev.twine.core.internal.Transport;
import dev.twine.core.internal.Watchdog;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import javax.net.ssl.SSLSession;

/**
 * A blocking {@link SocketChannel}, used for Unix domain sockets, where the JDK offers no
 * {@code SO_TIMEOUT}. Both timeouts use the {@link Watchdog}: an expired read shuts the input down
 * (the connection can still answer), an expired write closes the channel.
 */
final class ChannelTransport implements Transport, Watchdog.Guard {
    private final SocketChannel channel;
    private volatile long readDeadline;
    private volatile long writeDeadline;
    private volatile boolean readTimedOut;
    private volatile boolean writeTimedOut;
    private volatile boolean inputShut;
    private volatile boolean closed;
    private long readTimeoutNanos;
    private long writeTimeoutNanos;
    private Duration readTimeout = Duration.ZERO;
    private Duration writeTimeout = Duration.ZERO;

    ChannelTransport(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(true);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (readTimedOut) {
            throw new SocketTimeoutException("read timed out after " + readTimeout);
        }
        if (readTimeoutNanos > 0) {
            readDeadline = System.nanoTime() + readTimeoutNanos | 1;
        }
        try {
            int n = channel.read(ByteBuffer.wrap(b, off, len));
            if (n < 0 && readTimedOut) {
                throw new SocketTimeoutException("read timed out after " + readTimeout);
            }
            return n;
        } finally {
            readDeadline = 0;
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (writeTimeoutNanos > 0) {
            writeDeadline = System.nanoTime() + writeTimeoutNanos | 1;
        }
        try {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
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
    public void readTimeout(Duration timeout) {
        readTimeout = timeout;
        readTimeoutNanos = timeout.toNanos();
        watch();
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
        writeTimeoutNanos = timeout.toNanos();
        watch();
    }

    private void watch() {
        if ((readTimeoutNanos > 0 || writeTimeoutNanos > 0) && !closed) {
            Watchdog.get().register(this);
        } else {
            Watchdog.get().unregister(this);
        }
    }

    @Override
    public long deadlineNanos() {
        long r = readDeadline;
        long w = writeDeadline;
        if (r == 0) {
            return w;
        }
        return w == 0 || r - w < 0 ? r : w;
    }

    @Override
    public void expire() {
        long now = System.nanoTime();
        long w = writeDeadline;
        if (w != 0 && now - w >= 0) {
            writeTimedOut = true;
            close();
            return;
        }
        long r = readDeadline;
        if (r != 0 && now - r >= 0) {
            readTimedOut = true;
            shutdownInput();
        }
    }

    @Override
    public SocketAddress remoteAddress() {
        try {
            return channel.getRemoteAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public SocketAddress localAddress() {
        try {
            return channel.getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public SSLSession tlsSession() {
        return null;
    }

    @Override
    public void shutdownInput() {
        inputShut = true;
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
        Watchdog.get().unregister(this);
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }
}

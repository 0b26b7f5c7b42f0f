package dev.twine.core;

import dev.twine.core.internal.BufferPool;
import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A connection's write buffer, and the {@link OutputStream} handlers see. Nothing is sent until
 * {@link #flush()} or until the buffer is full. The array is borrowed from {@link BufferPool} on the
 * first write and given back (or, if it grew past {@value #INITIAL} bytes, given up) once a flush
 * has sent everything, so a connection waiting for its next request holds no array here. A write
 * at least as large as the buffer goes straight to the transport after what is buffered.
 */
final class OutputBuffer extends OutputStream {
    static final int INITIAL = BufferPool.SMALL;
    static final int MAX = 16 * 1024;

    /** The connection this buffer belongs to, whose current transport it uses; or null. */
    private final Connection conn;
    /** The transport when there is no connection (a plain stream), else null. */
    private final Transport fixed;
    byte[] buf;
    private int count;

    OutputBuffer(Connection conn, Transport fixed) {
        this.conn = conn;
        this.fixed = fixed;
    }

    /** The transport now: a connection's changes at STARTTLS. */
    private Transport transport() {
        return conn != null ? conn.transport : fixed;
    }

    @Override
    public void write(int b) throws IOException {
        if (buf == null) {
            buf = BufferPool.small().borrow(INITIAL);
        } else if (count == buf.length) {
            grow(1);
        }
        buf[count++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (buf == null) {
            if (len >= MAX) {
                send(b, off, len);
                return;
            }
            buf = BufferPool.small().borrow(Math.max(INITIAL, Integer.highestOneBit(len - 1) << 1));
        }
        if (count + len > buf.length) {
            if (count + len <= MAX) {
                grow(len);
            } else {
                flushBuffer();
                if (len >= buf.length) {
                    send(b, off, len);
                    return;
                }
            }
        }
        System.arraycopy(b, off, buf, count, len);
        count += len;
    }

    /**
     * Writes bytes that will be flushed right away: with nothing buffered they go straight to the
     * transport, saving a copy; otherwise they are buffered behind what is there.
     */
    void writeThrough(byte[] b, int off, int len) throws IOException {
        if (count == 0) {
            send(b, off, len);
        } else {
            write(b, off, len);
        }
    }

    private void grow(int extra) throws IOException {
        int want = count + extra;
        if (want > MAX) {
            flushBuffer();
            return;
        }
        int size = buf.length;
        while (size < want) {
            size *= 2;
        }
        byte[] old = buf;
        buf = java.util.Arrays.copyOf(old, Math.min(size, MAX));
        BufferPool.small().giveBack(old);
    }

    private void flushBuffer() throws IOException {
        if (count > 0) {
            int n = count;
            count = 0;
            send(buf, 0, n);
        }
    }

    /** Bytes written and not yet sent. */
    int buffered() {
        return count;
    }

    /**
     * Sends what is buffered, blocking until the transport took it (bounded by the write timeout),
     * then gives the array back: an idle connection holds none.
     */
    @Override
    public void flush() throws IOException {
        flushBuffer();
        release();
    }

    /** Gives the array back, if one is held and nothing is buffered in it. On the writing thread. */
    void release() {
        if (buf != null && count == 0) {
            BufferPool.small().giveBack(buf); // a grown array is not the pool's size: just dropped
            buf = null;
        }
    }

    /** Closes the whole connection without flushing, as closing a socket's stream does. */
    @Override
    public void close() {
        if (conn != null) {
            conn.close();
        }
    }

    private void send(byte[] b, int off, int len) throws IOException {
        transport().write(b, off, len);
        if (conn != null) {
            conn.sent(len);
        }
    }
}

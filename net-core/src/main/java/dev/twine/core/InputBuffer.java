package dev.twine.core;

import dev.twine.core.internal.BufferPool;
import dev.twine.core.internal.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * A connection's read buffer, and the {@link InputStream} handlers see.
 *
 * <p>Buffer strategy: an idle connection must not pin a large buffer, because tens of thousands of
 * them wait in {@code read()} at once. The array adapts like a TCP window: a read that fills it
 * doubles the next one (up to {@value #MAX_ADAPTIVE} bytes), two reads in a row that use less than
 * a quarter halve it (down to {@value #INITIAL} bytes), and a new size is only taken when the
 * buffer is empty, so nothing is copied. Only a line or frame longer than the array grows it past
 * that, up to the caller's limit.
 *
 * <p>On a transport that can wait for input without a buffer (the readiness transport, the
 * in-memory pipes), the array is borrowed from {@link BufferPool} only while bytes are there:
 * once everything buffered has been consumed and the transport has nothing ready, it is given back
 * before the read waits, and borrowed again when input arrives. A connection waiting for its next
 * request therefore holds no array at all; one waiting in the middle of a line or frame keeps its
 * partial bytes (they are never given back unread). Over a blocking transport the array is held
 * while the read blocks in it, as before.
 */
final class InputBuffer extends InputStream {
    static final int INITIAL = BufferPool.SMALL;
    static final int MAX_ADAPTIVE = 64 * 1024;

    /** The connection this buffer belongs to, whose current transport it uses; or null. */
    private final Connection conn;
    /** The transport when there is no connection (a plain stream), else null. */
    private final Transport fixed;
    /** The buffered bytes are {@code buf[pos..lim)}; null while nothing is held. */
    byte[] buf;
    int pos;
    int lim;
    private int nextSize = INITIAL;
    private int smallReads;
    private boolean eof;
    /** Set while a read waits with nothing buffered: the moment a draining server may wake it. */
    volatile boolean waitingForInput;

    InputBuffer(Connection conn, Transport fixed) {
        this.conn = conn;
        this.fixed = fixed;
    }

    /** The transport now: a connection's changes at STARTTLS. */
    private Transport transport() {
        return conn != null ? conn.transport : fixed;
    }

    /** The connection this buffer reads for, or null over a plain stream. */
    Connection connection() {
        return conn;
    }

    /** Takes the bytes buffered and not yet read, leaving none (they belong to a new layer: compression). */
    byte[] takeBuffered() {
        byte[] rest = buf == null ? new byte[0] : java.util.Arrays.copyOfRange(buf, pos, lim);
        discard();
        return rest;
    }

    /** Drops everything buffered (STARTTLS: plaintext sent before the handshake must not count). */
    void discard() {
        pos = lim = 0;
        release();
    }

    /** The length of the array held, or 0 when none is: for tests, from any thread. */
    int capacity() {
        byte[] b = buf;
        return b == null ? 0 : b.length;
    }

    /** Gives the array back, if one is held; only with nothing unread in it. On the reading thread. */
    void release() {
        if (buf != null) {
            BufferPool.small().giveBack(buf);
            buf = null;
        }
    }

    /**
     * Makes sure at least one byte is buffered.
     *
     * @return false at end of stream
     */
    boolean fill() throws IOException {
        if (pos < lim) {
            return true;
        }
        if (eof) {
            return false;
        }
        // an empty buffer: if the transport has nothing ready, give the array back and wait holding
        // none (here, not in a method of its own: one frame less on every parked stack); then hold
        // an array of the size the window asks for
        pos = lim = 0;
        Transport t = transport();
        if (buf == null || buf.length != nextSize || !t.readyToRead()) {
            release();
            if (!t.readyToRead()) {
                beginWait();
                try {
                    t.awaitReadable();
                } catch (IOException e) {
                    throw drained(e);
                } finally {
                    waitingForInput = false;
                }
            }
            buf = BufferPool.small().borrow(nextSize);
        }
        int n;
        try {
            n = readTransport(buf, 0, buf.length, true);
        } catch (IOException | RuntimeException e) {
            release(); // nothing is buffered: a closed or timed-out connection holds no array
            throw e;
        }
        if (n < 0) {
            eof = true;
            release();
            return false;
        }
        lim = n;
        adapt(n, buf.length);
        return true;
    }

    /**
     * Reads more bytes after those buffered, keeping the unconsumed ones contiguous: compacts, or
     * grows the array up to {@code maxBuffered} bytes of unconsumed data. With nothing buffered it
     * is {@link #fill()} (a codec calls it with a partial line or frame buffered).
     *
     * @return the count read, 0 if the buffer already holds {@code maxBuffered} bytes, -1 at end
     */
    int fillMore(int maxBuffered) throws IOException {
        if (eof) {
            return -1;
        }
        int pending = lim - pos;
        if (pending >= maxBuffered) {
            return 0;
        }
        if (pending == 0) {
            return fill() ? lim - pos : -1;
        }
        if (lim == buf.length) {
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, pending);
            } else {
                byte[] old = buf;
                buf = Arrays.copyOf(old, Math.max(INITIAL, Math.min(Math.max(old.length * 2, 64), maxBuffered)));
                BufferPool.small().giveBack(old);
            }
            pos = 0;
            lim = pending;
        }
        int n = readTransport(buf, lim, Math.min(buf.length - lim, maxBuffered - pending), false);
        if (n < 0) {
            eof = true;
            return -1;
        }
        lim += n;
        return n;
    }

    private void adapt(int n, int capacity) {
        if (n == capacity) {
            nextSize = Math.min(capacity * 2, MAX_ADAPTIVE);
            smallReads = 0;
        } else if (n < capacity / 4 && capacity > INITIAL) {
            if (++smallReads >= 2) {
                nextSize = Math.max(capacity / 2, INITIAL);
                smallReads = 0;
            }
        } else {
            smallReads = 0;
        }
    }

    /**
     * Before a wait with nothing buffered: marks it, so a draining server may wake it, or throws
     * {@link DrainingException} if the server drains already.
     */
    private void beginWait() throws DrainingException {
        waitingForInput = true;
        if (conn != null && conn.draining()) {
            waitingForInput = false;
            throw new DrainingException();
        }
    }

    /** What a wait with nothing buffered that failed with {@code e} throws. */
    private IOException drained(IOException e) {
        // a drain shuts the input down under TLS too, where the TLS layer reports it as an
        // error rather than end of stream
        if (conn != null && conn.draining() && !(e instanceof java.net.SocketTimeoutException)) {
            DrainingException d = new DrainingException();
            d.initCause(e);
            return d;
        }
        return e;
    }

    /** Reads from the transport. */
    private int readTransport(byte[] b, int off, int len, boolean empty) throws IOException {
        Transport t = transport();
        if (empty) {
            beginWait();
        }
        int n;
        try {
            n = t.read(b, off, len);
            if (n > 0 && conn != null) {
                conn.received(n);
            }
        } catch (IOException e) {
            throw empty ? drained(e) : e;
        } finally {
            waitingForInput = false;
        }
        if (n < 0 && empty && conn != null && conn.draining()) {
            throw new DrainingException();
        }
        return n;
    }

    @Override
    public int read() throws IOException {
        if (!fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (pos == lim && !eof && len >= nextSize) {
            // a large read with nothing buffered goes straight into the caller's array
            if (buf != null && !transport().readyToRead()) {
                release(); // it waits in the caller's array: hold none of our own meanwhile
            }
            int n = readTransport(b, off, len, true);
            if (n < 0) {
                eof = true;
                release();
            }
            return n;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
    }

    /**
     * Copies everything up to end of stream into {@code out} straight from this buffer, with no
     * array of its own, and flushes {@code out} whenever it would otherwise wait for input, so a
     * relay (an echo, a proxy) never holds data back and an idle relay pins no extra buffer.
     */
    @Override
    public long transferTo(java.io.OutputStream out) throws IOException {
        long total = 0;
        while (true) {
            if (pos == lim && out != null) {
                out.flush();
            }
            if (!fill()) {
                return total;
            }
            int n = lim - pos;
            if (out instanceof OutputBuffer ob) {
                ob.writeThrough(buf, pos, n);
            } else {
                out.write(buf, pos, n);
            }
            pos = lim;
            total += n;
        }
    }

    @Override
    public long skip(long n) throws IOException {
        if (n <= 0 || !fill()) {
            return 0;
        }
        int k = (int) Math.min(n, lim - pos);
        pos += k;
        return k;
    }

    /** Bytes buffered in Twine; what the kernel holds is not counted, as reading it could block. */
    @Override
    public int available() {
        return lim - pos;
    }

    /** Closes the whole connection, as closing a socket's stream does. */
    @Override
    public void close() {
        if (conn != null) {
            conn.close();
        }
    }
}

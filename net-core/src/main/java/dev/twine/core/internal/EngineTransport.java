package dev.twine.core.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * TLS over any other transport with an {@link SSLEngine}: what STARTTLS uses where there is no
 * socket to layer an {@code SSLSocket} on (in-memory test connections, Unix domain sockets). One
 * thread may read while another writes, as the engine allows wrap and unwrap to run at once; a
 * reader that must answer the peer (a TLS 1.3 key update) writes under the writers' lock.
 *
 * <p>The engine's buffers (a record each, about 16 KiB) are borrowed from {@link BufferPool} only
 * while there is work: the record buffers for reading are given back before the reader waits on
 * the transport under with nothing in them (a record half received stays), and the one for
 * writing after each write. An idle TLS connection therefore holds none. Over a transport that
 * cannot wait without reading (a blocking socket) the reader keeps them while it blocks.
 */
public final class EngineTransport implements LayeredTransport {
    private final Transport under;
    private final SSLEngine engine;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Encrypted bytes read from {@code under}, not yet unwrapped; kept in read mode; null when empty and given back. */
    private ByteBuffer netIn;
    /** Decrypted bytes not yet returned by {@link #read}; kept in read mode; null when empty and given back. */
    private ByteBuffer appIn;
    /** Encrypted bytes to write, while a write runs; guarded by the write lock. */
    private ByteBuffer netOut;
    private volatile boolean closed;
    private boolean inputDone;
    /** Set once the first handshake is over: later NEED_WRAP states are the reader's to answer. */
    private volatile boolean established;
    private volatile Duration writeTimeout = Duration.ZERO;

    private EngineTransport(Transport under, SSLEngine engine) {
        this.under = under;
        this.engine = engine;
        holdReadBuffers();
    }

    /** On the reading thread: makes sure both read buffers are held (borrowed empty if not). */
    private void holdReadBuffers() {
        SSLSession s = engine.getSession();
        if (netIn == null) {
            netIn = ByteBuffer.wrap(BufferPool.tls().borrow(s.getPacketBufferSize())).limit(0);
        }
        if (appIn == null) {
            appIn = ByteBuffer.wrap(BufferPool.tls().borrow(s.getApplicationBufferSize())).limit(0);
        }
    }

    /** On the reading thread: gives back the read buffers that hold nothing; a partial record stays. */
    private void releaseEmptyReadBuffers() {
        if (netIn != null && !netIn.hasRemaining()) {
            BufferPool.tls().giveBack(netIn.array());
            netIn = null;
        }
        if (appIn != null && !appIn.hasRemaining()) {
            BufferPool.tls().giveBack(appIn.array());
            appIn = null;
        }
    }

    /**
     * Runs the handshake over {@code under} and returns the encrypted transport; on failure
     * {@code under} is closed. The handshake's reads are bounded by {@code handshakeTimeout}.
     */
    public static EngineTransport handshake(Transport under, SSLEngine engine, Duration readTimeout, Duration handshakeTimeout)
            throws IOException {
        EngineTransport t = new EngineTransport(under, engine);
        try {
            under.readTimeout(handshakeTimeout);
            engine.beginHandshake();
            t.completeHandshake();
            t.established = true;
            under.readTimeout(readTimeout);
            t.releaseEmptyReadBuffers(); // idle until the first record
            return t;
        } catch (SocketTimeoutException e) {
            under.close();
            throw new SocketTimeoutException("TLS handshake timed out after " + handshakeTimeout);
        } catch (SSLException e) {
            t.sendAlert();
            under.close();
            throw e;
        } catch (IOException | RuntimeException e) {
            under.close();
            throw e;
        }
    }

    /**
     * After a failed handshake, sends the fatal alert the engine has queued (RFC 8446 §6.2), so the
     * peer learns why (a certificate refused, no common ALPN protocol) as from an {@code SSLSocket},
     * rather than seeing the connection just end. Best effort, and bounded: a few records at most.
     */
    private void sendAlert() {
        try {
            for (int i = 0; i < 4 && !engine.isOutboundDone(); i++) {
                wrapAndSend(ByteBuffer.allocate(0));
            }
        } catch (IOException | RuntimeException ignored) {
            // the peer is gone, or the engine has nothing to say: closing is all that is left
        }
    }

    private void completeHandshake() throws IOException {
        while (true) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NEED_WRAP -> wrapAndSend(ByteBuffer.allocate(0));
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (unwrapOnce() < 0) {
                        throw new EOFException("the peer closed the connection during the TLS handshake");
                    }
                }
                case NEED_TASK -> runTasks();
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
            }
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /**
     * Unwraps one record into {@link #appIn}, reading from {@code under} as needed. Returns the
     * count of application bytes produced (possibly 0 for a handshake record), or -1 at the end of
     * the stream (close_notify or EOF).
     */
    private int unwrapOnce() throws IOException {
        holdReadBuffers();
        while (true) {
            appIn.compact();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } finally {
                appIn.flip();
            }
            switch (r.getStatus()) {
                case OK -> {
                    if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
                        runTasks();
                    }
                    if (established && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP) {
                        answerPeer(); // a post-handshake message that needs an answer (TLS 1.3 KeyUpdate)
                    }
                    return r.bytesProduced();
                }
                case BUFFER_UNDERFLOW -> {
                    if (fillNetIn() < 0) {
                        return -1;
                    }
                }
                case BUFFER_OVERFLOW -> {
                    if (appIn.hasRemaining()) {
                        return 0; // the reader drains what is there first
                    }
                    // the session's buffer sizes may grow after the handshake
                    BufferPool.tls().giveBack(appIn.array());
                    appIn = ByteBuffer.allocate(Math.max(2 * appIn.capacity(),
                            engine.getSession().getApplicationBufferSize())).limit(0);
                }
                case CLOSED -> {
                    return -1;
                }
            }
        }
    }

    private void answerPeer() throws IOException {
        writeLock.lock();
        try {
            while (engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP && !engine.isOutboundDone()) {
                wrapAndSend(ByteBuffer.allocate(0));
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Reads more encrypted bytes from {@code under} after those kept; -1 at its end. When it would
     * wait, it first gives back the buffers that hold nothing.
     */
    private int fillNetIn() throws IOException {
        if (!under.readyToRead()) {
            releaseEmptyReadBuffers();
            under.awaitReadable();
            holdReadBuffers();
        }
        netIn.compact();
        try {
            if (!netIn.hasRemaining()) {
                int size = engine.getSession().getPacketBufferSize();
                if (netIn.capacity() >= size) {
                    throw new SSLException("TLS record larger than " + size + " bytes");
                }
                ByteBuffer old = netIn;
                netIn = ByteBuffer.allocate(size).put(old.flip());
                BufferPool.tls().giveBack(old.array());
            }
            int n = under.read(netIn.array(), netIn.position(), netIn.remaining());
            if (n > 0) {
                netIn.position(netIn.position() + n);
            }
            return n;
        } finally {
            netIn.flip();
        }
    }

    /**
     * Wraps {@code src} (all of it) and writes the records; the caller holds the write lock or is
     * the handshake. The record buffer is borrowed for this call only.
     */
    private void wrapAndSend(ByteBuffer src) throws IOException {
        netOut = ByteBuffer.wrap(BufferPool.tls().borrow(engine.getSession().getPacketBufferSize()));
        try {
            wrapAndSendAll(src);
        } finally {
            BufferPool.tls().giveBack(netOut.array());
            netOut = null;
        }
    }

    private void wrapAndSendAll(ByteBuffer src) throws IOException {
        while (true) {
            netOut.clear();
            SSLEngineResult r = engine.wrap(src, netOut);
            switch (r.getStatus()) {
                case BUFFER_OVERFLOW -> {
                    BufferPool.tls().giveBack(netOut.array());
                    netOut = ByteBuffer.allocate(netOut.capacity() * 2);
                    continue;
                }
                case BUFFER_UNDERFLOW -> throw new SSLException("unexpected TLS wrap underflow");
                case CLOSED -> {
                    if (r.bytesProduced() == 0) {
                        throw new SSLException("TLS output is closed");
                    }
                }
                case OK -> { }
            }
            netOut.flip();
            if (netOut.hasRemaining()) {
                under.write(netOut.array(), netOut.position(), netOut.remaining());
            }
            if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
                runTasks();
            }
            if (!src.hasRemaining()) {
                return;
            }
        }
    }

    @Override
    public Transport under() {
        return under;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        awaitReadable();
        if (appIn == null || !appIn.hasRemaining()) {
            return -1;
        }
        int n = Math.min(len, appIn.remaining());
        appIn.get(b, off, n);
        return n;
    }

    /** Whether decrypted bytes (or the end) are there; a record still to unwrap does not count. */
    @Override
    public boolean readyToRead() {
        return inputDone || appIn != null && appIn.hasRemaining();
    }

    /**
     * Unwraps records until there are decrypted bytes or the end: what waits for the peer is the
     * transport under, with this transport's empty buffers given back meanwhile.
     */
    @Override
    public void awaitReadable() throws IOException {
        while (!readyToRead()) {
            if (unwrapOnce() < 0) {
                inputDone = true;
                releaseEmptyReadBuffers();
            }
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        writeLock.lock();
        try {
            wrapAndSend(ByteBuffer.wrap(b, off, len));
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
        under.writeTimeout(timeout);
    }

    @Override
    public SSLSession tlsSession() {
        return engine.getSession();
    }

    @Override
    public String applicationProtocol() {
        String p = engine.getApplicationProtocol();
        return p == null || p.isEmpty() ? null : p;
    }

    @Override
    public void shutdownOutput() throws IOException {
        writeLock.lock();
        try {
            engine.closeOutbound();
            while (!engine.isOutboundDone()) {
                wrapAndSend(ByteBuffer.allocate(0)); // close_notify (RFC 8446 §6.1)
            }
        } finally {
            writeLock.unlock();
        }
        under.shutdownOutput();
    }

    /**
     * Closes the transport under, ending the TLS session with close_notify first (RFC 8446 §6.1)
     * as {@link SocketTransport#close()} does, and skipped in the same cases: another thread is
     * writing, this thread is interrupted, or the transport under is closed already. The send is
     * bounded like a socket's, by shortening the write timeout of the transport under.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (established && !engine.isOutboundDone() && !under.isClosed() && !Thread.currentThread().isInterrupted()
                && writeLock.tryLock()) {
            try {
                Duration w = writeTimeout;
                Duration bound = CLOSE_NOTIFY_BOUND;
                under.writeTimeout(w.isZero() || w.compareTo(bound) > 0 ? bound : w);
                engine.closeOutbound();
                while (!engine.isOutboundDone()) {
                    wrapAndSend(ByteBuffer.allocate(0));
                }
            } catch (IOException | RuntimeException ignored) {
                // the peer is gone or not reading: closing is all that is left
            } finally {
                writeLock.unlock();
            }
        }
        under.close();
    }

    @Override
    public boolean isClosed() {
        return closed || under.isClosed();
    }
}

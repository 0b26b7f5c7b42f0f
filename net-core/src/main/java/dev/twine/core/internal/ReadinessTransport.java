package dev.twine.core.internal;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLSession;

/**
 * A TCP connection on Twine's own readiness loop: a non-blocking {@link SocketChannel} registered
 * once with a {@link Poller}. The connection's virtual thread never makes a read that would block:
 * when nothing is buffered it parks at once, and the poller, which reads whatever the kernel holds
 * (see {@link Poller}, "Who reads"), puts the bytes into the waiting reader's own array and unparks
 * it. Writes are non-blocking; only a write the kernel cannot take whole waits, with interest in
 * writability set for that wait alone.
 *
 * <p>Timeouts behave as on the socket transport: when a read times out the input is shut down (the
 * read and every later one throw {@link SocketTimeoutException}, writing still works); when a write
 * times out the transport is closed. They are armed only while a thread is parked, on the poller's
 * coarse clock. {@link #close()} from any thread wakes a parked reader and writer, which then throw
 * {@link SocketException}. A thread interrupted while parked closes the transport and throws
 * {@link SocketException} with its interrupt status kept, as a blocking socket does.
 *
 * <p>Idle, a transport holds no buffer: bytes that arrive while no reader waits (or while its
 * reader waits in {@link #awaitReadable()}, holding no array) go into a spill array borrowed from
 * {@link BufferPool} and given back once read, and at most {@value #SPILL_MAX} bytes are held before the
 * poller stops reading this channel until the reader catches up.
 */
public final class ReadinessTransport implements Transport {
    static final int SPILL_MAX = 64 * 1024;
    private static final VarHandle QUEUED;
    private static final VarHandle READ_DEADLINE;
    private static final VarHandle WRITE_DEADLINE;
    private static final VarHandle RECONCILE_QUEUED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            QUEUED = l.findVarHandle(ReadinessTransport.class, "queued", int.class);
            READ_DEADLINE = l.findVarHandle(ReadinessTransport.class, "readDeadline", long.class);
            WRITE_DEADLINE = l.findVarHandle(ReadinessTransport.class, "writeDeadline", long.class);
            RECONCILE_QUEUED = l.findVarHandle(ReadinessTransport.class, "reconcileQueued", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final SocketChannel channel;
    private final Poller poller;
    private final Clock clock;

    // ---- the selector's side: touched by the poller's thread only (see reconcile) ----
    /** The registration, made by the poller; null until then. */
    private SelectionKey key;
    private boolean channelClosed;

    /**
     * Guards the read side below; held around no blocking call. A lock, not this object's monitor:
     * the poller and the reader take it for every read, and JDK 25.0.3 and earlier can leave a
     * virtual thread that blocked entering a contended monitor parked for good (JDK-8373120,
     * fixed in 25.0.4); a stuck poller would stall every connection it serves.
     */
    private final ReentrantLock lock = new ReentrantLock();

    // ---- the read side, guarded by lock ----
    private Thread reader;
    private byte[] target;
    private int targetOff;
    private int targetLen;
    private int delivered;
    private byte[] spill;
    private int spillPos;
    private int spillLim;
    private boolean eof;
    private IOException readFailure;
    private boolean readPaused;

    // ---- shared between the connection's threads and the poller ----
    private volatile Thread writer;
    private volatile boolean writeReady;
    private volatile boolean inputShut;
    private volatile boolean closed;
    private volatile boolean readTimedOut;
    private volatile boolean deadlinePassed;
    /** The deadline of the read wait the poller ended, matched against the waiting read's own. */
    private volatile long readExpiredAt;
    private volatile boolean writeExpired;
    private volatile long readTimeoutNanos;
    private volatile long writeTimeoutNanos;
    /** The absolute read deadline on the poller's time source, or 0. */
    private volatile long absoluteDeadline;
    /** The deadline of the parked read, or 0: the poller's wheel reads it (and CASes it to 0 to fire). */
    private volatile long readDeadline;
    /** The deadline of the parked write, or 0. */
    private volatile long writeDeadline;
    /** 1 while this transport is in its poller's wheel (or on its way there). */
    private volatile int queued;
    /** 1 while this transport waits in its poller's queue to have its registration brought up to date. */
    private volatile int reconcileQueued;
    private volatile Duration readTimeout = Duration.ZERO;
    private volatile Duration writeTimeout = Duration.ZERO;

    /**
     * Takes over {@code channel} (connected; it is made non-blocking) and has {@code poller}
     * register it. Deadlines given to {@link #readDeadline(Instant)} are on {@code clock}, which
     * must agree with the poller's time source.
     *
     * <p>Every operation on the selector (registering, changing interest, cancelling the key and
     * closing the registered channel) is made by the poller's own thread, asked for through
     * {@link #reconcileLater()}: the JDK's selector guards each with a small monitor of its own,
     * and thousands of connection threads closing at once made those monitors contended enough
     * that, on JDK 25.0.3 and earlier, virtual threads stayed stuck entering one of them for good
     * (JDK-8373120, fixed in 25.0.4: 441 connection threads were found BLOCKED in
     * {@code SelectorImpl.cancel}, and the server's shutdown waited for them forever).
     *
     * @throws IOException if the channel cannot be made non-blocking; it is closed
     */
    public ReadinessTransport(SocketChannel channel, Poller poller, Clock clock) throws IOException {
        this.channel = channel;
        this.poller = poller;
        this.clock = clock;
        try {
            channel.configureBlocking(false);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        reconcileLater();
    }

    /** On a shared poller and the system clock. */
    public ReadinessTransport(SocketChannel channel) throws IOException {
        this(channel, Poller.next(), Clock.systemUTC());
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        return await(b, off, len);
    }

    /**
     * Waits holding no array: the poller keeps what arrives meanwhile in the spill, which is
     * borrowed from {@link BufferPool} and given back once read.
     */
    @Override
    public void awaitReadable() throws IOException {
        await(null, 0, 0);
    }

    @Override
    public boolean readyToRead() {
        lock.lock();
        try {
            return ready();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: whether a read would return (or throw) without waiting. */
    private boolean ready() {
        return delivered != 0 || spill != null || eof || inputShut || closed || readFailure != null;
    }

    /**
     * A read into {@code b}, or with {@code b} null a wait until one would not block (returning 0
     * then, consuming nothing).
     */
    private int await(byte[] b, int off, int len) throws IOException {
        if (readTimedOut) {
            throw readTimeoutException();
        }
        long abs = absoluteDeadline;
        if (abs != 0 && poller.exactNow() - abs >= 0) {
            deadlinePassed = true;
            timedOutReading();
            throw readTimeoutException();
        }
        Thread me = Thread.currentThread();
        lock.lock();
        try {
            if (b == null) {
                if (ready()) {
                    return 0;
                }
            } else {
                int n = takeBuffered(b, off, len);
                if (n != 0) {
                    return n;
                }
            }
            reader = me;
            target = b;
            targetOff = off;
            targetLen = len;
            delivered = 0;
        } finally {
            lock.unlock();
        }
        long timeout = readTimeoutNanos;
        long d = timeout > 0 ? poller.deadlineAfter(timeout) : 0;
        if (abs != 0 && (d == 0 || abs - d < 0)) {
            d = abs;
        }
        try {
            if (d != 0) {
                readDeadline = d;
                watch();
            }
            while (true) {
                boolean expired;
                boolean interrupted;
                lock.lock();
                try {
                    // the target is given up under the same lock the poller fills it under
                    if (ready()) {
                        reader = null;
                        target = null;
                        return b == null ? 0 : takeBuffered(b, off, len);
                    }
                    expired = d != 0 && readExpiredAt == d;
                    interrupted = me.isInterrupted();
                    if (expired || interrupted) {
                        reader = null;
                        target = null;
                    }
                } finally {
                    lock.unlock();
                }
                if (expired) {
                    deadlinePassed = d == abs;
                    timedOutReading();
                    throw readTimeoutException();
                }
                if (interrupted) {
                    close();
                    throw new SocketException("closed by interrupt");
                }
                LockSupport.park(this);
            }
        } finally {
            readDeadline = 0;
            lock.lock();
            try {
                if (reader == me) {
                    reader = null;
                    target = null;
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * What a read can return without waiting, under the lock: bytes the poller delivered, then
     * spilled bytes, then -1 at end of stream; 0 when it must wait.
     */
    private int takeBuffered(byte[] b, int off, int len) throws IOException {
        if (delivered != 0) {
            int n = delivered;
            delivered = 0;
            return n;
        }
        if (spill != null) {
            int n = Math.min(len, spillLim - spillPos);
            System.arraycopy(spill, spillPos, b, off, n);
            spillPos += n;
            if (spillPos == spillLim) {
                dropSpill(); // an idle connection holds no buffer
                if (readPaused && !eof && !inputShut && !closed) {
                    readPaused = false;
                    reconcileLater(); // reading again
                }
            }
            return n;
        }
        if (closed) {
            throw new SocketException("connection closed");
        }
        if (eof || inputShut) {
            return -1;
        }
        if (readFailure != null) {
            IOException e = readFailure;
            readFailure = null;
            eof = true;
            throw e;
        }
        return 0;
    }

    /** On the poller: the channel has bytes (or end of stream, or an error) for this transport. */
    void readable(SelectionKey k, ByteBuffer scratch) {
        Thread wake;
        lock.lock();
        try {
            wake = readOnPoller(k, scratch);
        } finally {
            lock.unlock();
        }
        if (wake != null) {
            LockSupport.unpark(wake);
        }
    }

    /** Reads what the kernel holds, under the lock; returns the reader to wake, or null. */
    private Thread readOnPoller(SelectionKey k, ByteBuffer scratch) {
        if (closed || inputShut) {
            interest(k, SelectionKey.OP_READ, false);
            return null;
        }
        int want = SPILL_MAX - (spill == null ? 0 : spillLim - spillPos);
        boolean waiting = reader != null && target != null && delivered == 0;
        if (waiting) {
            want += targetLen;
        }
        if (want <= 0) {
            // the reader is behind: stop reading until it has taken the spill (takeBuffered resumes)
            readPaused = true;
            interest(k, SelectionKey.OP_READ, false);
            return null;
        }
        scratch.clear().limit(Math.min(scratch.capacity(), want));
        int n;
        try {
            n = channel.read(scratch);
        } catch (IOException e) {
            readFailure = e;
            interest(k, SelectionKey.OP_READ, false);
            return reader;
        }
        if (n < 0) {
            // end of stream stays readable on a level-triggered selector: stop asking
            eof = true;
            interest(k, SelectionKey.OP_READ, false);
            return reader;
        }
        if (n == 0) {
            return null;
        }
        scratch.flip();
        if (waiting) {
            int direct = Math.min(n, targetLen);
            scratch.get(target, targetOff, direct);
            delivered = direct;
        }
        if (scratch.hasRemaining()) {
            spillIn(scratch);
        }
        return reader;
    }

    /** Adds or removes {@code op} from the key's interest; a key cancelled by a close is left alone. */
    private static void interest(SelectionKey k, int op, boolean on) {
        try {
            if (on) {
                k.interestOpsOr(op);
            } else {
                k.interestOpsAnd(~op);
            }
        } catch (java.nio.channels.CancelledKeyException closedMeanwhile) {
            // the transport was closed: nothing to wait for any more
        }
    }

    private void spillIn(ByteBuffer src) {
        int n = src.remaining();
        if (spill == null) {
            // a miss allocates what the read brought, not a whole pool array: with a thousand
            // connections spilling in one round the pool runs dry, and 512-byte arrays per round
            // trip were most of the loop's allocation (more young collections, stack chunks
            // promoted sooner)
            spill = BufferPool.small().borrowOrFit(n);
            spillPos = spillLim = 0;
        } else if (spillLim + n > spill.length) {
            int pending = spillLim - spillPos;
            byte[] grown = pending + n > spill.length ? new byte[Math.max(pending + n, 2 * spill.length)] : spill;
            System.arraycopy(spill, spillPos, grown, 0, pending);
            if (grown != spill) {
                BufferPool.small().giveBack(spill);
            }
            spill = grown;
            spillPos = 0;
            spillLim = pending;
        }
        src.get(spill, spillLim, n);
        spillLim += n;
    }

    /** Under the lock: gives the spill back to the pool. */
    private void dropSpill() {
        BufferPool.small().giveBack(spill);
        spill = null;
    }

    private void timedOutReading() {
        readTimedOut = true;
        shutdownInput();
    }

    private SocketTimeoutException readTimeoutException() {
        return deadlinePassed ? new SocketTimeoutException("read deadline passed")
                : new SocketTimeoutException("read timed out after " + readTimeout);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (true) {
            if (closed) {
                throw writeExpired ? writeTimeoutException("write") : new SocketException("connection closed");
            }
            try {
                channel.write(buf);
            } catch (IOException e) {
                if (writeExpired) {
                    throw writeTimeoutException("write");
                }
                throw e;
            }
            if (!buf.hasRemaining()) {
                return;
            }
            awaitWritable();
        }
    }

    /** Parks until the poller sees the channel writable, bounded by the write timeout. */
    private void awaitWritable() throws IOException {
        Thread me = Thread.currentThread();
        writeReady = false;
        writer = me;
        long timeout = writeTimeoutNanos;
        try {
            if (timeout > 0) {
                writeDeadline = poller.deadlineAfter(timeout);
                watch();
            }
            reconcileLater(); // interest in writability, for this wait
            while (!writeReady) {
                if (writeExpired) {
                    throw writeTimeoutException("write");
                }
                if (closed) {
                    throw new SocketException("connection closed");
                }
                if (me.isInterrupted()) {
                    close();
                    throw new SocketException("closed by interrupt");
                }
                LockSupport.park(this);
            }
        } finally {
            writeDeadline = 0;
            writer = null;
        }
    }

    /** On the poller: the channel can take bytes again. */
    void writable(SelectionKey k) {
        interest(k, SelectionKey.OP_WRITE, false);
        writeReady = true;
        Thread w = writer;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    private SocketTimeoutException writeTimeoutException(String what) {
        return new SocketTimeoutException(what + " timed out after " + writeTimeout + " (the peer is not reading)");
    }

    // ---- timeouts: the poller's wheel ----

    private void watch() {
        if (QUEUED.compareAndSet(this, 0, 1)) {
            poller.watch(this);
        }
    }

    /** The earliest deadline of a parked read or write, or 0 when neither waits with one. */
    long waitDeadline() {
        long r = readDeadline;
        long w = writeDeadline;
        if (r == 0) {
            return w;
        }
        return w == 0 || r - w < 0 ? r : w;
    }

    void unqueue() {
        queued = 0;
    }

    boolean requeue() {
        return QUEUED.compareAndSet(this, 0, 1);
    }

    /** On the poller: ends the waits whose deadline passed by {@code now}. */
    void expire(long now) {
        long w = writeDeadline;
        if (w != 0 && now - w >= 0 && WRITE_DEADLINE.compareAndSet(this, w, 0L)) {
            writeExpired = true;
            abort();
        }
        long r = readDeadline;
        if (r != 0 && now - r >= 0 && READ_DEADLINE.compareAndSet(this, r, 0L)) {
            readExpiredAt = r;
            Thread t;
            lock.lock();
            try {
                t = reader;
            } finally {
                lock.unlock();
            }
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public void readTimeout(Duration timeout) {
        readTimeout = timeout;
        readTimeoutNanos = timeout.toNanos();
    }

    @Override
    public void writeTimeout(Duration timeout) {
        writeTimeout = timeout;
        writeTimeoutNanos = timeout.toNanos();
    }

    @Override
    public void readDeadline(Instant deadline) {
        if (deadline == null) {
            absoluteDeadline = 0;
        } else {
            long left = Duration.between(clock.instant(), deadline).toNanos();
            absoluteDeadline = poller.exactNow() + left | 1;
        }
    }

    @Override
    public Clock clock() {
        return clock;
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
        Thread t;
        lock.lock();
        try {
            inputShut = true;
            dropSpill();
            t = reader;
        } finally {
            lock.unlock();
        }
        try {
            channel.shutdownInput();
        } catch (IOException ignored) {
            // closed already: a read ends anyway
        }
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public void close() {
        abort();
    }

    /** Closes at once, waking a parked reader and writer. */
    private void abort() {
        if (closed) {
            return;
        }
        Thread r;
        lock.lock();
        try {
            closed = true;
            dropSpill();
            r = reader;
        } finally {
            lock.unlock();
        }
        // the poller cancels the key and closes the channel (really closed, FIN sent, once its key
        // has left the selector at the poller's next select)
        reconcileLater();
        if (r != null) {
            LockSupport.unpark(r);
        }
        Thread w = writer;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    // ---- the selector, from the poller's thread only ----

    /** Asks the poller to bring the registration up to date with this transport's state. */
    private void reconcileLater() {
        if (RECONCILE_QUEUED.compareAndSet(this, 0, 1)) {
            poller.reconcile(this);
        }
    }

    /**
     * On the poller: registers the channel the first time, then sets its interest from the
     * transport's state (reads unless paused or ended, writability while a write waits), or, once
     * the transport is closed, cancels the key and closes the channel.
     */
    void reconcile(Selector selector) {
        // first: a change made from now on queues this transport again
        reconcileQueued = 0;
        if (closed) {
            if (!channelClosed) {
                channelClosed = true;
                if (key != null) {
                    key.cancel();
                }
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // nothing more to do
                }
            }
            return;
        }
        if (key == null) {
            try {
                key = channel.register(selector, 0, this);
            } catch (IOException | RuntimeException e) {
                lock.lock();
                try {
                    if (readFailure == null) {
                        readFailure = e instanceof IOException io ? io : new IOException("cannot register the channel", e);
                    }
                } finally {
                    lock.unlock();
                }
                abort();
                return;
            }
        }
        int ops = 0;
        lock.lock();
        try {
            if (!readPaused && !eof && !inputShut && readFailure == null) {
                ops |= SelectionKey.OP_READ;
            }
        } finally {
            lock.unlock();
        }
        if (writer != null && !writeReady) {
            ops |= SelectionKey.OP_WRITE;
        }
        try {
            key.interestOps(ops);
        } catch (java.nio.channels.CancelledKeyException closedMeanwhile) {
            // the channel was closed under us: nothing to wait for any more
        }
    }
}

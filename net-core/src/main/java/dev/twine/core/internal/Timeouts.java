package dev.twine.core.internal;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;

/**
 * The read and write timeouts of one blocking transport, enforced by the {@link Watchdog}: each
 * read or write costs two volatile writes, and no timer is scheduled per operation (the JDK's
 * {@code SO_TIMEOUT} schedules one per blocking read, which cost a third of an echo server's CPU).
 *
 * <p>When a read times out, the transport's input is shut down, which wakes the blocked read: the
 * read throws {@link SocketTimeoutException}, the connection can still write (a handler says
 * goodbye), and every later read throws too. When a write times out the transport is closed, as
 * the stream position is lost.
 */
final class Timeouts implements Watchdog.Guard {
    /** What the transport does when a timeout fires. */
    interface Actions {
        /** Wakes a blocked read without closing the output. */
        void shutdownInput();

        /** Closes the transport at once, sending nothing more (a write timed out). */
        void abort();
    }

    private final Actions actions;
    private volatile long readDeadline;
    private volatile long writeDeadline;
    private volatile boolean readTimedOut;
    private volatile boolean writeTimedOut;
    private volatile boolean closed;
    /** The absolute read deadline on {@link System#nanoTime()}, or 0 for none. */
    private volatile long absoluteDeadline;
    private volatile boolean deadlinePassed;
    private long readNanos;
    private long writeNanos;
    private Duration read = Duration.ZERO;
    private Duration write = Duration.ZERO;

    Timeouts(Actions actions) {
        this.actions = actions;
    }

    void read(Duration timeout) {
        read = timeout;
        readNanos = timeout.toNanos();
        watch();
    }

    void write(Duration timeout) {
        write = timeout;
        writeNanos = timeout.toNanos();
        watch();
    }

    /** Sets the absolute read deadline (see {@code Transport.readDeadline}); null for none. */
    void deadline(Instant deadline) {
        if (deadline == null) {
            absoluteDeadline = 0;
        } else {
            long left = Duration.between(Instant.now(), deadline).toNanos();
            absoluteDeadline = System.nanoTime() + left | 1;
        }
        watch();
    }

    private void watch() {
        if ((readNanos > 0 || writeNanos > 0 || absoluteDeadline != 0) && !closed) {
            Watchdog.get().register(this);
        } else {
            Watchdog.get().unregister(this);
        }
    }

    /** Stops watching; the transport is closed. */
    void stop() {
        closed = true;
        Watchdog.get().unregister(this);
    }

    /** Before a blocking read. */
    void beginRead() throws SocketTimeoutException {
        if (readTimedOut) {
            throw readTimeout();
        }
        long abs = absoluteDeadline;
        if (abs != 0) {
            long now = System.nanoTime();
            if (now - abs >= 0) {
                deadlinePassed = true;
                readTimedOut = true;
                actions.shutdownInput();
                throw readTimeout();
            }
            long d = readNanos > 0 ? now + readNanos | 1 : abs;
            readDeadline = abs - d < 0 ? abs : d;
        } else if (readNanos > 0) {
            readDeadline = System.nanoTime() + readNanos | 1;
        }
    }

    /**
     * After a blocking read returned {@code n} or threw {@code failure} (null if it returned).
     *
     * @return {@code n}
     * @throws SocketTimeoutException if the read ended because its timeout fired
     */
    int endRead(int n, IOException failure) throws IOException {
        readDeadline = 0;
        if (readTimedOut && (failure != null || n < 0)) {
            throw readTimeout();
        }
        if (failure != null) {
            throw failure;
        }
        return n;
    }

    /** Before a blocking write. */
    void beginWrite() {
        if (writeNanos > 0) {
            writeDeadline = System.nanoTime() + writeNanos | 1;
        }
    }

    /**
     * After a blocking write, with what it threw (null if nothing).
     *
     * @throws SocketTimeoutException if the write ended because its timeout fired
     */
    void endWrite(IOException failure, String what) throws IOException {
        writeDeadline = 0;
        if (failure == null) {
            return;
        }
        if (writeTimedOut) {
            throw new SocketTimeoutException(what + " timed out after " + write + " (the peer is not reading)");
        }
        throw failure;
    }

    private SocketTimeoutException readTimeout() {
        if (deadlinePassed) {
            return new SocketTimeoutException("read deadline passed");
        }
        return new SocketTimeoutException("read timed out after " + read);
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
        // look again: the operation may have ended, and a new one has a deadline in the future
        long w = writeDeadline;
        if (w != 0 && now - w >= 0) {
            writeTimedOut = true;
            actions.abort();
            return;
        }
        long r = readDeadline;
        if (r != 0 && now - r >= 0) {
            long abs = absoluteDeadline;
            deadlinePassed = abs != 0 && now - abs >= 0;
            readTimedOut = true;
            actions.shutdownInput();
        }
    }
}

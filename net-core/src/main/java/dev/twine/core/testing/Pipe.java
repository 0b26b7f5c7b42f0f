package dev.twine.core.testing;

import dev.twine.core.internal.Clocks;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One direction of an in-memory connection: written bytes are cut into chunks by a
 * {@link Chunking} and each read returns at most one chunk. A bounded capacity makes a writer block
 * when the reader does not read, as a full socket buffer does, so write timeouts can be tested.
 * Timeouts are read on the pipe's clock.
 */
final class Pipe {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private final Chunking.Splitter splitter;
    private final Clock clock;
    private final long capacity;
    private int headOffset;
    private long buffered;
    private boolean eof;
    private boolean readerGone;
    private boolean readShut;

    Pipe(Chunking chunking, Clock clock, long capacity) {
        this.splitter = chunking.splitter();
        this.clock = clock;
        this.capacity = capacity;
    }

    /** The clock timeouts are read on. */
    Clock clock() {
        return clock;
    }

    /** Whether a read would return at once: bytes, end of stream, or a closed or shut pipe. */
    boolean readable() {
        lock.lock();
        try {
            return !chunks.isEmpty() || readerGone || eof || readShut;
        } finally {
            lock.unlock();
        }
    }

    /** Waits until {@link #readable()}, consuming nothing; bounded by {@code timeout} (zero: none). */
    void awaitReadable(Duration timeout) throws IOException {
        lock.lock();
        try {
            Instant deadline = timeout.isZero() ? null : clock.instant().plus(timeout);
            while (chunks.isEmpty() && !readerGone && !eof && !readShut) {
                await(deadline, "read timed out after " + timeout);
            }
        } finally {
            lock.unlock();
        }
    }

    int read(byte[] b, int off, int len, Duration timeout) throws IOException {
        if (len == 0) {
            return 0;
        }
        lock.lock();
        try {
            Instant deadline = timeout.isZero() ? null : clock.instant().plus(timeout);
            while (chunks.isEmpty()) {
                if (readerGone) {
                    throw new SocketException("Socket closed");
                }
                if (eof || readShut) {
                    return -1;
                }
                await(deadline, "read timed out after " + timeout);
            }
            byte[] head = chunks.peekFirst();
            int n = Math.min(len, head.length - headOffset);
            System.arraycopy(head, headOffset, b, off, n);
            headOffset += n;
            if (headOffset == head.length) {
                chunks.removeFirst();
                headOffset = 0;
            }
            buffered -= n;
            changed.signalAll();
            return n;
        } finally {
            lock.unlock();
        }
    }

    void write(byte[] b, int off, int len, Duration timeout) throws IOException {
        lock.lock();
        try {
            Instant deadline = timeout.isZero() ? null : clock.instant().plus(timeout);
            if (eof) {
                throw new SocketException("Socket output is shut down");
            }
            while (buffered > 0 && buffered + len > capacity) {
                if (readerGone || readShut) {
                    throw new SocketException("Broken pipe");
                }
                await(deadline, "write timed out after " + timeout + " (the peer is not reading)");
            }
            if (readerGone) {
                throw new SocketException("Broken pipe");
            }
            if (readShut) {
                return; // the peer stopped reading: bytes vanish, as in TCP after SHUT_RD
            }
            chunks.addAll(splitter.split(b, off, len));
            buffered += len;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void await(Instant deadline, String timeoutMessage) throws IOException {
        try {
            if (deadline == null) {
                changed.await();
                return;
            }
            if (!clock.instant().isBefore(deadline)) {
                throw new SocketTimeoutException(timeoutMessage);
            }
            // on a manual clock, advancing it signals this wait and it counts as a waiter
            Clocks.awaitCondition(clock, lock, changed, deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }

    /** The writer is done: the reader sees end of stream after the buffered bytes. */
    void closeWrite() {
        lock.lock();
        try {
            eof = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The reader went away: its reads fail, the writer's writes fail. */
    void closeRead() {
        lock.lock();
        try {
            readerGone = true;
            chunks.clear();
            buffered = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The reader stops reading: reads return end of stream, buffered bytes are dropped. */
    void shutdownRead() {
        lock.lock();
        try {
            readShut = true;
            chunks.clear();
            buffered = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}

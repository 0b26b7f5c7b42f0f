package dev.twine.mail.maildir;

import java.nio.file.ClosedWatchServiceException;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * One session's share of a folder's watch ({@link FolderWatches}); close it when done. It holds
 * no thread and no file-system resource of its own: waiting parks the caller until the folder's
 * generation moves past the last one this watch saw.
 */
final class FolderWatch implements AutoCloseable {
    private final FolderWatches owner;
    private final FolderWatches.Watched watched;
    /** The generation this watch last reported; changes after it are news. */
    private long seen;
    /** The thread in {@link #awaitChange} now, to wake. */
    private volatile Thread waiter;
    private volatile boolean closed;

    FolderWatch(FolderWatches owner, FolderWatches.Watched watched) {
        this.owner = owner;
        this.watched = watched;
        this.seen = watched.generation;
    }

    FolderWatches.Watched watched() {
        return watched;
    }

    /** Whether file-system notifications back this watch (false: the registry's poller looks). */
    boolean isNotified() {
        return owner.isNotified(watched);
    }

    /** The generation {@link #awaitChange} last reported (or the one at opening). */
    long seen() {
        return seen;
    }

    /**
     * Blocks until the folder changes after the watch was opened or this last returned true, or
     * {@code timeout} passes. One thread at a time.
     *
     * @return true if a change was seen
     * @throws InterruptedException if interrupted while waiting
     * @throws ClosedWatchServiceException once {@link #close()} was called
     */
    boolean awaitChange(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        // set the waiter before reading the generation, as a signal sets the generation before
        // reading the waiter: one of the two sees the other, so no change goes unwoken
        waiter = Thread.currentThread();
        try {
            while (true) {
                if (closed) {
                    throw new ClosedWatchServiceException();
                }
                long now = watched.generation;
                if (now != seen) {
                    seen = now;
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                LockSupport.parkNanos(this, left);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            waiter = null;
        }
    }

    /** Unparks the waiting thread, if any. */
    void wake() {
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Ends this share of the watch, waking a thread waiting on it; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            wake();
            owner.release(this);
        }
    }
}

package dev.twine.core.testing;

import dev.twine.core.internal.Clocks;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A clock that moves only when a test says so. Deadlines ({@link dev.twine.core.Deadline}) and the
 * timeouts of in-memory connections read it, so a test drives them with {@link #advance} instead of
 * sleeping. Threads waiting on it wake when it is advanced past what they wait for.
 *
 * <pre>{@code
 * ManualClock clock = ManualClock.at(Instant.parse("2026-01-01T00:00:00Z"));
 * MemoryConnections.Pair pair = MemoryConnections.pair(Chunking.whole(), clock, MemoryConnections.DEFAULT_CAPACITY);
 * pair.server().readTimeout(Duration.ofSeconds(30));
 * // a handler blocked reading pair.server() now ...
 * clock.awaitWaiters(1, Duration.ofSeconds(10)); // ... is waiting on the clock
 * clock.advance(Duration.ofSeconds(31));       // and gets its SocketTimeoutException, without a sleep
 * }</pre>
 */
public final class ManualClock extends Clock implements Clocks.WaitableClock {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private final ZoneId zone;
    private final Condition waitersChanged = lock.newCondition();
    private int waiters;
    private final java.util.List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Instant now;

    private ManualClock(Instant start, ZoneId zone) {
        this.now = start;
        this.zone = zone;
    }

    /** A clock at 2000-01-01T00:00:00Z, UTC. */
    public static ManualClock create() {
        return new ManualClock(Instant.parse("2000-01-01T00:00:00Z"), ZoneOffset.UTC);
    }

    /** A clock at {@code start}, UTC. */
    public static ManualClock at(Instant start) {
        return new ManualClock(Objects.requireNonNull(start, "start"), ZoneOffset.UTC);
    }

    /**
     * Moves the clock forward and wakes whatever waits on it.
     *
     * @throws IllegalArgumentException if {@code d} is negative: time does not go back
     */
    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("cannot go back in time: " + d);
        }
        lock.lock();
        try {
            now = now.plus(d);
            moved.signalAll();
        } finally {
            lock.unlock();
        }
        // outside the lock: a listener takes its own lock, and waiting() is called under it
        for (Runnable r : listeners) {
            r.run();
        }
    }

    /** Counts a thread that waits for this clock on a condition of its own. */
    private void waiting(int delta) {
        lock.lock();
        try {
            waiters += delta;
            waitersChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Instant instant() {
        lock.lock();
        try {
            return now;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a manual clock has one zone; advance this one");
    }

    /** Blocks until the clock has been advanced to {@code at} or later. */
    @Override
    public void awaitInstant(Instant at) throws InterruptedException {
        lock.lock();
        try {
            if (!now.isBefore(at)) {
                return;
            }
            waiters++;
            waitersChanged.signalAll();
            try {
                while (now.isBefore(at)) {
                    moved.await();
                }
            } finally {
                waiters--;
                waitersChanged.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits once on {@code condition}, whose {@code lock} the caller holds, until it is signalled
     * or this clock is advanced to {@code at}: how {@link dev.twine.core.Deadline#awaitWhile} and
     * the timeouts of in-memory connections wait on a manual clock. The wait counts in
     * {@link #waiters()}. It may return early; callers loop on what they wait for.
     */
    @Override
    public void awaitCondition(java.util.concurrent.locks.Lock lock, Condition condition, Instant at)
            throws InterruptedException {
        // registered before the clock is read: an advance after the read signals the condition,
        // and its signal cannot get in before this thread waits, because it takes the caller's lock
        Runnable wake = () -> {
            lock.lock();
            try {
                condition.signalAll();
            } finally {
                lock.unlock();
            }
        };
        listeners.add(wake);
        waiting(1);
        try {
            if (instant().isBefore(at)) {
                condition.await();
            }
        } finally {
            waiting(-1);
            listeners.remove(wake);
        }
    }

    /**
     * How many threads wait on this clock now (in a timeout, a delay or a deadline read on it),
     * so that a test can advance the clock once the code under test is waiting, without sleeping.
     */
    public int waiters() {
        lock.lock();
        try {
            return waiters;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Blocks until at least {@code count} threads wait on this clock.
     *
     * @param timeout the longest real time to wait, so that a broken test fails instead of hanging
     * @throws java.util.concurrent.TimeoutException if fewer are waiting after {@code timeout}
     * @throws InterruptedException if interrupted
     */
    public void awaitWaiters(int count, Duration timeout) throws InterruptedException, java.util.concurrent.TimeoutException {
        long left = timeout.toNanos();
        lock.lock();
        try {
            while (waiters < count) {
                if (left <= 0) {
                    throw new java.util.concurrent.TimeoutException(
                            waiters + " thread(s) wait on the clock, not " + count + ", after " + timeout);
                }
                left = waitersChanged.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "ManualClock[" + instant() + "]";
    }
}

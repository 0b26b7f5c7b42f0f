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
 */
public final class ManualClock extends Clock implements Clocks.WaitableClock {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private final ZoneId zone;
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
            while (now.isBefore(at)) {
                moved.await();
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

package dev.twine.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/** Waiting on a {@link Clock}: the system clock sleeps, a {@link WaitableClock} decides itself. */
public final class Clocks {
    private Clocks() {}

    /** A clock that threads can wait on; the test package's manual clock is one. */
    public interface WaitableClock {
        /**
         * Blocks until the clock reads {@code at} or later.
         *
         * @throws InterruptedException if interrupted
         */
        void awaitInstant(Instant at) throws InterruptedException;

        /**
         * Waits once on {@code condition}, whose {@code lock} the caller holds: until it is
         * signalled, or the clock is moved to {@code at} or later. It may return early, as
         * {@link Condition#await} may; the caller checks what it waits for and calls again.
         *
         * @throws InterruptedException if interrupted
         */
        void awaitCondition(Lock lock, Condition condition, Instant at) throws InterruptedException;
    }

    /**
     * Blocks until {@code clock} reads {@code at} or later.
     *
     * @throws InterruptedException if interrupted
     */
    public static void sleepUntil(Clock clock, Instant at) throws InterruptedException {
        if (clock instanceof WaitableClock w) {
            w.awaitInstant(at);
            return;
        }
        while (true) {
            Duration left = Duration.between(clock.instant(), at);
            if (left.isNegative() || left.isZero()) {
                return;
            }
            Thread.sleep(left);
        }
    }

    /**
     * Waits once on {@code condition}, whose {@code lock} the caller holds, until it is signalled
     * or {@code clock} reads {@code at}; returns at once if it already does. May return early: the
     * caller loops on what it waits for.
     *
     * @throws InterruptedException if interrupted
     */
    public static void awaitCondition(Clock clock, Lock lock, Condition condition, Instant at) throws InterruptedException {
        if (clock instanceof WaitableClock w) {
            w.awaitCondition(lock, condition, at);
            return;
        }
        long nanos = Duration.between(clock.instant(), at).toNanos();
        if (nanos > 0) {
            condition.awaitNanos(nanos);
        }
    }
}

package dev.twine.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

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
}

package dev.twine.core;

import dev.twine.core.internal.Clocks;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;

/**
 * A point in time by which a whole job must be done. A <em>timeout</em> bounds one operation; a
 * deadline bounds a job made of many ({@link Scope#open(String, Deadline)}).
 *
 * <p>A deadline is read against a {@link Clock}: the system clock by default, or a test's
 * {@code ManualClock}, which then decides when the deadline passes.
 */
public final class Deadline {
    private final Instant at;
    private final Clock clock;
    private final Duration budget;

    private Deadline(Instant at, Clock clock, Duration budget) {
        this.at = at;
        this.clock = clock;
        this.budget = budget;
    }

    /**
     * A deadline {@code budget} from now on the system clock.
     *
     * @throws IllegalArgumentException if {@code budget} is negative
     */
    public static Deadline after(Duration budget) {
        return after(budget, Clock.systemUTC());
    }

    /**
     * A deadline {@code budget} from now on {@code clock}.
     *
     * @throws IllegalArgumentException if {@code budget} is negative
     */
    public static Deadline after(Duration budget, Clock clock) {
        Objects.requireNonNull(budget, "budget");
        Objects.requireNonNull(clock, "clock");
        if (budget.isNegative()) {
            throw new IllegalArgumentException("deadline budget must not be negative: " + budget);
        }
        return new Deadline(clock.instant().plus(budget), clock, budget);
    }

    /** A deadline at {@code at} on {@code clock}; it may already have passed. */
    public static Deadline at(Instant at, Clock clock) {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(clock, "clock");
        Duration budget = Duration.between(clock.instant(), at);
        return new Deadline(at, clock, budget.isNegative() ? Duration.ZERO : budget);
    }

    /** The instant this deadline passes. */
    public Instant instant() {
        return at;
    }

    /** The clock this deadline is read against. */
    public Clock clock() {
        return clock;
    }

    /** The time that was left when this deadline was made; used in messages. */
    public Duration budget() {
        return budget;
    }

    /** Time left, {@link Duration#ZERO} once passed (never negative). */
    public Duration remaining() {
        Duration left = Duration.between(clock.instant(), at);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** Whether the deadline has passed. */
    public boolean isExpired() {
        return !clock.instant().isBefore(at);
    }

    /** The earlier of this deadline and {@code timeout} from now: how long one operation may take. */
    public Duration cap(Duration timeout) {
        Duration left = remaining();
        return timeout.isZero() || timeout.compareTo(left) > 0 ? left : timeout;
    }

    /**
     * Waits on {@code condition} while {@code waiting} is true, until this deadline passes: a
     * {@link Condition#awaitUntil} read against this deadline's clock. The caller holds
     * {@code lock}, the lock {@code condition} belongs to, and whoever changes what
     * {@code waiting} reads signals {@code condition} under that lock.
     *
     * <p>On a test's {@code ManualClock} the wait counts as one of the clock's waiters and ends
     * when the clock is advanced to the deadline, with no real time passing.
     *
     * <pre>{@code
     * lock.lock();
     * try {
     *     if (!Deadline.after(Duration.ofMinutes(5), clock).awaitWhile(lock, changed, () -> !resumed)) {
     *         // five minutes passed and nobody resumed it
     *     }
     * } finally {
     *     lock.unlock();
     * }
     * }</pre>
     *
     * @return {@code true} once {@code waiting} is false (checked first, so a condition already
     *     met returns at once), {@code false} if the deadline passed while it was still true
     * @throws InterruptedException if interrupted while waiting
     * @throws IllegalMonitorStateException if the caller does not hold {@code lock}
     */
    public boolean awaitWhile(Lock lock, Condition condition, BooleanSupplier waiting) throws InterruptedException {
        Objects.requireNonNull(lock, "lock");
        Objects.requireNonNull(condition, "condition");
        Objects.requireNonNull(waiting, "waiting");
        while (waiting.getAsBoolean()) {
            if (isExpired()) {
                return false;
            }
            Clocks.awaitCondition(clock, lock, condition, at);
        }
        return true;
    }

    @Override
    public String toString() {
        return "Deadline[" + budget + " at " + at + "]";
    }
}

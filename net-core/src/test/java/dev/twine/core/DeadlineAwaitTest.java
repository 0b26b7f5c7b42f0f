package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Deadline#awaitWhile}: a condition wait bounded by a deadline, on the system clock and on a manual one. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeadlineAwaitTest {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean done;

    private boolean await(Deadline d) throws InterruptedException {
        lock.lock();
        try {
            return d.awaitWhile(lock, changed, () -> !done);
        } finally {
            lock.unlock();
        }
    }

    private void finish() {
        lock.lock();
        try {
            done = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Test
    void aManualClockAdvancedToTheDeadlineEndsTheWaitWithFalse() throws Exception {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.after(Duration.ofMinutes(5), clock);
        CompletableFuture<Boolean> result = CompletableFuture.supplyAsync(() -> call(d), Thread::startVirtualThread);
        clock.awaitWaiters(1, Duration.ofSeconds(10));
        clock.advance(Duration.ofMinutes(4));
        clock.awaitWaiters(1, Duration.ofSeconds(10)); // woken by the advance, and waiting again
        assertFalse(result.isDone(), "a minute is left");
        clock.advance(Duration.ofMinutes(1));
        assertFalse(result.get(10, TimeUnit.SECONDS), "the deadline passed with the condition still true");
        assertEquals(0, clock.waiters());
    }

    @Test
    void aSignalledConditionEndsTheWaitWithTrueBeforeTheDeadline() throws Exception {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.after(Duration.ofMinutes(5), clock);
        CompletableFuture<Boolean> result = CompletableFuture.supplyAsync(() -> call(d), Thread::startVirtualThread);
        clock.awaitWaiters(1, Duration.ofSeconds(10));
        finish();
        assertTrue(result.get(10, TimeUnit.SECONDS));
        assertEquals(0, clock.waiters(), "the waiter is no longer counted");
    }

    @Test
    void aConditionAlreadyMetReturnsTrueEvenPastTheDeadline() throws Exception {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.after(Duration.ZERO, clock);
        finish();
        assertTrue(await(d));
        done = false;
        assertFalse(await(d), "expired and not met: no wait at all");
    }

    @Test
    void onTheSystemClockTheWaitEndsWhenTheTimeIsUp() throws Exception {
        long start = System.nanoTime();
        assertFalse(await(Deadline.after(Duration.ofMillis(50), Clock.systemUTC())));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(45), "it waited");
    }

    @Test
    void theCallerMustHoldTheLock() {
        Deadline d = Deadline.after(Duration.ofSeconds(1));
        assertThrows(IllegalMonitorStateException.class, () -> d.awaitWhile(lock, changed, () -> true));
    }

    private boolean call(Deadline d) {
        try {
            return await(d);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}

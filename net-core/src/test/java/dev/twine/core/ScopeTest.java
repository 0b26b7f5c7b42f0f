package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** If a {@link Scope} is used as documented, then children, failures, cancellation and deadlines behave as its rules say. */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ScopeTest {

    /** Spins (no sleep) until {@code t} is parked: waiting on a lock, a condition or a sleep. */
    static void awaitParked(Thread t) {
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                return;
            }
            if (s == Thread.State.TERMINATED) {
                throw new AssertionError(t + " ended instead of blocking");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void joinWaitsForAllChildrenAndResultsComeThroughHandles() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (Scope scope = Scope.open("sum")) {
            Handle<Integer> quick = scope.fork("quick", () -> 40);
            Handle<Integer> slow = scope.fork("slow", () -> {
                release.await();
                return 2;
            });
            Thread owner = Thread.currentThread();
            // releases the slow child only once the owner is parked in join(): if join returned
            // early, the slow child would still be running when the assertions below run
            Thread releaser = Thread.ofVirtual().start(() -> {
                awaitParked(owner);
                release.countDown();
            });
            scope.join();
            releaser.join();
            assertEquals(Handle.State.SUCCEEDED, quick.state());
            assertEquals(Handle.State.SUCCEEDED, slow.state());
            assertEquals(42, quick.resultNow() + slow.resultNow());
            assertEquals(2, slow.await());
            assertEquals(0, scope.runningCount());
        }
    }

    @Test
    void firstFailureCancelsSleepingAndSocketReadingSiblingsAndIsRethrownWithLaterFailuresSuppressed() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CountDownLatch siblingsReady = new CountDownLatch(3);
            AtomicReference<Throwable> readerSaw = new AtomicReference<>();
            AtomicBoolean sleeperInterrupted = new AtomicBoolean();
            IllegalArgumentException first = new IllegalArgumentException("first");
            Scope scope = Scope.open("job");
            Handle<Void> sleeper = scope.fork("sleeper", () -> {
                siblingsReady.countDown();
                try {
                    Thread.sleep(Duration.ofDays(1));
                } catch (InterruptedException e) {
                    sleeperInterrupted.set(true);
                    throw e;
                }
            });
            Handle<Void> reader = scope.fork("reader", () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort()));
                    siblingsReady.countDown();
                    s.getInputStream().read(); // the peer never sends: only cancellation ends this
                } catch (IOException e) {
                    readerSaw.set(e);
                    throw e;
                }
            });
            Handle<Void> late = scope.fork("late", () -> {
                siblingsReady.countDown();
                try {
                    Thread.sleep(Duration.ofDays(1));
                } catch (InterruptedException e) {
                    throw new IllegalStateException("later failure");
                }
            });
            Handle<Void> failing = scope.fork("failing", () -> {
                siblingsReady.await();
                throw first;
            });

            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, scope::join);
            assertSame(first, thrown);
            assertTrue(Arrays.stream(thrown.getSuppressed()).anyMatch(s -> "later failure".equals(s.getMessage())),
                    "later failure suppressed: " + Arrays.toString(thrown.getSuppressed()));
            assertTrue(sleeperInterrupted.get());
            assertTrue(readerSaw.get() instanceof SocketException || readerSaw.get() instanceof InterruptedIOException,
                    "socket read was cancelled: " + readerSaw.get());
            assertEquals(Handle.State.FAILED, failing.state());
            assertSame(first, failing.exceptionNow());
            assertEquals(Handle.State.CANCELLED, sleeper.state());
            assertEquals(Handle.State.CANCELLED, reader.state());
            assertEquals(Handle.State.CANCELLED, late.state());
            assertTrue(scope.isCancelled());
            scope.close(); // the failure is thrown once, by join
        }
    }

    @Test
    void closeRethrowsFirstFailureWhenJoinWasNotCalled() {
        Scope scope = Scope.open("job");
        scope.fork("bad", () -> {
            throw new IllegalStateException("broken");
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, scope::close);
        assertEquals("broken", e.getMessage());
    }

    @Test
    void checkedFailureIsWrappedInCompletionExceptionNamingTheTask() {
        IOException cause = new IOException("disk on fire");
        Scope scope = Scope.open("files");
        scope.fork("reader", () -> {
            throw cause;
        });
        CompletionException e = assertThrows(CompletionException.class, scope::close);
        assertSame(cause, e.getCause());
        assertTrue(e.getMessage().contains("'reader'"), e.getMessage());
        assertTrue(e.getMessage().contains("'files'"), e.getMessage());
    }

    @Test
    void passedDeadlineCancelsChildrenAndJoinThrowsDeadlineExceeded() throws Exception {
        ManualClock clock = ManualClock.create();
        Deadline deadline = Deadline.after(Duration.ofSeconds(5), clock);
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        Scope scope = Scope.open("job", deadline);
        Handle<Void> slow = scope.fork("slow", () -> {
            started.countDown();
            try {
                Thread.sleep(Duration.ofDays(1));
            } catch (InterruptedException e) {
                interrupted.set(true);
                throw e;
            }
        });
        started.await();
        clock.advance(Duration.ofSeconds(4));
        assertFalse(deadline.isExpired());
        assertEquals(Handle.State.RUNNING, slow.state());
        clock.advance(Duration.ofSeconds(1));
        DeadlineExceededException e = assertThrows(DeadlineExceededException.class, scope::join);
        assertSame(deadline, e.deadline());
        assertTrue(e.getMessage().contains("'job'"), e.getMessage());
        assertTrue(interrupted.get());
        assertEquals(Handle.State.CANCELLED, slow.state());
        assertTrue(deadline.isExpired());
        assertEquals(Duration.ZERO, deadline.remaining());
        scope.close();
    }

    /**
     * The deadline passes while nothing runs; a child forked afterwards must not run unbounded.
     * Whether the scope's watcher notices the deadline before or after the fork is up to the
     * scheduler, so the case is tried many times (yielding to let the watcher go first).
     */
    @Test
    @Timeout(value = 5, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void childForkedAfterTheDeadlinePassedIsCancelledAndJoinThrowsDeadlineExceeded() throws Exception {
        for (int i = 0; i < 50; i++) {
            ManualClock clock = ManualClock.create();
            Deadline deadline = Deadline.after(Duration.ofSeconds(5), clock);
            Scope scope = Scope.open("late", deadline);
            clock.advance(Duration.ofSeconds(6));
            for (int k = 0; k < 100; k++) {
                Thread.yield();
            }
            Handle<Void> h = scope.fork("too-late", () -> Thread.sleep(Duration.ofDays(1)));
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class, scope::join);
            assertSame(deadline, e.deadline());
            assertEquals(Handle.State.CANCELLED, h.state());
            scope.close();
        }
    }

    @Test
    void childrenFinishingBeforeTheDeadlineAreNotCancelled() throws Exception {
        ManualClock clock = ManualClock.create();
        try (Scope scope = Scope.open("job", Deadline.after(Duration.ofSeconds(5), clock))) {
            Handle<String> h = scope.fork("fast", () -> "done");
            scope.join();
            clock.advance(Duration.ofSeconds(10)); // passes with nothing running: no failure
            assertEquals("done", h.resultNow());
        }
    }

    @Test
    void interruptingOwnerBlockedInJoinCancelsChildrenAndJoinThrowsInterrupted() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Object> outcome = new AtomicReference<>();
        AtomicReference<Handle.State> childStateAtThrow = new AtomicReference<>();
        Thread owner = Thread.ofVirtual().start(() -> {
            try (Scope scope = Scope.open("owner")) {
                Handle<Void> child = scope.fork("child", () -> {
                    started.countDown();
                    Thread.sleep(Duration.ofDays(1));
                });
                try {
                    scope.join();
                    outcome.set("join returned");
                } catch (InterruptedException e) {
                    childStateAtThrow.set(child.state());
                    outcome.set(e);
                }
            }
        });
        started.await();
        awaitParked(owner);
        owner.interrupt();
        owner.join();
        assertInstanceOf(InterruptedException.class, outcome.get());
        // the children had ended before join threw
        assertEquals(Handle.State.CANCELLED, childStateAtThrow.get());
    }

    @Test
    void closeOnInterruptedThreadThrowsCancellationAndKeepsTheInterruptFlag() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Object> outcome = new AtomicReference<>();
        AtomicBoolean flagAfter = new AtomicBoolean();
        AtomicReference<Handle.State> childState = new AtomicReference<>();
        Thread owner = Thread.ofVirtual().start(() -> {
            Scope scope = Scope.open("owner");
            Handle<Void> child = scope.fork("child", () -> {
                started.countDown();
                Thread.sleep(Duration.ofDays(1));
            });
            try {
                started.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            Thread.currentThread().interrupt();
            try {
                scope.close();
                outcome.set("close returned");
            } catch (CancellationException e) {
                outcome.set(e);
            }
            flagAfter.set(Thread.currentThread().isInterrupted());
            childState.set(child.state());
        });
        owner.join();
        assertInstanceOf(CancellationException.class, outcome.get());
        assertTrue(flagAfter.get(), "interrupt flag set again");
        assertEquals(Handle.State.CANCELLED, childState.get());
    }

    @Test
    void nestedScopeOpenedInChildIsCancelledWithItsParent() throws Exception {
        CountDownLatch grandchildStarted = new CountDownLatch(1);
        CountDownLatch grandchildEnded = new CountDownLatch(1);
        AtomicBoolean grandchildInterrupted = new AtomicBoolean();
        AtomicReference<Scope> inner = new AtomicReference<>();
        Scope outer = Scope.open("outer");
        outer.fork("child", () -> {
            try (Scope nested = Scope.open("inner")) {
                inner.set(nested);
                nested.fork("grandchild", () -> {
                    grandchildStarted.countDown();
                    try {
                        Thread.sleep(Duration.ofDays(1));
                    } catch (InterruptedException e) {
                        grandchildInterrupted.set(true);
                        throw e;
                    } finally {
                        grandchildEnded.countDown();
                    }
                });
                // the child ignores its own interrupt here, so only the nesting can reach the
                // grandchild
                boolean wasInterrupted = false;
                while (true) {
                    try {
                        grandchildEnded.await();
                        break;
                    } catch (InterruptedException e) {
                        wasInterrupted = true;
                    }
                }
                if (wasInterrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        grandchildStarted.await();
        outer.cancel();
        outer.close();
        assertTrue(grandchildInterrupted.get());
        assertTrue(inner.get().isCancelled());
    }

    @Test
    void forkAfterCloseThrows() {
        Scope scope = Scope.open("done");
        scope.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> scope.fork("late", () -> 1));
        assertTrue(e.getMessage().contains("'done'"), e.getMessage());
    }

    @Test
    void forkAfterCancelReturnsCancelledHandleWithoutRunningTheTask() throws Exception {
        AtomicBoolean ran = new AtomicBoolean();
        try (Scope scope = Scope.open("job")) {
            scope.cancel();
            Handle<Void> h = scope.fork("never", () -> ran.set(true));
            assertEquals(Handle.State.CANCELLED, h.state());
            assertThrows(CancellationException.class, h::await);
        }
        assertFalse(ran.get());
    }

    @Test
    void handleCancelCancelsOneChildOnlyAndIsNotAFailure() throws Exception {
        CountDownLatch bothStarted = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        try (Scope scope = Scope.open("pair")) {
            Handle<String> victim = scope.fork("victim", () -> {
                bothStarted.countDown();
                Thread.sleep(Duration.ofDays(1));
                return "woke";
            });
            Handle<String> survivor = scope.fork("survivor", () -> {
                bothStarted.countDown();
                release.await();
                return "finished";
            });
            bothStarted.await();
            victim.cancel();
            assertThrows(CancellationException.class, victim::await);
            assertEquals(Handle.State.CANCELLED, victim.state());
            assertEquals(Handle.State.RUNNING, survivor.state());
            assertFalse(scope.isCancelled());
            release.countDown();
            scope.join(); // throws nothing: a cancelled child is not a failure
            assertEquals("finished", survivor.resultNow());
            assertThrows(IllegalStateException.class, victim::resultNow);
        }
    }

    @Test
    void childThreadsAreVirtualAndNamedScopeSlashChild() throws Exception {
        try (Scope scope = Scope.open("lookup")) {
            Handle<String> name = scope.fork("aaaa", () -> Thread.currentThread().getName());
            Handle<Boolean> virtual = scope.fork("virtual", () -> Thread.currentThread().isVirtual());
            scope.join();
            assertEquals("lookup/aaaa", name.resultNow());
            assertTrue(virtual.resultNow());
        }
    }

    @Test
    void cancelIsNotAFailureAndJoinThrowsNothing() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        try (Scope scope = Scope.open("job")) {
            Handle<Void> h = scope.fork("sleeper", () -> {
                started.countDown();
                Thread.sleep(Duration.ofDays(1));
            });
            started.await();
            scope.cancel();
            scope.join();
            assertEquals(Handle.State.CANCELLED, h.state());
        }
    }
}

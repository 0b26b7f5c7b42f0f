package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Chunking;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a scope or a child is waited on with a timeout, then the wait ends on time without touching
 * the children; if a {@link Scope#run} body throws, its children are cancelled rather than waited
 * for; and a test can tell when a thread waits on a {@link ManualClock} instead of sleeping.
 */
@Timeout(10)
class ScopeTimedTest {

    @Test
    void joinWithATimeoutReturnsFalseWhileChildrenRunThenTrue() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (Scope scope = Scope.open("timed")) {
            Handle<String> h = scope.fork("slow", () -> {
                release.await();
                return "done";
            });
            assertFalse(scope.join(Duration.ofMillis(50)));
            assertFalse(scope.join(Duration.ZERO));
            assertEquals(Handle.State.RUNNING, h.state(), "a timed-out join leaves the child alone");
            release.countDown();
            assertTrue(scope.join(Duration.ofSeconds(5)));
            assertEquals("done", h.resultNow());
        }
    }

    @Test
    void awaitWithATimeoutThrowsTimeoutExceptionThenReturnsTheResult() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (Scope scope = Scope.open("timed")) {
            Handle<Integer> h = scope.fork("slow", () -> {
                release.await();
                return 42;
            });
            assertThrows(TimeoutException.class, () -> h.await(Duration.ofMillis(50)));
            release.countDown();
            assertEquals(42, h.await(Duration.ofSeconds(5)));
        }
    }

    @Test
    void runWaitsForChildrenWhenTheBodyReturns() throws Exception {
        String r = Scope.run("nursery", scope -> {
            Handle<String> a = scope.fork("a", () -> "x");
            Handle<String> b = scope.fork("b", () -> "y");
            return a.await() + b.await();
        });
        assertEquals("xy", r);
    }

    @Test
    void runCancelsChildrenWhenTheBodyThrows() {
        CountDownLatch started = new CountDownLatch(1);
        Handle<?>[] child = new Handle<?>[1];
        IOException boom = new IOException("boom");
        IOException thrown = assertThrows(IOException.class, () -> Scope.run("nursery", scope -> {
            child[0] = scope.fork("forever", () -> {
                started.countDown();
                Thread.sleep(Long.MAX_VALUE);
            });
            started.await();
            throw boom;
        }));
        assertSame(boom, thrown);
        assertEquals(Handle.State.CANCELLED, child[0].state(), "the child was cancelled, not waited for");
    }

    @Test
    void runRethrowsAChildFailure() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Scope.run("nursery", scope -> {
            scope.fork("bad", () -> {
                throw new IllegalStateException("child failed");
            });
            return null;
        }));
        assertEquals("child failed", e.getMessage());
    }

    @Test
    void aTestCanWaitUntilAReaderWaitsOnTheManualClockThenTimeItOut() throws Exception {
        ManualClock clock = ManualClock.create();
        MemoryConnections.Pair pair = MemoryConnections.pair(Chunking.whole(), clock, 1024);
        pair.server().readTimeout(Duration.ofSeconds(30));
        try (Scope scope = Scope.open("reader")) {
            Handle<Throwable> reader = scope.fork("read", () -> {
                try {
                    pair.server().input().read();
                    return null;
                } catch (IOException e) {
                    return e;
                }
            });
            clock.awaitWaiters(1, Duration.ofSeconds(5));
            assertEquals(1, clock.waiters());
            clock.advance(Duration.ofSeconds(29));
            assertEquals(Handle.State.RUNNING, reader.state());
            clock.advance(Duration.ofSeconds(1));
            assertInstanceOf(SocketTimeoutException.class, reader.await(Duration.ofSeconds(5)));
            assertEquals(0, clock.waiters());
        }
        assertThrows(TimeoutException.class, () -> clock.awaitWaiters(1, Duration.ofMillis(20)));
    }
}

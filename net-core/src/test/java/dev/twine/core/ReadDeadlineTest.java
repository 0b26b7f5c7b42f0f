package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a handler sets {@link Connection#readDeadline}, then a read still waiting at that moment on
 * the connection's clock ends with a timeout, though the read timeout is far longer; cleared, it
 * no longer applies.
 */
@Timeout(10)
class ReadDeadlineTest {
    private static Handle<Throwable> readOne(Scope scope, Connection c) {
        return scope.fork("read", () -> {
            try {
                c.input().read();
                return null;
            } catch (IOException e) {
                return e;
            }
        });
    }

    @Test
    void aReadWaitingAtTheDeadlineTimesOutLongBeforeItsReadTimeout() throws Exception {
        ManualClock clock = ManualClock.create();
        MemoryConnections.Pair pair = MemoryConnections.pair(Chunking.whole(), clock, 1024);
        Connection server = pair.server();
        assertSame(clock, server.clock());
        server.readTimeout(Duration.ofMinutes(5));
        server.readDeadline(clock.instant().plusSeconds(5));
        try (Scope scope = Scope.open("deadline")) {
            Handle<Throwable> reader = readOne(scope, server);
            clock.awaitWaiters(1, Duration.ofSeconds(5));
            clock.advance(Duration.ofSeconds(5));
            Throwable t = reader.await(Duration.ofSeconds(5));
            assertInstanceOf(SocketTimeoutException.class, t);
            assertEquals("read deadline passed", t.getMessage());
        }
    }

    @Test
    void aClearedDeadlineNoLongerApplies() throws Exception {
        ManualClock clock = ManualClock.create();
        MemoryConnections.Pair pair = MemoryConnections.pair(Chunking.whole(), clock, 1024);
        Connection server = pair.server();
        server.readTimeout(Duration.ofMinutes(5)); // a timed wait, so the clock counts the reader
        server.readDeadline(clock.instant().plusSeconds(5));
        server.readDeadline(null);
        try (Scope scope = Scope.open("deadline")) {
            Handle<Throwable> reader = readOne(scope, server);
            clock.awaitWaiters(1, Duration.ofSeconds(5));
            clock.advance(Duration.ofMinutes(1));
            pair.client().output().write('x');
            pair.client().flush();
            assertEquals(null, reader.await(Duration.ofSeconds(5)), "the read got its byte");
        }
    }
}

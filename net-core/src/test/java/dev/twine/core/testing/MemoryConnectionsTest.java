package dev.twine.core.testing;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.Handle;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Scope;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a test uses the in-memory connections and the manual clock, then timeouts fire when the clock
 * is advanced, with no sleeping, and bytes arrive cut as the chunking says.
 */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MemoryConnectionsTest {

    /** Spins (no sleep) until the thread in {@code ref} is parked with a timeout or not. */
    static Thread awaitParked(AtomicReference<Thread> ref) {
        Thread t;
        while ((t = ref.get()) == null) {
            Thread.onSpinWait();
        }
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                return t;
            }
            if (s == Thread.State.TERMINATED) {
                throw new AssertionError("ended instead of blocking");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void manualClockDrivesAReadTimeoutWithoutSleeping() throws Exception {
        ManualClock clock = ManualClock.create();
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole(), clock, MemoryConnections.DEFAULT_CAPACITY);
                Scope scope = Scope.open("reader")) {
            Connection server = p.server();
            server.readTimeout(Duration.ofSeconds(30));
            AtomicReference<Thread> reader = new AtomicReference<>();
            Handle<Object> read = scope.fork("read", () -> {
                reader.set(Thread.currentThread());
                try {
                    return LineReader.of(server, 100).readLine();
                } catch (SocketTimeoutException e) {
                    return e;
                }
            });
            awaitParked(reader);
            clock.advance(Duration.ofSeconds(29));
            assertEquals(Handle.State.RUNNING, read.state());
            clock.advance(Duration.ofSeconds(1));
            SocketTimeoutException e = assertInstanceOf(SocketTimeoutException.class, read.await());
            assertTrue(e.getMessage().contains("PT30S"), e.getMessage());
        }
    }

    @Test
    void readTimeoutEndsTheInputButTheHandlerCanStillAnswer() throws Exception {
        ManualClock clock = ManualClock.create();
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.byteByByte(), clock, MemoryConnections.DEFAULT_CAPACITY);
                Scope scope = Scope.open("reader")) {
            p.server().readTimeout(Duration.ofSeconds(5));
            LineReader r = LineReader.of(p.server(), 100);
            AtomicReference<Thread> reader = new AtomicReference<>();
            Handle<String> first = scope.fork("first", () -> {
                reader.set(Thread.currentThread());
                try {
                    return r.readLine();
                } catch (SocketTimeoutException e) {
                    LineWriter.of(p.server()).writeLine("421 idle").flush();
                    return "timed out";
                }
            });
            awaitParked(reader);
            clock.advance(Duration.ofSeconds(5));
            assertEquals("timed out", first.await());
            assertEquals("421 idle", LineReader.of(p.client(), 100).readLine());
            // as over a socket, the timeout ended the input: a late line is not read any more
            LineWriter.of(p.client()).writeLine("too late").flush();
            assertThrows(SocketTimeoutException.class, r::readLine);
        }
    }

    @Test
    void manualClockDrivesAWriteTimeoutOnASmallPipe() throws Exception {
        ManualClock clock = ManualClock.create();
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole(), clock, 16);
                Scope scope = Scope.open("writer")) {
            Connection client = p.client();
            client.writeTimeout(Duration.ofSeconds(10));
            client.output().write("0123456789abcdef".getBytes(US_ASCII)); // fills the pipe
            client.flush();
            AtomicReference<Thread> writer = new AtomicReference<>();
            Handle<IOException> blocked = scope.fork("write", () -> {
                writer.set(Thread.currentThread());
                try {
                    client.output().write("more".getBytes(US_ASCII));
                    client.flush();
                    return null;
                } catch (IOException e) {
                    return e;
                }
            });
            awaitParked(writer);
            clock.advance(Duration.ofSeconds(9));
            assertEquals(Handle.State.RUNNING, blocked.state());
            clock.advance(Duration.ofSeconds(1));
            assertInstanceOf(SocketTimeoutException.class, blocked.await());
            assertTrue(client.isClosed(), "a write timeout closes the connection");
            // the peer gets what fit, then end of stream
            assertArrayEquals("0123456789abcdef".getBytes(US_ASCII), p.server().input().readAllBytes());
        }
    }

    @Test
    void byteByByteChunkingDeliversOneBytePerRead() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.byteByByte())) {
            p.client().output().write("hello".getBytes(US_ASCII));
            p.client().flush();
            byte[] buf = new byte[100];
            for (char expected : "hello".toCharArray()) {
                assertEquals(1, p.server().input().read(buf));
                assertEquals(expected, (char) buf[0]);
            }
        }
    }

    @Test
    void randomChunkingIsReproducibleForTheSameSeed() throws IOException {
        assertEquals(chunkSizes(Chunking.random(9)), chunkSizes(Chunking.random(9)));
        List<Integer> sizes = chunkSizes(Chunking.random(9));
        assertTrue(sizes.size() > 1, "split into pieces: " + sizes);
        assertEquals(4000, sizes.stream().mapToInt(Integer::intValue).sum());
    }

    private static List<Integer> chunkSizes(Chunking chunking) throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair(chunking)) {
            p.client().output().write(new byte[4000]);
            p.client().flush();
            p.client().shutdownOutput();
            List<Integer> sizes = new ArrayList<>();
            byte[] buf = new byte[8192];
            int n;
            while ((n = p.server().input().read(buf)) > 0) {
                sizes.add(n);
            }
            return sizes;
        }
    }

    @Test
    void closingOneEndGivesThePeerEndOfStream() throws IOException {
        try (MemoryConnections.Pair p = MemoryConnections.pair()) {
            LineWriter.of(p.client()).writeLine("last").flush();
            p.client().close();
            LineReader r = LineReader.of(p.server(), 100);
            assertEquals("last", r.readLine());
            assertEquals(null, r.readLine());
            assertThrows(IOException.class, () -> LineWriter.of(p.client()).writeLine("after close").flush());
        }
    }

    @Test
    void servedHandlerRunsAndReportsWhatItThrew() throws Exception {
        try (MemoryConnections.Served s = MemoryConnections.serve(c -> {
            LineWriter.of(c).writeLine("220 hi").flush();
            throw new IllegalStateException("after greeting");
        }, Chunking.random(3))) {
            assertEquals("220 hi", LineReader.of(s.client(), 100).readLine());
            Optional<Throwable> t = s.awaitHandler(Duration.ofSeconds(10));
            assertInstanceOf(IllegalStateException.class, t.orElseThrow());
            assertTrue(s.server().isClosed());
        }
    }

    @Test
    void manualClockMovesOnlyForwardAndOnlyWhenTold() throws Exception {
        ManualClock clock = ManualClock.at(Instant.parse("2024-05-01T10:00:00Z"));
        assertEquals(Instant.parse("2024-05-01T10:00:00Z"), clock.instant());
        clock.advance(Duration.ofMinutes(5));
        assertEquals(Instant.parse("2024-05-01T10:05:00Z"), clock.instant());
        assertThrows(IllegalArgumentException.class, () -> clock.advance(Duration.ofSeconds(-1)));
        try (Scope scope = Scope.open("waiter")) {
            AtomicReference<Thread> waiter = new AtomicReference<>();
            Handle<Instant> woke = scope.fork("await", () -> {
                waiter.set(Thread.currentThread());
                clock.awaitInstant(Instant.parse("2024-05-01T11:00:00Z"));
                return clock.instant();
            });
            awaitParked(waiter);
            clock.advance(Duration.ofMinutes(30));
            assertEquals(Handle.State.RUNNING, woke.state());
            clock.advance(Duration.ofMinutes(30));
            assertEquals(Instant.parse("2024-05-01T11:05:00Z"), woke.await());
        }
    }
}

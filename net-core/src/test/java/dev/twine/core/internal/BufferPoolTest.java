package dev.twine.core.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * If a connection waits for input with nothing unread, then it holds no input array (it went back
 * to {@link BufferPool}); if it waits in the middle of a line, then it keeps that line's bytes.
 * Counted through the pool's count of lent arrays, not through timing.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BufferPoolTest {
    private static final BufferPool POOL = BufferPool.small();

    /** Whether {@code t} is parked. */
    static boolean isParked(Thread t) {
        Thread.State s = t.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
    }

    /** Waits until {@code t} is parked (its reader waits for input). */
    static void awaitParked(Thread t) {
        while (!isParked(t)) {
            if (!t.isAlive()) {
                throw new AssertionError(t + " ended");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void aSpillTakesAPooledArrayOrAllocatesOnlyWhatItNeeds() {
        BufferPool pool = new BufferPool(BufferPool.SMALL, 8); // 8 slots: every probe covers them all
        byte[] fit = pool.borrowOrFit(10);
        assertEquals(64, fit.length, "an empty pool allocates what was asked, rounded up to 64 bytes");
        assertEquals(0, pool.lent(), "and does not count it");
        pool.giveBack(fit);
        assertEquals(0, pool.lent(), "an array of another size is dropped");
        assertEquals(128, pool.borrowOrFit(65).length);
        byte[] whole = pool.borrowOrFit(BufferPool.SMALL - 20);
        assertEquals(BufferPool.SMALL, whole.length, "what rounds up to the pool's size is a pool array");
        assertEquals(1, pool.lent());
        pool.giveBack(whole);
        assertEquals(0, pool.lent());
        assertSame(whole, pool.borrowOrFit(10), "a pooled array is lent before one is allocated");
        assertEquals(1, pool.lent());
    }

    @Test
    void anArrayGivenBackIsLentAgainAndTheCountFollows() {
        int before = POOL.lent();
        byte[] a = POOL.borrow(100);
        assertEquals(BufferPool.SMALL, a.length, "a small request gets the pool's size");
        assertEquals(before + 1, POOL.lent());
        POOL.giveBack(a);
        assertEquals(before, POOL.lent());
        byte[] big = POOL.borrow(BufferPool.SMALL + 1);
        assertEquals(BufferPool.SMALL + 1, big.length, "a larger request is allocated, not pooled");
        assertEquals(before, POOL.lent(), "and not counted");
        POOL.giveBack(big);
        assertEquals(before, POOL.lent());
    }

    @Test
    void connectionIdleMidLineKeepsItsPartialLineAndIdleBetweenLinesHoldsNothing() throws Exception {
        try (MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole())) {
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = Thread.ofVirtual().start(() -> readLinesInto(p.server(), lines));
            awaitParked(reader);
            int idle = POOL.lent();

            OutputStream out = p.client().output();
            out.write("HEL".getBytes(US_ASCII));
            p.client().flush();
            // the reader takes the three bytes and waits for the rest, keeping them
            while (POOL.lent() == idle) {
                Thread.onSpinWait();
            }
            awaitParked(reader);
            assertEquals(idle + 1, POOL.lent(), "mid-line, the partial line's array is held");
            assertTrue(lines.isEmpty());

            out.write("LO\r\nWOR".getBytes(US_ASCII));
            p.client().flush();
            assertEquals("HELLO", lines.take(), "the bytes kept while idle are the line's start");
            awaitParked(reader);
            assertEquals(idle + 1, POOL.lent(), "a second partial line is held again");

            out.write("LD\r\n".getBytes(US_ASCII));
            p.client().flush();
            assertEquals("WORLD", lines.take());
            awaitParked(reader);
            assertEquals(idle, POOL.lent(), "between lines nothing is held");

            p.client().shutdownOutput();
            assertEquals("<eof>", lines.take());
            reader.join();
            assertEquals(idle, POOL.lent());
        }
    }

    @Test
    void aThousandIdleConnectionsHoldNoInputArray() throws Exception {
        int n = 1000;
        List<MemoryConnections.Pair> pairs = new ArrayList<>();
        List<Thread> handlers = new ArrayList<>();
        int before = POOL.lent();
        try {
            for (int i = 0; i < n; i++) {
                MemoryConnections.Pair p = MemoryConnections.pair(Chunking.whole());
                pairs.add(p);
                handlers.add(Thread.ofVirtual().start(() -> {
                    try {
                        echoLines(p.server());
                    } catch (IOException ignored) {
                        // closed at the end of the test
                    }
                }));
            }
            byte[] answer = new byte[1024];
            for (MemoryConnections.Pair p : pairs) {
                LineWriter.of(p.client()).writeLine("ping").flush();
                // a read larger than the buffer goes straight into this array: the client holds none
                assertEquals(6, p.client().input().read(answer));
                assertEquals("ping\r\n", new String(answer, 0, 6, US_ASCII));
            }
            for (Thread t : handlers) {
                awaitParked(t);
            }
            assertEquals(before, POOL.lent(), n + " idle connections hold no input array");
        } finally {
            for (MemoryConnections.Pair p : pairs) {
                p.close();
            }
            for (Thread t : handlers) {
                t.join(); // so that no handler still ending changes the count in a later test
            }
        }
    }

    @Test
    void aThousandIdleSocketConnectionsOnTheReadinessTransportHoldNoInputArray() throws Exception {
        assumeTrue(!"socket".equals(System.getProperty("twine.transport")) && Runtime.version().feature() >= 24,
                "the socket transport blocks in a read into the connection's array");
        int n = 1000;
        Server server = Server.builder("pool").listen("tcp:0:interface=127.0.0.1").maxConnections(n + 10)
                .handler(BufferPoolTest::echoLines).start();
        List<Socket> clients = new ArrayList<>();
        int before = POOL.lent();
        try {
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
                clients.add(s);
                s.getOutputStream().write("ping\r\n".getBytes(US_ASCII));
            }
            for (Socket s : clients) {
                InputStream in = s.getInputStream();
                byte[] got = in.readNBytes(6);
                assertEquals("ping\r\n", new String(got, US_ASCII));
            }
            // each handler wrote its answer before waiting again; the count settles once all wait
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (POOL.lent() != before && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(before, POOL.lent(), n + " idle connections hold no input array or spill");
        } finally {
            for (Socket s : clients) {
                s.close();
            }
            server.close();
        }
    }

    /** Reads {@code c}'s lines into {@code lines}, then {@code <eof>} or the failure in angle brackets. */
    static void readLinesInto(Connection c, BlockingQueue<String> lines) {
        try {
            LineReader r = LineReader.of(c, 100);
            String line;
            while ((line = r.readLine()) != null) {
                lines.add(line);
            }
            lines.add("<eof>");
        } catch (IOException e) {
            lines.add("<" + e + ">");
        }
    }

    private static void echoLines(Connection c) throws IOException {
        LineReader in = LineReader.of(c, 100);
        LineWriter out = LineWriter.of(c);
        String line;
        while ((line = in.readLine()) != null) {
            out.writeLine(line).flush();
        }
    }
}

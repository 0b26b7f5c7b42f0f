package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;

import java.util.ArrayList;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.internal.Poller;
import dev.twine.core.internal.ReadinessTransport;
import dev.twine.core.testing.ManualClock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The readiness transport on its own, over loopback channels, with a poller whose clock is a
 * {@link ManualClock}: timeouts fire when the clock says so, not after real waiting.
 */
class ReadinessTransportTest {
    private final ManualClock clock = ManualClock.create();
    private final Poller poller = Poller.withClock("test-poller",
            () -> clock.instant().getEpochSecond() * 1_000_000_000L + clock.instant().getNano());
    private ServerSocketChannel listener;
    /** The peer: a plain blocking channel. */
    private SocketChannel peer;
    private Connection conn;
    private final BlockingQueue<Object> outcome = new ArrayBlockingQueue<>(4);

    @BeforeEach
    void connect() throws IOException {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        peer = SocketChannel.open(listener.getLocalAddress());
        SocketChannel ours = listener.accept();
        conn = new Connection("test", new ReadinessTransport(ours, poller, clock), false, "");
    }

    @AfterEach
    void close() throws IOException {
        conn.close();
        peer.close();
        listener.close();
    }

    /** Runs {@code body} on a virtual thread; its result or exception goes to {@link #outcome}. */
    private Thread background(ThrowingSupplier body) {
        return Thread.ofVirtual().start(() -> {
            try {
                outcome.add(body.get());
            } catch (Throwable t) {
                outcome.add(t);
            }
        });
    }

    private interface ThrowingSupplier {
        Object get() throws Exception;
    }

    private Object result() throws InterruptedException {
        Object o = outcome.poll(20, TimeUnit.SECONDS);
        assertTrue(o != null, "no outcome within 20 s");
        return o;
    }

    /** Waits until {@code t} is parked (the transport has armed its wait): a state, not a sleep. */
    /**
     * Waits until {@code t} is parked in its wait proper: a thread queued for the transport's lock
     * (the poller holds it while it hands bytes over) is WAITING too, but has not armed its wait.
     */
    private static void awaitParked(Thread t) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (t.getState() != Thread.State.WAITING
                || java.util.concurrent.locks.LockSupport.getBlocker(t)
                        instanceof java.util.concurrent.locks.AbstractQueuedSynchronizer) {
            assertTrue(System.nanoTime() < end, "thread never parked: " + t.getState());
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private void peerSends(String s) throws IOException {
        peer.write(ByteBuffer.wrap(s.getBytes(US_ASCII)));
    }

    @Test
    void readTimeoutFiresWhenTheManualClockPassesIt() throws Exception {
        conn.readTimeout(Duration.ofSeconds(30));
        Thread reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.ofSeconds(31));
        poller.wakeup();
        assertInstanceOf(SocketTimeoutException.class, result());
        // the input is shut, the output still works: the handler can say goodbye
        assertThrows(SocketTimeoutException.class, () -> conn.input().read());
        conn.output().write("bye\n".getBytes(US_ASCII));
        conn.flush();
        ByteBuffer got = ByteBuffer.allocate(4);
        while (got.hasRemaining() && peer.read(got) >= 0) {
            // read the goodbye whole
        }
        assertEquals("bye\n", new String(got.array(), US_ASCII));
    }

    @Test
    void idleTimeoutDoesNotFireBeforeItIsDueAndRestartsWithEveryWait() throws Exception {
        conn.readTimeout(Duration.ofSeconds(30));
        Thread reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.ofSeconds(20));
        poller.wakeup();
        peerSends("a");
        assertEquals((int) 'a', result());
        // a new wait counts its 30 s from now, not from the first
        reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.ofSeconds(20));
        poller.wakeup();
        peerSends("b");
        assertEquals((int) 'b', result());
        reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.ofSeconds(40));
        poller.wakeup();
        assertInstanceOf(SocketTimeoutException.class, result());
    }

    @Test
    void aLineDeadlineOnTheManualClockEndsATricklingLine() throws Exception {
        conn.readTimeout(Duration.ofSeconds(10));
        LineReader lines = LineReader.of(conn, 100);
        peerSends("HEL");
        Thread reader = background(lines::readLine);
        awaitParked(reader);
        // each byte comes within the read timeout, but the line as a whole does not
        for (int i = 0; i < 3; i++) {
            clock.advance(Duration.ofSeconds(3));
            poller.wakeup();
            peerSends("L");
            awaitParked(reader);
        }
        // 11 s after the line began: past its 10 s, though the last byte came 2 s ago. Whether the
        // reader had re-armed its wait before this move depends on scheduling, so the clock goes on
        // in small steps until it answers; the read timeout alone would only fire at 19 s
        long advanced = 11;
        clock.advance(Duration.ofSeconds(2));
        poller.wakeup();
        Object o = outcome.poll(1, TimeUnit.SECONDS);
        while (o == null && advanced < 18) {
            clock.advance(Duration.ofSeconds(1));
            advanced++;
            poller.wakeup();
            o = outcome.poll(1, TimeUnit.SECONDS);
        }
        // on a loaded machine the reader may take longer than those steps to run at all: wait on,
        // with the clock still short of the 19 s at which the read timeout alone would answer
        for (int i = 0; o == null && i < 30; i++) {
            poller.wakeup();
            o = outcome.poll(1, TimeUnit.SECONDS);
        }
        assertInstanceOf(SocketTimeoutException.class, o, "the line deadline ended the read, " + advanced + " s in");
    }

    @Test
    void manyTransportsClosedAtOnceFromTheirOwnThreadsAreAllClosedByThePoller() throws Exception {
        // 200 connections, each closed by its own virtual thread at the same moment, half of them
        // before the poller has even registered them: every peer still sees the end of the stream
        int n = 200;
        List<SocketChannel> peers = new ArrayList<>();
        List<ReadinessTransport> ours = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                peers.add(SocketChannel.open(listener.getLocalAddress()));
                ours.add(new ReadinessTransport(listener.accept(), poller, clock));
            }
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<Thread> closers = new ArrayList<>();
            for (ReadinessTransport t : ours) {
                closers.add(Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    t.close();
                }));
            }
            go.countDown();
            for (Thread t : closers) {
                t.join(TimeUnit.SECONDS.toMillis(20));
                assertFalse(t.isAlive(), "a close returned");
            }
            for (SocketChannel p : peers) {
                p.socket().setSoTimeout(20_000);
                assertEquals(-1, p.socket().getInputStream().read(), "the peer sees the end of the stream");
            }
        } finally {
            for (SocketChannel p : peers) {
                p.close();
            }
        }
    }

    @Test
    void readDeadlineAlreadyPassedThrowsAtOnce() throws Exception {
        conn.readDeadline(clock.instant().minusSeconds(1));
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class, () -> conn.input().read());
        assertEquals("read deadline passed", e.getMessage());
    }

    @Test
    void drainWakesAnIdleReaderWithDrainingException() throws Exception {
        Thread reader = background(() -> conn.input().read());
        awaitParked(reader);
        conn.beginDrain();
        assertInstanceOf(DrainingException.class, result());
    }

    @Test
    void peerThatNeverReadsHitsTheWriteTimeout() throws Exception {
        conn.writeTimeout(Duration.ofSeconds(5));
        byte[] chunk = new byte[64 * 1024];
        Thread writer = background(() -> {
            while (true) {
                conn.output().write(chunk);
                conn.flush();
            }
        });
        awaitParked(writer); // the kernel's buffers are full: the write waits for writability
        clock.advance(Duration.ofSeconds(6));
        poller.wakeup();
        Object o = result();
        SocketTimeoutException e = assertInstanceOf(SocketTimeoutException.class, o);
        assertTrue(e.getMessage().contains("the peer is not reading"), e.getMessage());
        assertTrue(conn.isClosed());
    }

    @Test
    void closeFromAnotherThreadWakesABlockedReaderAndWriter() throws Exception {
        byte[] chunk = new byte[64 * 1024];
        Thread reader = background(() -> conn.input().read());
        Thread writer = background(() -> {
            while (true) {
                conn.output().write(chunk);
                conn.flush();
            }
        });
        awaitParked(reader);
        awaitParked(writer);
        conn.close();
        assertInstanceOf(IOException.class, result());
        assertInstanceOf(IOException.class, result());
        // and the peer sees the connection end
        ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
        long n;
        do {
            sink.clear();
            try {
                n = peer.read(sink);
            } catch (SocketException reset) {
                n = -1;
            }
        } while (n >= 0);
    }

    @Test
    void interruptInAReadClosesTheConnectionCleanly() throws Exception {
        Thread reader = background(() -> {
            try {
                return conn.input().read();
            } finally {
                outcome.add(Thread.currentThread().isInterrupted() ? "still interrupted" : "interrupt lost");
            }
        });
        awaitParked(reader);
        reader.interrupt();
        assertEquals("still interrupted", result());
        assertInstanceOf(SocketException.class, result());
        assertTrue(conn.isClosed());
        assertEquals(-1, peer.read(ByteBuffer.allocate(1)));
    }

    @Test
    void bytesThatArriveWhileNobodyReadsAreKeptInOrder() throws Exception {
        // far more than one spill buffer: the poller stops reading and resumes as the reader catches up
        byte[] sent = new byte[1 << 20];
        for (int i = 0; i < sent.length; i++) {
            sent[i] = (byte) (i * 31 + (i >>> 9));
        }
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                peer.write(ByteBuffer.wrap(sent));
                peer.shutdownOutput();
            } catch (IOException e) {
                outcome.add(e);
            }
        });
        byte[] got = conn.input().readAllBytes();
        writer.join();
        assertArrayEquals(sent, got);
    }

    @Test
    void endOfStreamIsMinusOneAndStaysSo() throws Exception {
        peerSends("x");
        peer.shutdownOutput();
        assertEquals('x', conn.input().read());
        assertEquals(-1, conn.input().read());
        assertEquals(-1, conn.input().read());
    }

    @Test
    void readDeadlineInTheFutureDoesNotEndAReadThatGetsItsByte() throws Exception {
        conn.readDeadline(clock.instant().plusSeconds(60));
        Thread reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.ofSeconds(59));
        poller.wakeup();
        peerSends("z");
        assertEquals((int) 'z', result());
        Instant later = clock.instant().plusSeconds(2);
        reader = background(() -> conn.input().read());
        awaitParked(reader);
        clock.advance(Duration.between(clock.instant(), later));
        poller.wakeup();
        assertInstanceOf(SocketTimeoutException.class, result());
    }
}

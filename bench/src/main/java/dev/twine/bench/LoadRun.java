package dev.twine.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What all connections of one load-generator run share: the phase, the request pattern, the
 * per-event-loop histograms and the error counts.
 */
final class LoadRun {
    /** Connections are being opened; nothing is sent. */
    static final int CONNECTING = 0;
    /** Ping-pong runs but is not recorded. */
    static final int WARMUP = 1;
    /** Ping-pong runs and every completed round trip is recorded. */
    static final int MEASURE = 2;
    /** No new request is sent; outstanding ones drain. */
    static final int STOP = 3;
    /** Idle mode: each connection sends one request, reads its echo, then stays silent. */
    static final int ONE_SHOT = 4;
    /** The load generator is closing its connections: a close is expected, not an error. */
    static final int CLOSING = 5;

    /** How many distinct request windows the pattern holds beyond one request's size. */
    static final int PATTERN_SLACK = 4096;
    private static final int ERRORS_SHOWN = 10;

    final int size;
    /** Read-only after construction; requests are slices of it, so sending allocates no payload. */
    final ByteBuf pattern;
    volatile int phase = CONNECTING;
    final LongAdder inFlight = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder mismatches = new LongAdder();
    final CountDownLatch answered;
    private final AtomicInteger errorsShown = new AtomicInteger();
    private final ConcurrentHashMap<Thread, LatencyHistogram> histograms = new ConcurrentHashMap<>();

    LoadRun(int size, int connections, long seed) {
        this.size = size;
        byte[] bytes = new byte[size + PATTERN_SLACK];
        new SplittableRandom(seed).nextBytes(bytes);
        ByteBuf direct = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        // writes release what they send: the shared pattern must survive every one of them
        this.pattern = Unpooled.unreleasableBuffer(direct);
        this.answered = new CountDownLatch(connections);
    }

    /** The request starting at {@code offset} of the pattern; releasing it is harmless. */
    ByteBuf request(int offset) {
        return pattern.slice(offset, size);
    }

    /** The histogram of the calling event-loop thread, created on its first connection. */
    LatencyHistogram histogramOfCurrentThread() {
        return histograms.computeIfAbsent(Thread.currentThread(), t -> new LatencyHistogram());
    }

    /** Counts one failure; the first few are printed on stderr with what happened. */
    void error(String what, boolean mismatch) {
        errors.increment();
        if (mismatch) {
            mismatches.increment();
        }
        if (errorsShown.getAndIncrement() < ERRORS_SHOWN) {
            System.err.println("loadgen: error: " + what);
        }
    }
}

package dev.twine.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * One load-generator connection: sends {@code size} bytes, waits until the same {@code size} bytes
 * have come back, checks them, records the round trip, and sends again while the run is in its
 * warm-up or measured phase.
 *
 * <p>Each request is a window into the run's random pattern at a different offset, so consecutive
 * requests differ and an echo of stale, reordered or foreign bytes is caught, not only a short one.
 * Everything here runs on the connection's event loop, so the fields need no synchronisation.
 */
final class PingPong extends ChannelInboundHandlerAdapter {
    private final LoadRun run;
    private final int id;
    private ChannelHandlerContext ctx;
    private LatencyHistogram histogram;
    private int sequence;
    private int offset;
    private int received;
    private long sentAt;
    private boolean awaiting;
    /** Set once this connection's failure is counted, so its close is not counted again. */
    private boolean failed;
    /** Round trips completed in the measured window: read after the run for fairness. */
    private int measured;

    PingPong(LoadRun run, int id) {
        this.run = run;
        this.id = id;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.histogram = run.histogramOfCurrentThread();
    }

    /** Sends the first request; must be called on the channel's event loop. */
    void start() {
        if (ctx == null || !ctx.channel().isActive()) {
            failed = true;
            run.error("connection " + id + " was not open when the load started", false);
            return;
        }
        send();
    }

    private void send() {
        // a new window for every request: consecutive requests differ in every byte position
        offset = (int) ((id * 7919L + (long) sequence++ * 104_729L) % LoadRun.PATTERN_SLACK);
        received = 0;
        awaiting = true;
        run.inFlight.increment();
        sentAt = System.nanoTime();
        ctx.writeAndFlush(run.request(offset), ctx.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            int n = in.readableBytes();
            if (!awaiting || received + n > run.size) {
                fail(true, (awaiting ? received + n - run.size : n) + " more bytes than were sent");
                return;
            }
            if (!ByteBufUtil.equals(in, in.readerIndex(), run.pattern, offset + received, n)) {
                fail(true, "echoed bytes differ from the request at offset " + received + ".." + (received + n));
                return;
            }
            received += n;
            if (received < run.size) {
                return;
            }
            long now = System.nanoTime();
            awaiting = false;
            run.inFlight.decrement();
            int phase = run.phase;
            if (phase == LoadRun.MEASURE) {
                histogram.record(now - sentAt);
                measured++;
            }
            if (phase == LoadRun.WARMUP || phase == LoadRun.MEASURE) {
                send();
            } else if (phase == LoadRun.ONE_SHOT) {
                run.answered.countDown();
            }
        } finally {
            in.release();
        }
    }

    /** Round trips this connection completed in the measured window; read it on the event loop or after it. */
    int measured() {
        return measured;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (awaiting) {
            awaiting = false;
            run.inFlight.decrement();
        }
        if (!failed && run.phase != LoadRun.CLOSING) {
            failed = true;
            run.error("connection " + id + " closed by the server before the run ended", false);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (run.phase == LoadRun.CLOSING) {
            ctx.close();
        } else {
            fail(false, cause.toString());
        }
    }

    private void fail(boolean mismatch, String reason) {
        if (!failed) {
            failed = true;
            run.error("connection " + id + ": " + reason, mismatch);
        }
        ctx.close();
    }
}

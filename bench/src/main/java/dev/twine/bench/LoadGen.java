package dev.twine.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A ping-pong load generator for echo servers, on Netty client channels (epoll when it loads), so
 * that ten thousand connections cost a few event-loop threads, not ten thousand threads.
 *
 * <p>Ping-pong mode opens {@code --connections} connections first (not timed), then every
 * connection sends {@code --size} bytes, waits for the same bytes back, checks them and repeats:
 * {@code --warmup} unrecorded, then {@code --duration} recorded. It prints
 * {@code window-start seconds=N} as the recorded window begins, and at its end one line:
 * <pre>result conns=1000 size=64 rtps=123456 p50_us=80.0 p99_us=900.0 errors=0 ...</pre>
 * Given {@code --server-pid}, it also reads that process's CPU time at the exact edges of the
 * measured window and reports {@code server_cpu_us_per_rt}, the server's read and write system
 * calls per round trip ({@code server_syscalls_per_rt}, from {@code /proc/PID/io}) and its context
 * switches per round trip ({@code server_cs_per_rt}, every thread's {@code status}). Fairness is
 * the fewest and most round trips one connection made in the window ({@code conn_rts_min},
 * {@code conn_rts_max}) and their ratio ({@code conn_fairness}; 1 is perfectly even).
 *
 * <p>Idle mode ({@code --idle C --hold SECONDS}) opens C connections, sends one request on each and
 * reads its echo, prints {@code idle-ready conns=C errors=0}, then holds them open and silent for
 * the given time (or until killed) while a script measures the server's memory.
 *
 * <p>Connections are bound round-robin to source addresses 127.0.0.1 … 127.0.0.{@code --sources},
 * so no single source address runs short of ephemeral ports. Only loopback targets are accepted.
 * Exit status: 0 when every connection opened and every echo matched, 1 on any error, 2 on bad
 * arguments.
 */
public final class LoadGen {
    private static final Set<String> OPTIONS = Set.of("host", "port", "connections", "size", "duration",
            "warmup", "threads", "sources", "connect-concurrency", "server-pid", "clk-tck", "idle", "hold",
            "seed");
    private static final String USAGE = """
            usage: LoadGen --port N [--host 127.0.0.1] --connections C [--size BYTES] [--duration 10s]
                           [--warmup 3s] [--threads N] [--sources 9] [--connect-concurrency 128]
                           [--server-pid PID --clk-tck TICKS]
                   LoadGen --port N [--host 127.0.0.1] --idle C --hold SECONDS [--size BYTES]""";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CONNECT_PHASE_LIMIT = Duration.ofMinutes(3);
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(5);
    private static final Duration ONE_SHOT_LIMIT = Duration.ofMinutes(2);

    private LoadGen() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(USAGE);
            return;
        }
        Settings settings;
        try {
            settings = Settings.of(Flags.parse(args, OPTIONS));
        } catch (Flags.BadArgument e) {
            System.err.println("loadgen: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        int status;
        try {
            status = settings.idle ? runIdle(settings) : runPingPong(settings);
        } catch (IOException e) {
            System.err.println("loadgen: " + e.getMessage());
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private static int runPingPong(Settings s) throws InterruptedException, IOException {
        LoadRun run = new LoadRun(s.size, s.connections, s.seed);
        Transport transport = Transport.best();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(s.threads, transport.ioHandlerFactory());
        List<PingPong> handlers = new ArrayList<>(s.connections);
        List<Channel> channels = new ArrayList<>(s.connections);
        try {
            long setupStart = System.nanoTime();
            connect(s, run, transport, group, handlers, channels);
            System.err.printf(Locale.ROOT, "loadgen: %d connections open in %.2f s (transport %s, %d event loops)%n",
                    s.connections, (System.nanoTime() - setupStart) / 1e9, transport.describe(), s.threads);

            run.phase = LoadRun.WARMUP;
            startAll(handlers, channels);
            sleep(s.warmup);

            long serverBefore = serverTicks(s);
            long callsBefore = serverIoCalls(s);
            long switchesBefore = serverSwitches(s);
            long clientBefore = ProcessCpu.ticks("self");
            long machineBefore = ProcessCpu.machineBusyTicks();
            // for a script that samples the server over the window (ci/bench runs perf stat then)
            System.out.println("window-start seconds=" + s.duration);
            System.out.flush();
            long windowStart = System.nanoTime();
            run.phase = LoadRun.MEASURE;
            sleep(s.duration);
            run.phase = LoadRun.STOP;
            long windowEnd = System.nanoTime();
            long serverAfter = serverTicks(s);
            long callsAfter = serverIoCalls(s);
            long switchesAfter = serverSwitches(s);
            long clientAfter = ProcessCpu.ticks("self");
            long machineAfter = ProcessCpu.machineBusyTicks();

            long drainDeadline = System.nanoTime() + DRAIN_LIMIT.toNanos();
            while (run.inFlight.sum() > 0 && System.nanoTime() < drainDeadline) {
                Thread.sleep(10);
            }
            long stuck = run.inFlight.sum();
            if (stuck > 0) {
                run.error(stuck + " requests had no complete echo " + DRAIN_LIMIT.toSeconds()
                        + " s after the window closed", false);
            }
            LatencyHistogram all = collect(group, run);
            // collect() ran a task on every event loop, so their counters' last writes are visible
            int minRts = Integer.MAX_VALUE;
            int maxRts = 0;
            for (PingPong h : handlers) {
                minRts = Math.min(minRts, h.measured());
                maxRts = Math.max(maxRts, h.measured());
            }

            double window = (windowEnd - windowStart) / 1e9;
            long rts = all.count();
            StringBuilder line = new StringBuilder(256);
            line.append(String.format(Locale.ROOT,
                    "result conns=%d size=%d rtps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f"
                            + " rts=%d window_s=%.3f",
                    s.connections, s.size, rts / window, all.valueAt(0.50) / 1e3, all.valueAt(0.99) / 1e3,
                    all.valueAt(0.999) / 1e3, all.max() / 1e3, rts, window));
            if (s.serverPid != null) {
                line.append(String.format(Locale.ROOT, " server_cpu_us_per_rt=%.3f server_cpu_s=%.2f",
                        perRoundTripMicros(serverAfter - serverBefore, s.clockTicks, rts),
                        (serverAfter - serverBefore) / (double) s.clockTicks));
                if (callsBefore >= 0 && callsAfter >= 0) {
                    line.append(String.format(Locale.ROOT, " server_syscalls_per_rt=%.3f",
                            rts == 0 ? 0 : (callsAfter - callsBefore) / (double) rts));
                }
                line.append(String.format(Locale.ROOT, " server_cs_per_rt=%.4f",
                        rts == 0 ? 0 : (switchesAfter - switchesBefore) / (double) rts));
            }
            line.append(String.format(Locale.ROOT, " conn_rts_min=%d conn_rts_max=%d conn_fairness=%s",
                    minRts, maxRts, minRts == 0 ? "inf" : String.format(Locale.ROOT, "%.2f", maxRts / (double) minRts)));
            long serverUsed = serverAfter - serverBefore;
            long clientUsed = clientAfter - clientBefore;
            // machine-wide busy time that neither process was charged for: other processes, softirq
            long otherUsed = Math.max(0, machineAfter - machineBefore - serverUsed - clientUsed);
            line.append(String.format(Locale.ROOT,
                    " client_cpu_us_per_rt=%.3f client_cpu_s=%.2f other_cpu_s=%.2f transport=%s threads=%d",
                    perRoundTripMicros(clientUsed, s.clockTicks, rts), clientUsed / (double) s.clockTicks,
                    otherUsed / (double) s.clockTicks, transport.name(), s.threads));
            line.append(" errors=").append(run.errors.sum()).append(" mismatches=").append(run.mismatches.sum());
            System.out.println(line);
            return run.errors.sum() == 0 && rts > 0 ? 0 : 1;
        } finally {
            close(run, group, channels);
        }
    }

    private static int runIdle(Settings s) throws InterruptedException, IOException {
        LoadRun run = new LoadRun(s.size, s.connections, s.seed);
        Transport transport = Transport.best();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(s.threads, transport.ioHandlerFactory());
        List<PingPong> handlers = new ArrayList<>(s.connections);
        List<Channel> channels = new ArrayList<>(s.connections);
        try {
            long setupStart = System.nanoTime();
            connect(s, run, transport, group, handlers, channels);
            run.phase = LoadRun.ONE_SHOT;
            startAll(handlers, channels);
            boolean all = run.answered.await(ONE_SHOT_LIMIT.toSeconds(), TimeUnit.SECONDS);
            long answered = s.connections - run.answered.getCount();
            if (!all) {
                run.error((s.connections - answered) + " connections had no echo within "
                        + ONE_SHOT_LIMIT.toSeconds() + " s", false);
            }
            System.out.printf(Locale.ROOT, "idle-ready conns=%d answered=%d setup_s=%.2f errors=%d mismatches=%d%n",
                    s.connections, answered, (System.nanoTime() - setupStart) / 1e9, run.errors.sum(),
                    run.mismatches.sum());
            System.out.flush();
            sleep(s.hold);
            System.out.printf(Locale.ROOT, "idle-done conns=%d errors=%d mismatches=%d%n",
                    s.connections, run.errors.sum(), run.mismatches.sum());
            return run.errors.sum() == 0 ? 0 : 1;
        } finally {
            close(run, group, channels);
        }
    }

    /**
     * Opens every connection, at most {@code connect-concurrency} at a time so a server with a short
     * accept backlog sees retries no sooner than it would from real clients.
     *
     * @throws IOException naming the first connection that could not be opened
     */
    private static void connect(Settings s, LoadRun run, Transport transport, EventLoopGroup group,
            List<PingPong> handlers, List<Channel> channels) throws InterruptedException, IOException {
        Bootstrap base = new Bootstrap()
                .group(group)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis());
        InetSocketAddress remote = new InetSocketAddress(s.host, s.port);
        Semaphore permits = new Semaphore(s.connectConcurrency);
        AtomicReference<String> failure = new AtomicReference<>();
        long deadline = System.nanoTime() + CONNECT_PHASE_LIMIT.toNanos();
        for (int i = 0; i < s.connections && failure.get() == null; i++) {
            if (!permits.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new IOException("opening connections took over " + CONNECT_PHASE_LIMIT.toSeconds()
                        + " s; " + i + " of " + s.connections + " started");
            }
            PingPong handler = new PingPong(run, i);
            InetSocketAddress local = s.sources.isEmpty() ? null
                    : new InetSocketAddress(s.sources.get(i % s.sources.size()), 0);
            int id = i;
            ChannelFuture f = base.clone().handler(handler).connect(remote, local);
            handlers.add(handler);
            channels.add(f.channel());
            f.addListener(done -> {
                if (!done.isSuccess()) {
                    failure.compareAndSet(null, "connection " + id + " from " + local + " to " + remote
                            + " failed: " + done.cause());
                }
                permits.release();
            });
        }
        if (!permits.tryAcquire(s.connectConcurrency, Math.max(0, deadline - System.nanoTime()),
                TimeUnit.NANOSECONDS)) {
            throw new IOException("opening connections took over " + CONNECT_PHASE_LIMIT.toSeconds() + " s");
        }
        if (failure.get() != null) {
            throw new IOException(failure.get());
        }
    }

    private static void startAll(List<PingPong> handlers, List<Channel> channels) {
        for (int i = 0; i < handlers.size(); i++) {
            channels.get(i).eventLoop().execute(handlers.get(i)::start);
        }
    }

    /** Merges the event loops' histograms on their own threads, which orders their last writes before the read. */
    private static LatencyHistogram collect(EventLoopGroup group, LoadRun run) throws InterruptedException, IOException {
        LatencyHistogram all = new LatencyHistogram();
        for (EventExecutor loop : group) {
            Future<LatencyHistogram> copy = loop.submit(() -> run.histogramOfCurrentThread().copy());
            try {
                all.add(copy.get(10, TimeUnit.SECONDS));
            } catch (ExecutionException | TimeoutException e) {
                throw new IOException("could not collect the latency histograms", e);
            }
        }
        return all;
    }

    private static void close(LoadRun run, EventLoopGroup group, List<Channel> channels) {
        run.phase = LoadRun.CLOSING;
        List<ChannelFuture> closing = new ArrayList<>(channels.size());
        for (Channel channel : channels) {
            closing.add(channel.close());
        }
        for (ChannelFuture f : closing) {
            f.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    private static long serverTicks(Settings s) throws IOException {
        return s.serverPid == null ? 0 : ProcessCpu.ticks(s.serverPid);
    }

    /** The server's read+write system calls, or -1 when its io file cannot be read. */
    private static long serverIoCalls(Settings s) {
        if (s.serverPid == null) {
            return -1;
        }
        try {
            return ProcessCpu.ioCalls(s.serverPid);
        } catch (IOException e) {
            return -1;
        }
    }

    private static long serverSwitches(Settings s) throws IOException {
        return s.serverPid == null ? 0 : ProcessCpu.contextSwitches(s.serverPid);
    }

    private static double perRoundTripMicros(long ticks, int clockTicks, long roundTrips) {
        return roundTrips == 0 ? 0 : ticks * 1e6 / clockTicks / roundTrips;
    }

    private static void sleep(Duration d) throws InterruptedException {
        if (!d.isZero()) {
            Thread.sleep(d);
        }
    }

    /** The validated command line. */
    private record Settings(
            boolean idle,
            InetAddress host,
            int port,
            int connections,
            int size,
            Duration duration,
            Duration warmup,
            Duration hold,
            int threads,
            List<InetAddress> sources,
            int connectConcurrency,
            String serverPid,
            int clockTicks,
            long seed) {

        static Settings of(Flags f) throws Flags.BadArgument {
            boolean idle = f.has("idle");
            if (idle == f.has("connections")) {
                throw new Flags.BadArgument("give exactly one of --connections (ping-pong) and --idle");
            }
            if (!f.has("port")) {
                throw new Flags.BadArgument("--port is required");
            }
            InetAddress host;
            try {
                host = InetAddress.getByName(f.string("host", "127.0.0.1"));
            } catch (IOException e) {
                throw new Flags.BadArgument("--host: " + e.getMessage());
            }
            if (!host.isLoopbackAddress()) {
                // load tests only ever target this machine
                throw new Flags.BadArgument("--host must be a loopback address, not " + host.getHostAddress());
            }
            int connections = idle ? f.integer("idle", 0, 1, 60_000) : f.integer("connections", 0, 1, 60_000);
            long fdLimit = ProcessCpu.openFileLimit();
            if (fdLimit > 0 && connections + 64 > fdLimit) {
                throw new Flags.BadArgument(connections + " connections need more than the " + fdLimit
                        + " open files this process may have: raise it with ulimit -n");
            }
            int sourceCount = f.integer("sources", 9, 0, 254);
            List<InetAddress> sources = new ArrayList<>();
            if (host instanceof Inet4Address) {
                for (int i = 1; i <= sourceCount; i++) {
                    try {
                        sources.add(InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) i}));
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }
            }
            if (!idle && f.has("hold")) {
                throw new Flags.BadArgument("--hold belongs to --idle");
            }
            if (idle && !f.has("hold")) {
                throw new Flags.BadArgument("--idle needs --hold SECONDS");
            }
            if (!f.has("server-pid") && f.has("clk-tck")) {
                throw new Flags.BadArgument("--clk-tck belongs to --server-pid");
            }
            String serverPid = f.has("server-pid") ? String.valueOf(f.integer("server-pid", 0, 1, Integer.MAX_VALUE)) : null;
            return new Settings(
                    idle,
                    host,
                    f.integer("port", 0, 1, 65535),
                    connections,
                    f.integer("size", 64, 1, 1 << 20),
                    f.duration("duration", Duration.ofSeconds(10), Duration.ofHours(1)),
                    f.duration("warmup", Duration.ofSeconds(3), Duration.ofHours(1)),
                    f.duration("hold", Duration.ZERO, Duration.ofHours(1)),
                    f.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 256),
                    List.copyOf(sources),
                    f.integer("connect-concurrency", 128, 1, 10_000),
                    serverPid,
                    // USER_HZ is 100 on every mainstream Linux; ci/bench passes getconf CLK_TCK anyway
                    f.integer("clk-tck", 100, 1, 1_000_000),
                    f.has("seed") ? f.integer("seed", 1, Integer.MIN_VALUE, Integer.MAX_VALUE) : 1);
        }
    }
}

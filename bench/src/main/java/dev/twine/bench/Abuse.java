package dev.twine.bench;

import dev.twine.bench.AbuseSessions.Closer;
import dev.twine.bench.AbuseSessions.NotAdmitted;
import dev.twine.bench.AbuseSessions.Outcome;
import dev.twine.bench.AbuseSessions.Session;
import dev.twine.bench.AbuseSessions.Target;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The abuse load tool of {@code ci/abuse}: against one running Twine service it runs, at once and
 * from one attacker source address, a password-guessing loop, a slowloris and a pre-authentication
 * flood, while a legitimate client logs in from another loopback address every few seconds. It
 * prints one {@code result service=... key=value ...} line and exits 1 if a legitimate login failed
 * or was slower than the target, or if the right password worked for the attacker after the
 * penalty began (or, given {@code --max-held N}, if the slowloris and the flood together still
 * held more than N connections at the end); 2 on bad arguments.
 *
 * <ul>
 * <li><b>Guessing</b>: {@code --guessers} connections, each making login attempts in lock step
 * (send, wait for the answer) with a wrong password for the real user, reconnecting whenever the
 * server cuts it off. Each answer is counted as evaluated (a definite failure), refused (the
 * protocol's temporary failure), cut off (the connection ended or did not answer), or success.
 * Once the attacker has had {@code --penalty-after} definite failures, or the server has answered
 * a temporary failure, "the penalty has begun": from then on every {@code --right-every}-th
 * attempt, and the first of each new connection unless the last right one worked (every other
 * connection for SSH), uses the <em>right</em> password, and a success counts as a leak.
 * <li><b>Slowloris</b>: {@code --slowloris} connections, each sending the start of a command that
 * never ends ({@code a1 LOGIN aaa...}, {@code EHLO aaa...}, an XMPP stream dripping whitespace, an
 * SSH identification line) one byte every {@code --drip}; counted at the end of the window: still
 * held, closed by the server before its normal greeting (refused at connect), or after it (timed
 * out).
 * <li><b>Flood</b>: up to {@code --flood} silent connections, classified the same way.
 * <li><b>Legitimate</b>: after one unmeasured warm-up login, every {@code --legit-interval} a
 * fresh connection from {@code --legit} logs in with the right password, on a platform thread of
 * its own; its latency runs from before the connect to the success answer, bounded by
 * {@code --legit-timeout} in all. Each login is also printed as a {@code login ...} line.
 * </ul>
 *
 * <p>Only loopback targets and sources are accepted. SSH is driven through OpenSSH's {@code ssh}
 * (see {@link AbuseSsh}); the other protocols through {@link AbuseSessions}.
 */
public final class Abuse {
    private static final Set<String> OPTIONS = Set.of("service", "host", "port", "user", "password", "wrong-password",
            "domain", "attacker", "legit", "duration", "guessers", "slowloris", "drip", "flood", "legit-interval",
            "legit-timeout", "target", "penalty-after", "right-every", "work", "ssh-prompts", "connect-concurrency", "max-held");
    private static final String USAGE = """
            usage: Abuse --service smtp|submission|imap|pop3|xmpp|ssh --port N --user NAME --password PW
                         [--host 127.0.0.1] [--domain D] [--wrong-password PW] [--attacker 127.0.0.1]
                         [--legit 127.0.0.2] [--duration 20s] [--guessers 10] [--slowloris 2000] [--drip 5s]
                         [--flood 5000] [--legit-interval 2s] [--legit-timeout 10s] [--target 2s]
                         [--penalty-after 10] [--right-every 5] [--connect-concurrency 100] [--max-held N]
                         [--work DIR (ssh: for its askpass script)] [--ssh-prompts 3]""";
    private static final Set<String> SERVICES = Set.of("smtp", "submission", "imap", "pop3", "xmpp", "ssh");
    /** A connection the server closes this soon after it opened counts as refused, not timed out. */
    private static final Duration REFUSED_WITHIN = Duration.ofSeconds(2);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    /** The longest a guessing connection waits for one answer (the server's delay included). */
    private static final Duration GUESS_READ_TIMEOUT = Duration.ofSeconds(20);

    private Abuse() {
    }

    /** The settings of one run. */
    record Settings(String service, InetSocketAddress server, String user, String password, String wrong,
            String domain, InetAddress attacker, InetAddress legit, Duration duration, int guessers, int slowloris,
            Duration drip, int flood, Duration legitInterval, Duration legitTimeout, Duration target,
            int penaltyAfter, int rightEvery, Path work, int sshPrompts, int connectConcurrency, int maxHeld) {

        Target endpoint() {
            return new Target(service, server, user, domain);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(USAGE);
            return;
        }
        Settings s;
        try {
            s = settings(Flags.parse(args, OPTIONS));
        } catch (Flags.BadArgument e) {
            System.err.println("abuse: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        int status;
        try {
            status = new Run(s).run();
        } catch (IOException e) {
            System.err.println("abuse: " + e.getMessage());
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private static Settings settings(Flags f) throws Flags.BadArgument {
        String service = f.string("service", "");
        if (!SERVICES.contains(service)) {
            throw new Flags.BadArgument("--service: one of " + String.join(", ", new java.util.TreeSet<>(SERVICES)));
        }
        if (!f.has("port") || !f.has("user") || !f.has("password")) {
            throw new Flags.BadArgument("--port, --user and --password are required");
        }
        InetAddress host = loopback(f, "host", "127.0.0.1");
        int port = f.integer("port", 0, 1, 65_535);
        Duration max = Duration.ofMinutes(10);
        Settings s = new Settings(service, new InetSocketAddress(host, port), f.string("user", ""),
                f.string("password", ""), f.string("wrong-password", "not-the-password-" + Long.toHexString(System.nanoTime())),
                f.string("domain", "abuse.test"), loopback(f, "attacker", "127.0.0.1"), loopback(f, "legit", "127.0.0.2"),
                f.duration("duration", Duration.ofSeconds(20), max), f.integer("guessers", 10, 0, 1_000),
                f.integer("slowloris", 2_000, 0, 10_000), f.duration("drip", Duration.ofSeconds(5), max),
                f.integer("flood", 5_000, 0, 10_000), f.duration("legit-interval", Duration.ofSeconds(2), max),
                f.duration("legit-timeout", Duration.ofSeconds(10), max), f.duration("target", Duration.ofSeconds(2), max),
                f.integer("penalty-after", 10, 1, 1_000_000), f.integer("right-every", 5, 1, 1_000_000),
                Path.of(f.string("work", System.getProperty("java.io.tmpdir"))), f.integer("ssh-prompts", 3, 1, 100),
                f.integer("connect-concurrency", 100, 1, 1_000), f.integer("max-held", -1, -1, 1_000_000));
        if (s.duration().isZero() || s.drip().isZero() || s.legitInterval().isZero()) {
            throw new Flags.BadArgument("--duration, --drip and --legit-interval must be more than 0");
        }
        if (s.attacker().equals(s.legit())) {
            throw new Flags.BadArgument("--attacker and --legit must differ: the point is another client's view");
        }
        return s;
    }

    private static InetAddress loopback(Flags f, String name, String fallback) throws Flags.BadArgument {
        String raw = f.string(name, fallback);
        try {
            InetAddress a = InetAddress.getByName(raw);
            if (!a.isLoopbackAddress()) {
                throw new Flags.BadArgument("--" + name + ": " + raw + " is not a loopback address (loopback only)");
            }
            return a;
        } catch (java.net.UnknownHostException e) {
            throw new Flags.BadArgument("--" + name + ": unknown host " + raw);
        }
    }

    /** Counts of the guessing loop. */
    static final class Guessing {
        final LongAdder attempts = new LongAdder();
        final LongAdder failed = new LongAdder();
        final LongAdder refused = new LongAdder();
        final LongAdder cutOff = new LongAdder();
        final LongAdder successes = new LongAdder();
        final LongAdder connections = new LongAdder();
        final LongAdder notAdmitted = new LongAdder();
        final LongAdder rightTried = new LongAdder();
        final LongAdder leaks = new LongAdder();
        final LongAdder answerNanos = new LongAdder();
        final LongAdder answers = new LongAdder();
        final AtomicLong maxAnswerNanos = new AtomicLong();
        volatile boolean penaltyBegan;
        volatile long penaltyBeganNanos;

        /** Records one evaluated attempt; {@code right} says whether it used the right password. */
        void record(Outcome o, boolean right, long answerNanos, long start) {
            attempts.increment();
            switch (o) {
                case FAILED -> failed.increment();
                case REFUSED -> refused.increment();
                case CUT_OFF -> cutOff.increment();
                case SUCCESS -> successes.increment();
            }
            if (o == Outcome.FAILED || o == Outcome.REFUSED) {
                this.answerNanos.add(answerNanos);
                answers.increment();
                maxAnswerNanos.accumulateAndGet(answerNanos, Math::max);
            }
            if (right) {
                rightTried.increment();
                if (o == Outcome.SUCCESS) {
                    leaks.increment();
                }
            }
        }

        void checkPenalty(int penaltyAfter, long start) {
            if (!penaltyBegan && (failed.sum() >= penaltyAfter || refused.sum() > 0)) {
                penaltyBeganNanos = System.nanoTime() - start;
                penaltyBegan = true;
            }
        }
    }

    /** Counts of the slowloris or the flood. */
    static final class Holding {
        final LongAdder tried = new LongAdder();
        final LongAdder connectFailed = new LongAdder();
        final LongAdder opened = new LongAdder();
        final LongAdder refused = new LongAdder();
        final LongAdder closedLater = new LongAdder();
        /** Open, and the server has not closed them: the drip list for a slowloris. */
        final ConcurrentLinkedQueue<Held> open = new ConcurrentLinkedQueue<>();

        /** Open as the tool sees them: the server has not closed them. */
        long heldByClient() {
            return open.stream().filter(h -> !h.closed).count();
        }

        /**
         * Open on the server's side too: a connect the kernel completed while the server's accept
         * queue was full looks open to the client but is held by nobody, so when the kernel's
         * table is readable the server-side state decides. {@code serverSide} is the client
         * ports the server has an established connection with, or null if unknown.
         */
        long held(Set<Integer> serverSide) {
            if (serverSide == null) {
                return heldByClient();
            }
            return open.stream().filter(h -> !h.closed && serverSide.contains(h.socket.getLocalPort())).count();
        }

        /** The counts at one moment (the end of the window): later closes are ours, not the server's. */
        Snapshot snapshot(Set<Integer> serverSide) {
            return new Snapshot(tried.sum(), opened.sum(), connectFailed.sum(), refused.sum(), closedLater.sum(),
                    held(serverSide), heldByClient());
        }
    }

    /** {@link Holding}'s counts at the end of the window. */
    record Snapshot(long tried, long opened, long connectFailed, long refused, long closedLater, long held,
            long heldByClient) {
    }

    /**
     * The ports of {@code client} that the server's side of {@code server} has an ESTABLISHED
     * connection with, from Linux's /proc/net/tcp and tcp6 (loopback: both ends are on this
     * machine); null when they cannot be read or the client is not IPv4.
     */
    static Set<Integer> serverSidePorts(InetSocketAddress server, InetAddress client) {
        byte[] a = client.getAddress();
        if (a.length != 4) {
            return null;
        }
        // /proc shows each 32-bit word of an address in host (little-endian) order
        String want = String.format(Locale.ROOT, "%02X%02X%02X%02X", a[3] & 0xff, a[2] & 0xff, a[1] & 0xff, a[0] & 0xff);
        Set<Integer> ports = new java.util.HashSet<>();
        boolean read = false;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines;
            try {
                lines = java.nio.file.Files.readAllLines(Path.of(table));
            } catch (IOException e) {
                continue;
            }
            read = true;
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 4 || !f[3].equals("01")) {
                    continue; // 01 is ESTABLISHED
                }
                int localColon = f[1].lastIndexOf(':');
                int remoteColon = f[2].lastIndexOf(':');
                if (localColon < 8 || remoteColon < 8) {
                    continue;
                }
                int localPort = Integer.parseInt(f[1].substring(localColon + 1), 16);
                String remoteAddress = f[2].substring(remoteColon - 8, remoteColon);
                if (localPort == server.getPort() && remoteAddress.equals(want)) {
                    ports.add(Integer.parseInt(f[2].substring(remoteColon + 1), 16));
                }
            }
        }
        return read ? ports : null;
    }

    /** One held connection. */
    static final class Held {
        final Socket socket;
        final long openedNanos;
        volatile boolean closed;
        int sent;

        Held(Socket socket) {
            this.socket = socket;
            this.openedNanos = System.nanoTime();
        }
    }

    /** One run against one service. */
    static final class Run {
        private final Settings s;
        private final Closer closer = new Closer();
        private final Guessing guessing = new Guessing();
        private final Holding slow = new Holding();
        private final Holding flood = new Holding();
        private final List<Long> legitNanos = Collections.synchronizedList(new ArrayList<>());
        private final LongAdder legitFailed = new LongAdder();
        private final AtomicInteger legitReported = new AtomicInteger();
        private final AbuseSsh ssh;
        private volatile boolean over;
        private long start;
        private long deadline;

        Run(Settings s) throws IOException {
            this.s = s;
            this.ssh = s.service().equals("ssh") ? new AbuseSsh(s) : null;
        }

        int run() throws InterruptedException {
            // one unmeasured login first: the server's first one pays for class loading and JIT
            String warm = legitLogin(Duration.ofSeconds(60));
            if (warm != null) {
                System.err.println("abuse: " + s.service() + ": the warm-up login failed: " + warm);
            }
            start = System.nanoTime();
            deadline = start + s.duration().toNanos();
            List<Thread> threads = new ArrayList<>();
            boolean guess = !s.service().equals("smtp"); // port 25 has no login to guess
            for (int i = 0; guess && i < s.guessers(); i++) {
                threads.add(Thread.ofVirtual().name("guess-" + i).start(this::guess));
            }
            threads.add(Thread.ofVirtual().name("slowloris").start(() -> hold(slow, s.slowloris(), true)));
            threads.add(Thread.ofVirtual().name("drip").start(this::drip));
            threads.add(Thread.ofVirtual().name("flood").start(() -> hold(flood, s.flood(), false)));
            // the legitimate client on a platform thread of its own: thousands of the attack's
            // virtual threads must not delay it on the tool's side and pass for the server's delay
            Thread legit = Thread.ofPlatform().name("legit").daemon().priority(Thread.MAX_PRIORITY).start(this::legitLoop);
            long now = System.nanoTime();
            if (now < deadline) {
                Thread.sleep(Duration.ofNanos(deadline - now));
            }
            // the end of the window: what the server still holds, before we close anything
            Set<Integer> serverSide = serverSidePorts(s.server(), s.attacker());
            Snapshot slowEnd = slow.snapshot(serverSide);
            Snapshot floodEnd = flood.snapshot(serverSide);
            // a login begun before the end is still measured (the attack stops starting new work)
            if (!legit.join(s.legitTimeout().plusSeconds(5))) {
                legitFailed.increment();
                System.err.println("abuse: " + s.service() + ": a legitimate login was still unfinished "
                        + s.legitTimeout().plusSeconds(5).toSeconds() + " s after the window");
            }
            over = true;
            if (ssh != null) {
                ssh.stop();
            }
            closer.closeAll();
            for (Thread t : threads) {
                t.interrupt();
            }
            for (Thread t : threads) {
                t.join(Duration.ofSeconds(10));
            }
            return report(slowEnd, floodEnd);
        }

        private boolean timeUp() {
            return over || System.nanoTime() >= deadline;
        }

        // --- the guessing loop -------------------------------------------------------------------

        private void guess() {
            long n = 0;
            long sinceRight = 0;
            boolean rightWorked = false;
            while (!timeUp()) {
                if (ssh != null) {
                    // one ssh process is one connection of several attempts: every other one, once
                    // the penalty has begun, tries the right password
                    boolean right = guessing.penaltyBegan && (n++ % 2 == 0);
                    ssh.guess(guessing, right, start);
                    guessing.checkPenalty(s.penaltyAfter(), start);
                    continue;
                }
                Session session;
                try {
                    session = AbuseSessions.open(s.endpoint(), s.attacker(), GUESS_READ_TIMEOUT, closer);
                } catch (NotAdmitted e) {
                    if (!timeUp()) {
                        guessing.notAdmitted.increment();
                        pause(Duration.ofMillis(100)); // refused at connect: do not spin
                    }
                    continue;
                } catch (IOException e) {
                    continue;
                }
                guessing.connections.increment();
                boolean first = true;
                try {
                    while (!timeUp()) {
                        // once the penalty has begun: the right password every --right-every-th
                        // attempt, and first on each new connection (a penalised attacker gets
                        // few) unless it just worked (then the guessing goes on at full rate)
                        boolean right = guessing.penaltyBegan
                                && (sinceRight >= s.rightEvery() - 1 || first && !rightWorked);
                        first = false;
                        sinceRight = right ? 0 : sinceRight + 1;
                        long t0 = System.nanoTime();
                        Outcome o = session.attempt(right ? s.password() : s.wrong());
                        long took = System.nanoTime() - t0;
                        if (timeUp()) {
                            break; // cut off by the end of the run, not by the server: not counted
                        }
                        guessing.record(o, right, took, start);
                        guessing.checkPenalty(s.penaltyAfter(), start);
                        if (right) {
                            rightWorked = o == Outcome.SUCCESS;
                        }
                        if (o == Outcome.SUCCESS || o == Outcome.CUT_OFF) {
                            break; // logged in (start over as the attacker) or cut off: reconnect
                        }
                    }
                } catch (IOException e) {
                    // counted as cut off inside attempt; reconnect
                } finally {
                    session.close();
                }
            }
        }

        // --- slowloris and flood -----------------------------------------------------------------

        private void hold(Holding h, int count, boolean drip) {
            Semaphore connecting = new Semaphore(s.connectConcurrency());
            byte[] prefix = AbuseSessions.slowPrefix(s.service(), s.domain());
            for (int i = 0; i < count && !timeUp(); i++) {
                try {
                    connecting.acquire();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                h.tried.increment();
                Thread.ofVirtual().start(() -> {
                    Held held;
                    try {
                        Socket socket = AbuseSessions.connect(s.attacker(), s.server(), CONNECT_TIMEOUT);
                        closer.add(socket);
                        held = new Held(socket);
                        h.opened.increment();
                        if (drip) {
                            socket.getOutputStream().write(prefix[0]);
                            held.sent = 1;
                        }
                        h.open.add(held);
                    } catch (IOException e) {
                        if (!timeUp()) {
                            h.connectFailed.increment();
                        }
                        return;
                    } finally {
                        connecting.release();
                    }
                    watch(h, held);
                });
            }
        }

        /**
         * Reads what the server sends until it closes the connection. A close before the
         * service's normal greeting is a refusal at connect (the per-address caps answer with the
         * protocol's refusal, or nothing); a close after it is a timeout. Judged by the bytes, not
         * by the time, so that the tool's own scheduling delays under load cannot blur the two.
         */
        private void watch(Holding h, Held held) {
            byte[] sink = new byte[4096];
            StringBuilder first = new StringBuilder();
            boolean greeted = false;
            String marker = AbuseSessions.greeting(s.service());
            try {
                InputStream in = held.socket.getInputStream();
                int n;
                while ((n = in.read(sink)) >= 0) {
                    if (!greeted && first.length() < 4096) {
                        first.append(new String(sink, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
                        greeted = marker != null && first.indexOf(marker) >= 0;
                    }
                }
            } catch (IOException e) {
                // reset by the server, or closed by us at the end
            }
            if (over) {
                return;
            }
            held.closed = true;
            boolean refused = marker == null || first.length() == 0 && s.service().equals("xmpp")
                    ? System.nanoTime() - held.openedNanos <= REFUSED_WITHIN.toNanos()
                    : !greeted;
            if (refused) {
                h.refused.increment();
            } else {
                h.closedLater.increment();
            }
            AbuseSessions.closeQuietly(held.socket);
        }

        /** Every {@code --drip}, one more byte on every slowloris connection the server still holds. */
        private void drip() {
            byte[] prefix = AbuseSessions.slowPrefix(s.service(), s.domain());
            byte filler = AbuseSessions.slowFiller(s.service());
            while (!timeUp()) {
                if (!pause(s.drip())) {
                    return;
                }
                for (Held h : slow.open) {
                    if (h.closed || timeUp()) {
                        continue;
                    }
                    try {
                        OutputStream out = h.socket.getOutputStream();
                        out.write(h.sent < prefix.length ? prefix[h.sent] : filler);
                        h.sent++;
                    } catch (IOException e) {
                        // the reader sees the close and counts it
                    }
                }
            }
        }

        // --- the legitimate client ---------------------------------------------------------------

        private void legitLoop() {
            // the attack gets a moment to build up before the first measured login
            long next = start + Math.min(s.legitInterval().toNanos(), Duration.ofSeconds(1).toNanos());
            while (true) {
                long now = System.nanoTime();
                if (next > now && !pause(Duration.ofNanos(next - now))) {
                    return;
                }
                if (System.nanoTime() >= deadline) {
                    return;
                }
                long t0 = System.nanoTime();
                String problem = legitLogin(s.legitTimeout());
                long took = System.nanoTime() - t0;
                System.out.printf(Locale.ROOT, "login at_s=%.1f took_s=%.3f %s%n", (t0 - start) / 1e9, took / 1e9,
                        problem == null ? "ok" : "failed: " + problem);
                if (problem == null) {
                    legitNanos.add(took);
                } else {
                    legitFailed.increment();
                    if (legitReported.incrementAndGet() <= 5) {
                        System.err.printf(Locale.ROOT, "abuse: %s: legitimate login failed after %.2f s: %s%n",
                                s.service(), took / 1e9, problem);
                    }
                }
                next = t0 + s.legitInterval().toNanos();
            }
        }

        /** One login from the legitimate address: null if it worked, else what went wrong. */
        private String legitLogin(Duration timeout) {
            if (ssh != null) {
                return ssh.legitLogin(timeout);
            }
            long t0 = System.nanoTime();
            Closer own = new Closer();
            // the whole login is bounded, not only each read: a server that answers slowly fails it
            Thread watchdog = Thread.ofPlatform().daemon().start(() -> {
                if (pause(timeout)) {
                    own.closeAll();
                }
            });
            try (Session session = AbuseSessions.open(s.endpoint(), s.legit(), timeout, own)) {
                Outcome o = session.attempt(s.password());
                if (o != Outcome.SUCCESS) {
                    return "the right password got " + o;
                }
                if (!session.usable()) {
                    return "the password was accepted but the mailbox is in use by another session";
                }
                session.quit();
                return null;
            } catch (IOException e) {
                long took = System.nanoTime() - t0;
                if (took >= timeout.toNanos()) {
                    return "not logged in within " + timeout.toSeconds() + " s";
                }
                return e.getMessage() + String.format(Locale.ROOT, " (after %.2f s)", took / 1e9);
            } finally {
                watchdog.interrupt();
                own.closeAll();
            }
        }

        /** Sleeps; false if interrupted (the run is over). */
        private static boolean pause(Duration d) {
            try {
                Thread.sleep(d);
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        // --- the result ----------------------------------------------------------------------------

        private int report(Snapshot slow, Snapshot flood) {
            List<Long> lat;
            synchronized (legitNanos) {
                lat = new ArrayList<>(legitNanos);
            }
            Collections.sort(lat);
            double maxS = lat.isEmpty() ? Double.NaN : lat.get(lat.size() - 1) / 1e9;
            double p50S = lat.isEmpty() ? Double.NaN : lat.get((lat.size() - 1) / 2) / 1e9;
            long slowOver = lat.stream().filter(n -> n > s.target().toNanos()).count();
            long legitOk = lat.size() - slowOver;
            long legitBad = legitFailed.sum() + slowOver;
            long leaks = guessing.leaks.sum();
            // optional: the attacker's slowloris and flood together may hold at most --max-held
            boolean heldOk = s.maxHeld() < 0 || slow.held() + flood.held() <= s.maxHeld();
            if (!heldOk) {
                System.err.printf(Locale.ROOT, "abuse: %s: the attacker still held %d connections at the end (--max-held %d)%n",
                        s.service(), slow.held() + flood.held(), s.maxHeld());
            }
            boolean ok = legitBad == 0 && !lat.isEmpty() && leaks == 0 && heldOk;
            double meanDelay = guessing.answers.sum() == 0 ? 0 : guessing.answerNanos.sum() / 1e9 / guessing.answers.sum();
            String line = String.format(Locale.ROOT,
                    "result service=%s seconds=%d attempts=%d evaluated=%d refused=%d cut_off=%d successes=%d"
                            + " right_tried=%d leaks=%d penalty_after_s=%s guess_conns=%d guess_not_admitted=%d"
                            + " mean_answer_s=%.2f max_answer_s=%.2f"
                            + " slow_tried=%d slow_opened=%d slow_connect_failed=%d slow_refused=%d slow_closed_later=%d"
                            + " slow_held=%d slow_held_client_view=%d flood_tried=%d flood_opened=%d flood_connect_failed=%d"
                            + " flood_refused=%d flood_closed_later=%d flood_held=%d flood_held_client_view=%d"
                            + " legit_ok=%d legit_failed=%d legit_slow=%d"
                            + " legit_p50_s=%s legit_max_s=%s target_s=%.1f verdict=%s",
                    s.service(), s.duration().toSeconds(), guessing.attempts.sum(), guessing.failed.sum(),
                    guessing.refused.sum(), guessing.cutOff.sum(), guessing.successes.sum(), guessing.rightTried.sum(),
                    leaks, guessing.penaltyBegan ? String.format(Locale.ROOT, "%.1f", guessing.penaltyBeganNanos / 1e9) : "-",
                    guessing.connections.sum(), guessing.notAdmitted.sum(), meanDelay,
                    guessing.maxAnswerNanos.get() / 1e9,
                    slow.tried(), slow.opened(), slow.connectFailed(), slow.refused(), slow.closedLater(), slow.held(),
                    slow.heldByClient(), flood.tried(), flood.opened(), flood.connectFailed(), flood.refused(),
                    flood.closedLater(), flood.held(), flood.heldByClient(), legitOk, legitFailed.sum(), slowOver,
                    Double.isNaN(p50S) ? "-" : String.format(Locale.ROOT, "%.3f", p50S),
                    Double.isNaN(maxS) ? "-" : String.format(Locale.ROOT, "%.3f", maxS),
                    s.target().toMillis() / 1e3, ok ? "OK" : "FAIL");
            System.out.println(line);
            if (lat.isEmpty() && legitFailed.sum() == 0) {
                System.err.println("abuse: " + s.service() + ": no legitimate login was measured (window too short?)");
            }
            return ok ? 0 : 1;
        }
    }
}

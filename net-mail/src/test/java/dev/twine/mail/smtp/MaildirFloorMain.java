package dev.twine.mail.smtp;

import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The storage floor for {@code ci/bench-smtp}: Twine's Maildir delivery alone, with no SMTP in
 * front of it. {@code MaildirFloorMain MAILDIR USER WARMUP COUNT THREADS SIZE}: {@code THREADS}
 * virtual threads (one per bench session) deliver {@code WARMUP} unmeasured messages, then
 * {@code COUNT} measured ones, of {@code SIZE} bytes each with the {@code Return-Path:} line the
 * SMTP delivery adds, through {@link Maildir#deliver(String, byte[]...)}: the same {@code tmp/}
 * file, force, rename into {@code new/} and group-committed directory force as behind every 250.
 * Prints {@code floor SECONDS USER_US SYS_US}: the measured part's wall time, and the whole
 * process's user and system CPU over it per message (from {@code /proc/self/stat}, so JIT and GC
 * threads count, as they do for the server), then exits; 1 if a delivery failed.
 */
public final class MaildirFloorMain {
    /** Linux's USER_HZ, which {@code /proc/PID/stat} counts in (100 on every architecture Java runs on). */
    private static final double TICKS_PER_SECOND = 100;

    private MaildirFloorMain() {}

    /** Entry point. */
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: MaildirFloorMain MAILDIR USER WARMUP COUNT THREADS SIZE");
            System.exit(2);
        }
        Maildir maildir = Maildir.open(Path.of(args[0]));
        String user = args[1];
        int warmup = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        byte[] returnPath = "Return-Path: <sender@bench.test>\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] text = new byte[Integer.parseInt(args[5])];
        Arrays.fill(text, (byte) 'x');
        run(maildir, user, returnPath, text, warmup, threads);
        long[] cpu0 = ticks();
        long t0 = System.nanoTime();
        run(maildir, user, returnPath, text, count, threads);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] cpu1 = ticks();
        double usPerTick = 1e6 / TICKS_PER_SECOND;
        System.out.printf(Locale.ROOT, "floor %.3f %.1f %.1f%n", seconds,
                (cpu1[0] - cpu0[0]) * usPerTick / count, (cpu1[1] - cpu0[1]) * usPerTick / count);
    }

    /** {@code THREADS} virtual threads deliver {@code count} messages between them; exits 1 on a failure. */
    private static void run(Maildir maildir, String user, byte[] returnPath, byte[] text, int count, int threads)
            throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        Thread[] workers = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            workers[i] = Thread.ofVirtual().start(() -> {
                try {
                    while (next.getAndIncrement() < count) {
                        maildir.deliver(user, returnPath, text);
                    }
                } catch (IOException e) {
                    System.err.println("floor: delivery failed: " + e);
                    System.exit(1);
                }
            });
        }
        for (Thread w : workers) {
            w.join();
        }
    }

    /** This process's user and system CPU so far, in clock ticks (fields 14 and 15 of /proc/self/stat). */
    private static long[] ticks() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        // the command name, in parentheses, may hold spaces: count fields after its closing one
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
    }
}

package dev.twine.ssh.internal;

import dev.twine.ssh.Pty;
import java.io.Console;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The user's terminal, through {@code stty} on {@code /dev/tty} (the JDK has no terminal API):
 * raw mode for a remote shell, restored on every way out (a normal return, an exception, and the
 * JVM's exit through a shutdown hook, which covers SIGTERM and SIGINT), its size, and SIGWINCH.
 */
final class Terminal implements AutoCloseable {

    private static final File TTY = new File("/dev/tty");

    private final String saved;
    private final Thread restoreOnExit;
    private final java.util.concurrent.atomic.AtomicBoolean restored = new java.util.concurrent.atomic.AtomicBoolean();

    private Terminal(String saved) {
        this.saved = saved;
        this.restoreOnExit = new Thread(this::restore, "conch-restore-tty");
        Runtime.getRuntime().addShutdownHook(restoreOnExit);
    }

    /**
     * Whether standard input and output are a terminal. {@code System.console()} says so on
     * JDK 21; from JDK 22 it exists without a terminal too and {@code isTerminal()} tells.
     */
    static boolean interactive() {
        Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(c);
        } catch (NoSuchMethodException jdk21) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /** Puts the terminal in raw mode without echo (the remote side echoes), keeping the old mode. */
    static Terminal raw() throws IOException, InterruptedException {
        String saved = stty("-g").strip();
        stty("raw", "-echo");
        return new Terminal(saved);
    }

    /** The terminal as the server should see it: {@code $TERM} and {@code stty size}. */
    static Pty pty() throws InterruptedException {
        String term = System.getenv().getOrDefault("TERM", "xterm");
        int[] size = size();
        return new Pty(term, size[0], size[1]);
    }

    /** Columns and rows, or 80x24 if {@code stty} cannot tell. */
    static int[] size() throws InterruptedException {
        try {
            String[] rc = stty("size").strip().split("\\s+");
            return new int[] {Integer.parseInt(rc[1]), Integer.parseInt(rc[0])};
        } catch (IOException | RuntimeException e) {
            return new int[] {80, 24};
        }
    }

    /** Runs {@code action} on each SIGWINCH (through jdk.unsupported: the JDK's own is not reachable). */
    static void onResize(Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), s -> action.run());
        } catch (IllegalArgumentException unsupported) {
            // no SIGWINCH here: the size sent at the start stays
        }
    }

    private static String stty(String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new java.util.ArrayList<>(List.of("stty")));
        pb.command().addAll(List.of(args));
        pb.redirectInput(TTY);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("stty " + String.join(" ", args) + " failed");
        }
        return out;
    }

    private void restore() {
        if (!restored.compareAndSet(false, true)) {
            return;
        }
        try {
            stty(saved);
        } catch (IOException e) {
            System.err.println("twine conch: could not restore the terminal: run 'stty sane'");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Restores the terminal mode saved by {@link #raw()}. Idempotent. */
    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(restoreOnExit);
        } catch (IllegalStateException exiting) {
            // the JVM is exiting: the hook has run or runs now, and restores nothing twice
        }
    }
}

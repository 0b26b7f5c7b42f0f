package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finding and running the real third-party peers (OpenSSH) in tests. */
final class Peers {

    private Peers() {
    }

    /** An executable's path; fails in CI when missing, skips otherwise. */
    static String require(String path) {
        if (!Files.isExecutable(Path.of(path))) {
            String msg = path + " is missing: install the packages in ci/peers/ssh.txt";
            if ("true".equals(System.getenv("CI"))) {
                fail(msg);
            }
            assumeTrue(false, msg);
        }
        return path;
    }

    /** What a finished process did. */
    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
        }
    }

    /** Runs a command with {@code stdin}, bounded by {@code limit}; killed if it overruns. */
    static Run run(List<String> command, String stdin, Duration limit) throws IOException, InterruptedException {
        return run(command, stdin, limit, null);
    }

    static Run run(List<String> command, String stdin, Duration limit, Path dir) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Path out = Files.createTempFile("peer", ".out");
        Path err = Files.createTempFile("peer", ".err");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        try {
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException ignored) {
                // the peer exited before reading its input
            }
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                fail("timed out after " + limit + ": " + command + "\nstderr: " + Files.readString(err));
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Starts a long-running peer with its output in {@code log}. */
    static Process start(List<String> command, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        pb.redirectOutput(log.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    /** Stops a peer by its PID: TERM, then KILL. */
    static void stop(Process p) throws InterruptedException {
        if (p == null) {
            return;
        }
        p.destroy();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /**
     * Waits until something accepts TCP connections on 127.0.0.1:{@code port}; {@code still} is
     * asked between tries and says whether waiting still makes sense (the peer is alive).
     *
     * @return whether the port was listening within {@code limit}
     */
    static boolean awaitListening(int port, Duration limit, java.util.function.BooleanSupplier still)
            throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (true) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 500);
                return true;
            } catch (IOException notYet) {
                if (!still.getAsBoolean() || System.nanoTime() > end) {
                    return false;
                }
                Thread.sleep(100);
            }
        }
    }

    /** Reads a whole stream as UTF-8. */
    static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Makes an OpenSSH key pair with ssh-keygen: returns the private key path. */
    static Path keygen(Path dir, String type, String name) throws IOException, InterruptedException {
        String keygen = require("/usr/bin/ssh-keygen");
        Path key = dir.resolve(name);
        List<String> cmd = new ArrayList<>(List.of(keygen, "-q", "-t", type, "-N", "", "-C", name, "-f", key.toString()));
        if (type.equals("rsa")) {
            cmd.addAll(List.of("-b", "3072"));
        }
        Run r = run(cmd, null, Duration.ofSeconds(60));
        if (r.exit() != 0) {
            fail("ssh-keygen failed: " + r);
        }
        return key;
    }
}

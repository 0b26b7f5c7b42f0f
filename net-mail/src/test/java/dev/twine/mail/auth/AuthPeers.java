package dev.twine.mail.auth;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real peers of the auth tests (ci/peers/mail-smtp.txt): a missing one fails under CI=true, else skips. */
final class AuthPeers {
    private AuthPeers() {}

    static String require(String program) {
        if (Files.isExecutable(Path.of(program))) {
            return program;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail(program + " is missing: install the packages in ci/peers/mail-smtp.txt");
        }
        assumeTrue(false, program + " is not installed; skipping");
        return program;
    }

    /** {@link #require} for a file that is not a program: a Python module. */
    static void requireFile(String file) {
        if (Files.isRegularFile(Path.of(file))) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            fail(file + " is missing: install the packages in ci/peers/mail-smtp.txt");
        }
        assumeTrue(false, file + " is not installed; skipping");
    }

    record Run(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "exit " + exit + ": " + text() + err;
        }
    }

    /** Runs {@code command} with {@code input} on its standard input; at most 60 s. */
    static Run run(List<String> command, byte[] input) throws Exception {
        Process p = new ProcessBuilder(command).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(input);
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread drain = Thread.ofVirtual().start(() -> {
            try (InputStream e = p.getErrorStream()) {
                e.transferTo(err);
            } catch (java.io.IOException ignored) {
                // the process is gone
            }
        });
        byte[] out;
        try (InputStream o = p.getInputStream()) {
            out = o.readAllBytes();
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command + " did not finish");
        }
        drain.join();
        return new Run(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
    }
}

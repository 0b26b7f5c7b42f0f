package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The {@code openssl} command line, as the independent peer and certificate maker of the TLS tests. */
final class Openssl {
    private static final AtomicInteger RUNS = new AtomicInteger();

    record Run(int exit, String stdout, String stderr) {}

    private Openssl() {
    }

    /** Skips the test without openssl, except in CI, where it fails. */
    static void require() {
        TestPeers.require("openssl", "openssl");
    }

    /** Runs {@code openssl} with {@code stdin} as its input, bounded to 20 seconds; stderr goes through a file in {@code dir}. */
    static Run run(Path dir, List<String> command, String stdin) throws Exception {
        Path err = dir.resolve("stderr-" + RUNS.incrementAndGet() + ".txt");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        try (Scope scope = Scope.open("process")) {
            Handle<byte[]> out = scope.fork("stdout", () -> p.getInputStream().readAllBytes());
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(US_ASCII));
            }
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly(); // closes its stdout, which ends the reader
                p.waitFor();
            }
            scope.join();
            return new Run(p.exitValue(), new String(out.resultNow(), US_ASCII), Files.readString(err));
        }
    }

    /**
     * Makes an EC P-256 key and a self-signed certificate for {@code commonName} with the given
     * subjectAltName entries ({@code DNS:a.example.org}), valid for a day.
     */
    static void selfSigned(Path dir, Path cert, Path key, String commonName, String... altNames) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "1",
                "-subj", "/CN=" + commonName));
        if (altNames.length > 0) {
            cmd.addAll(List.of("-addext", "subjectAltName=" + String.join(",", altNames)));
        }
        Run r = run(dir, cmd, "");
        assertEquals(0, r.exit(), "openssl req failed: " + r.stderr());
    }

    /** Concatenates PEM files, for a trust file holding several certificates. */
    static Path concat(Path out, Path... pems) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Path p : pems) {
            b.append(Files.readString(p));
        }
        return Files.writeString(out, b);
    }
}

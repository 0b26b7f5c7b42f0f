package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import dev.twine.mail.auth.DkimAlgorithm;
import dev.twine.mail.auth.DkimKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The outbox example: swaks sends, and Debian's python3-dkim verifies the signed copy it filed. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DkimSigningOutboxTest {
    /** dkimpy's verifier with the key record given instead of looked up. */
    static final String VERIFY = "import sys, dkim\n"
            + "record = sys.argv[2].encode()\n"
            + "ok = dkim.verify(open(sys.argv[1], 'rb').read(), dnsfunc=lambda name, timeout=5: record)\n"
            + "print('pass' if ok else 'fail'); sys.exit(0 if ok else 1)\n";

    @TempDir
    Path dir;

    @Test
    void swaksSendsAndDkimpyVerifiesTheSignedCopy() throws Exception {
        String swaks = ExamplePeers.require("/usr/bin/swaks");
        String python = ExamplePeers.require("/usr/bin/python3");
        KeyPair key = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
        Path outbox = dir.resolve("outbox");
        try (Service server = DkimSigningOutbox.start("tcp:0:interface=127.0.0.1", key, outbox)) {
            ExamplePeers.Run sent = ExamplePeers.run(List.of(swaks, "--server", "127.0.0.1:" + server.bindings().get(0).port(),
                    "--from", "alice@example.org", "--to", "out@outbox.test", "--header", "Subject: signed"), null,
                    Duration.ofSeconds(60));
            assertEquals(0, sent.exit(), sent.toString());
        }
        Path filed;
        try (Stream<Path> files = Files.list(outbox)) {
            filed = files.findFirst().orElseThrow();
        }
        assertTrue(Files.readString(filed).startsWith("DKIM-Signature: v=1; a=ed25519-sha256;"));
        String record = DkimKeys.record(key.getPublic());
        ExamplePeers.Run ok = ExamplePeers.run(List.of(python, "-c", VERIFY, filed.toString(), record), null, Duration.ofSeconds(60));
        assertEquals(0, ok.exit(), ok.toString());
        Files.writeString(filed, Files.readString(filed).replace("Subject: signed", "Subject: changed"));
        ExamplePeers.Run bad = ExamplePeers.run(List.of(python, "-c", VERIFY, filed.toString(), record), null, Duration.ofSeconds(60));
        assertEquals(1, bad.exit(), bad.toString());
    }
}

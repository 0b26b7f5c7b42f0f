package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The filter example against swaks: a tagged subject lands in its folder, spam nowhere, the rest in INBOX. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SieveFilterExampleTest {
    @TempDir
    Path dir;

    private static long count(Path d) throws IOException {
        if (!Files.isDirectory(d)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

    @Test
    void swaksMailIsFiledByTagDiscardedAsSpamOrKept() throws Exception {
        String swaks = ExamplePeers.require("/usr/bin/swaks");
        Path mail = dir.resolve("mail");
        try (Service server = SieveFilterExample.start("tcp:0:interface=127.0.0.1", mail)) {
            String at = "127.0.0.1:" + server.bindings().get(0).port();
            for (List<String> header : List.of(List.of("--header", "Subject: [CI] build passed"),
                    List.of("--header", "Subject: lunch?"), List.of("--header", "Subject: win", "--header", "X-Spam: yes"))) {
                List<String> cmd = new java.util.ArrayList<>(List.of(swaks, "--server", at, "--from", "bob@remote.example",
                        "--to", "alice@example.test"));
                cmd.addAll(header);
                ExamplePeers.Run sent = ExamplePeers.run(cmd, null, Duration.ofSeconds(60));
                assertEquals(0, sent.exit(), sent.toString());
            }
        }
        Path alice = mail.resolve("alice");
        assertEquals(1, count(alice.resolve(".ci/cur")), "filed into the tag's folder");
        try (Stream<Path> s = Files.list(alice.resolve(".ci/cur"))) {
            assertTrue(s.findFirst().orElseThrow().getFileName().toString().endsWith(":2,S"), "flagged as seen");
        }
        assertEquals(1, count(alice.resolve("new")), "only the untagged message in INBOX: the spam went nowhere");
    }
}

package dev.twine.ssh.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.ssh.internal.Keys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code authorized_keys} lines and their options (sshd(8) "AUTHORIZED_KEYS FILE FORMAT") from
 * arbitrary bytes (issue 16). If a file holds anything, then reading it throws nothing (a line
 * that does not parse grants nothing and the others still count), and every key it yields, written
 * back as an OpenSSH public key line, reads back as the same key.
 */
class AuthorizedKeysFuzzTest {
    private static final Path DIR = dir();

    @FuzzTest(maxDuration = "10m")
    void everyKeyReadWritesBackAsTheSameKey(byte[] content) throws IOException {
        Path file = DIR.resolve("authorized_keys");
        Files.write(file, content);
        List<Keys.AuthorizedKey> keys = Keys.readAuthorizedKeys(file);
        for (Keys.AuthorizedKey k : keys) {
            Path again = DIR.resolve("again");
            Files.writeString(again, Keys.publicKeyLine(k.key(), "again") + "\n");
            List<Keys.AuthorizedKey> back = Keys.readAuthorizedKeys(again);
            assertEquals(1, back.size());
            assertTrue(Keys.sameKey(k.key(), back.get(0).key()), "the key changed on the way back");
            assertTrue(back.get(0).options().isEmpty());
        }
    }

    private static Path dir() {
        try {
            return Files.createTempDirectory("twine-keys-fuzz");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

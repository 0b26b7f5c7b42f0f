package dev.twine.core.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.auth.UsersFileException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The users file (a Dovecot passwd-file) from arbitrary bytes (issue 16). If a file does not
 * load, then the only escape is {@link UsersFileException} naming the file; if it loads, then
 * adding a user with {@link UsersFile#addUser} (what {@code twine user add} does) leaves every
 * other user's secrets as they were, and the new user's password verifies.
 */
class UsersFileFuzzTest {
    private static final Path DIR = dir();

    @FuzzTest(maxDuration = "10m")
    void addingAUserKeepsEveryOtherUser(byte[] content) throws IOException {
        Path file = DIR.resolve("users");
        Files.write(file, content);
        UsersFile before;
        try {
            before = UsersFile.load(file);
        } catch (UsersFileException refused) {
            assertTrue(refused.getMessage().contains(file.toString()), refused.getMessage());
            return;
        }
        Map<String, List<StoredSecret>> secrets = new LinkedHashMap<>();
        for (String line : new String(content, StandardCharsets.UTF_8).split("\n", -1)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                String name = line.substring(0, colon);
                secrets.put(name, before.secrets(name));
            }
        }
        String added = "fuzz-new-user";
        if (secrets.containsKey(added)) {
            return;
        }
        UsersFile.addUser(file, added, "fuzz-password".toCharArray());
        UsersFile after = UsersFile.load(file);
        for (Map.Entry<String, List<StoredSecret>> e : secrets.entrySet()) {
            assertEquals(e.getValue(), after.secrets(e.getKey()), "user '" + e.getKey() + "' changed");
        }
        assertTrue(!after.secrets(added).isEmpty(), "the added user has no secret");
    }

    private static Path dir() {
        try {
            return Files.createTempDirectory("twine-users-fuzz");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

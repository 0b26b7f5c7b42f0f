package dev.twine.core.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The users file (a Dovecot passwd-file) from arbitrary bytes (issue 16). If a file does not
 * load, then the only escape is {@link UsersFileException} naming the file; if it loads, then
 * adding a user with {@link UsersFile#addUser} (what {@code twine user add} does) leaves every
 * other user's secrets as they were, and the new user has a secret; if the file already has that
 * user (a line with only a name counts, as in Dovecot), then adding it is refused and the file is
 * left as it was.
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
        for (String name : names(content)) {
            secrets.put(name, before.secrets(name));
        }
        String added = "fuzz-new-user";
        if (secrets.containsKey(added)) {
            // The file has that user already, perhaps on a line with no password field: adding
            // it again is refused, and nothing is written.
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> UsersFile.addUser(file, added, "fuzz-password".toCharArray()));
            assertEquals("user " + added + " already exists in " + file, refused.getMessage());
            assertArrayEquals(content, Files.readAllBytes(file), "a refused add changed the file");
            return;
        }
        UsersFile.addUser(file, added, "fuzz-password".toCharArray());
        UsersFile after = UsersFile.load(file);
        for (Map.Entry<String, List<StoredSecret>> e : secrets.entrySet()) {
            assertEquals(e.getValue(), after.secrets(e.getKey()), "user '" + e.getKey() + "' changed");
        }
        assertTrue(!after.secrets(added).isEmpty(), "the added user has no secret");
    }

    /**
     * The user names in a file that loaded, by the format {@link UsersFile} documents: a line's
     * text before its first {@code :}, or the whole line if it has none (a user with no password
     * field); CR before LF is not part of the line; empty and blank lines and lines starting with
     * {@code #} or {@code :} have no user.
     */
    private static Set<String> names(byte[] content) {
        Set<String> names = new LinkedHashSet<>();
        for (String line : new String(content, StandardCharsets.UTF_8).split("\n", -1)) {
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isBlank() || line.startsWith("#") || line.startsWith(":")) {
                continue;
            }
            int colon = line.indexOf(':');
            names.add(colon < 0 ? line : line.substring(0, colon));
        }
        return names;
    }

    private static Path dir() {
        try {
            return Files.createTempDirectory("twine-users-fuzz");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

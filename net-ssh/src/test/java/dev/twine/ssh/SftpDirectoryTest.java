package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Principal;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped SFTP realm: one directory, or one per user with {@code %u}. */
class SftpDirectoryTest {

    @TempDir
    Path dir;

    private static Principal user(String name) {
        return new Principal(name, "password");
    }

    @Test
    void percentUIsTheUserNameAndTheDirectoryIsMadePrivateOnFirstUse() throws Exception {
        SftpDirectory realm = SftpDirectory.of(dir.resolve("home/%u/files"));
        Path alice = realm.avatar(user("alice"));
        assertEquals(dir.resolve("home/alice/files"), alice);
        assertTrue(Files.isDirectory(alice));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(alice)));
        assertEquals(alice, realm.avatar(user("alice")), "a second session finds it made");
        assertEquals(dir.resolve("home/bob/files"), realm.avatar(user("bob")));
    }

    @Test
    void withoutPercentUEveryUserSharesTheDirectory() throws Exception {
        SftpDirectory realm = SftpDirectory.of(dir.resolve("shared"));
        assertEquals(realm.avatar(user("alice")), realm.avatar(user("bob")));
        assertEquals(dir.resolve("50%/x"), SftpDirectory.of(dir.resolve("50%%/x")).avatar(user("alice")));
    }

    @Test
    void aUserNameThatIsNotAPlainFileNameIsRefused() throws Exception {
        SftpDirectory realm = SftpDirectory.of(dir.resolve("home/%u"));
        for (String name : List.of(".", "..", "../alice", "a/b", "nul\0")) {
            assertThrows(AuthenticationException.class, () -> realm.avatar(user(name)), name);
        }
        assertEquals(List.of(), Files.list(dir).toList(), "nothing was made for a refused name");
    }

    @Test
    void onlyPercentUAndPercentPercentAreAllowed() {
        for (String bad : List.of("home/%h", "home/%", "a%xb")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SftpDirectory.of(dir.resolve(bad)), bad);
            assertTrue(e.getMessage().contains("%u"), e.getMessage());
        }
    }

    @Test
    void theDirectoryMayLiveInAZipFileSystem() throws Exception {
        try (FileSystem zip = FileSystems.newFileSystem(dir.resolve("users.zip"), Map.of("create", "true"))) {
            Path alice = SftpDirectory.of(zip.getPath("/home/%u")).avatar(user("alice"));
            assertEquals(zip.getPath("/home/alice"), alice);
            assertTrue(Files.isDirectory(alice));
        }
    }
}

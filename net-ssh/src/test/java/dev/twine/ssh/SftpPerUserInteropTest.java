package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One SFTP root per user ({@code %u}) with OpenSSH's {@code sftp}: each made 0700 at the first
 * login, users isolated from each other, and the OpenSSH extensions sftp uses (posix-rename,
 * statvfs, fsync, hardlink, limits) working inside the root.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SftpPerUserInteropTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path homes;
    Path key;
    Path local;

    @BeforeAll
    void start() throws Exception {
        homes = dir.resolve("homes");
        twine = new TwineSshFixture(dir, b -> b.sftp(SftpDirectory.of(homes.resolve("%u"))));
        key = Peers.keygen(Files.createDirectories(dir.resolve("keys")), "ed25519", "id");
        for (String user : List.of("alice", "bob")) {
            twine.authorize(user, key, "");
        }
        local = Files.createDirectories(dir.resolve("local"));
    }

    @AfterAll
    void stop() {
        if (twine != null) {
            twine.close();
        }
    }

    private Peers.Run sftp(String user, String batch, String... extra) throws Exception {
        Path batchFile = Files.createTempFile(dir, "batch", ".txt");
        Files.writeString(batchFile, batch);
        List<String> cmd = twine.sftpWithKey(user, key, batchFile);
        cmd.addAll(1, List.of(extra));
        return Peers.run(cmd, null, LIMIT, local);
    }

    @Test
    void eachUserGetsAPrivateRootMadeAtFirstLoginAndCannotSeeTheOthers() throws Exception {
        Files.writeString(local.resolve("secret.txt"), "alice's\n");
        Peers.Run put = sftp("alice", "put secret.txt\n");
        assertEquals(0, put.exit(), put.toString());
        Path aliceRoot = homes.resolve("alice");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(aliceRoot)));
        assertEquals("alice's\n", Files.readString(aliceRoot.resolve("secret.txt")));

        Peers.Run ls = sftp("bob", "ls -a /\n");
        assertEquals(0, ls.exit(), ls.toString());
        assertFalse(ls.out().contains("secret.txt"), ls.toString());
        assertTrue(Files.isDirectory(homes.resolve("bob")));
        for (String escape : List.of("get ../alice/secret.txt stolen\n", "get /../alice/secret.txt stolen\n",
                "ln /../alice/secret.txt mine\n")) {
            Peers.Run r = sftp("bob", escape);
            assertNotEquals(0, r.exit(), escape + r);
        }
        assertFalse(Files.exists(local.resolve("stolen")));
        assertFalse(Files.exists(homes.resolve("bob/mine")));
    }

    @Test
    void openSshExtensionsWorkInsideTheRoot() throws Exception {
        Files.writeString(local.resolve("a.txt"), "a\n");
        Files.writeString(local.resolve("b.txt"), "b\n");
        // -vv: sftp says which extensions the server offered
        Peers.Run r = sftp("alice", """
                mkdir ext
                put -f a.txt ext/a.txt
                put -f b.txt ext/b.txt
                rename ext/a.txt ext/b.txt
                ln ext/b.txt ext/hard.txt
                df /
                """, "-vv");
        assertEquals(0, r.exit(), r.toString());
        for (String ext : List.of("posix-rename@openssh.com", "statvfs@openssh.com", "fsync@openssh.com",
                "hardlink@openssh.com", "limits@openssh.com")) {
            assertTrue(r.err().contains("Server supports extension \"" + ext + "\""), ext + "\n" + r);
        }
        Path ext = homes.resolve("alice/ext");
        // posix-rename replaced b.txt (a plain SFTP rename would have refused)
        assertFalse(Files.exists(ext.resolve("a.txt")));
        assertEquals("a\n", Files.readString(ext.resolve("b.txt")));
        assertTrue(Files.isSameFile(ext.resolve("b.txt"), ext.resolve("hard.txt")));
        assertEquals(2, Files.getAttribute(ext.resolve("hard.txt"), "unix:nlink"));
        // statvfs: df printed its table
        assertTrue(r.out().matches("(?s).*Size\\s+Used\\s+Avail.*"), r.toString());
        // fsync: sftp asked for it after each put -f
        assertTrue(r.err().contains("fsync"), r.toString());
    }

    @Test
    void symbolicLinksStayRefused() throws Exception {
        Files.writeString(local.resolve("c.txt"), "c\n");
        Peers.Run r = sftp("alice", "put c.txt\nln -s c.txt sym.txt\n");
        assertNotEquals(0, r.exit(), r.toString());
        assertFalse(Files.exists(homes.resolve("alice/sym.txt"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }
}

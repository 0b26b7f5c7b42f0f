package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The SFTP subsystem against OpenSSH's {@code sftp} (batch mode) and {@code scp}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SftpInteropTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path key;
    Path local;
    Path outside;

    @BeforeAll
    void start() throws Exception {
        Peers.require("/usr/bin/sftp");
        twine = new TwineSshFixture(dir, b -> b);
        key = Peers.keygen(Files.createDirectories(dir.resolve("client-keys")), "ed25519", "id_ed25519");
        twine.authorize(key);
        local = Files.createDirectories(dir.resolve("local"));
        outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), "do not leak\n");
    }

    @AfterAll
    void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
    }

    private Peers.Run sftp(String batch) throws Exception {
        Path batchFile = Files.createTempFile(dir, "batch", ".txt");
        Files.writeString(batchFile, batch);
        return Peers.run(twine.sftpWithKey(TwineSshFixture.USER, key, batchFile), null, LIMIT, local);
    }

    @Test
    void putGetLsRenameRemoveWithSftpBatch() throws Exception {
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        Files.write(local.resolve("up.bin"), data);
        Peers.Run r = sftp("""
                put up.bin
                ls -1
                rename up.bin moved.bin
                get moved.bin back.bin
                mkdir sub
                put up.bin sub/copy.bin
                rm sub/copy.bin
                rmdir sub
                ls -1
                """);
        assertEquals(0, r.exit(), r.toString());
        assertArrayEquals(data, Files.readAllBytes(twine.sftpRoot.resolve("moved.bin")));
        assertFalse(Files.exists(twine.sftpRoot.resolve("up.bin")));
        assertFalse(Files.exists(twine.sftpRoot.resolve("sub")));
        assertArrayEquals(data, Files.readAllBytes(local.resolve("back.bin")));
        assertTrue(r.out().contains("up.bin"), r.toString());
        assertTrue(r.out().contains("moved.bin"), r.toString());
        Peers.Run gone = sftp("rm moved.bin\nget moved.bin again.bin\n");
        assertNotEquals(0, gone.exit(), gone.toString());
        assertFalse(Files.exists(twine.sftpRoot.resolve("moved.bin")));
    }

    @Test
    void dotDotCannotLeaveTheRoot() throws Exception {
        Peers.Run r = sftp("get ../outside/secret.txt leaked.txt\n");
        assertFalse(Files.exists(local.resolve("leaked.txt")), r.toString());
        Peers.Run up = sftp("put /etc/hostname ../../escaped.txt\n");
        assertFalse(Files.exists(dir.resolve("escaped.txt")), up.toString());
        assertFalse(Files.exists(twine.sftpRoot.getParent().resolve("escaped.txt")), up.toString());
        // ".." at the root stays at the root: the file lands inside
        assertTrue(up.exit() != 0 || Files.exists(twine.sftpRoot.resolve("escaped.txt")), up.toString());
    }

    @Test
    void symlinkInsideTheRootCannotReachOutside() throws Exception {
        Files.createSymbolicLink(twine.sftpRoot.resolve("link-out"), outside);
        Files.createSymbolicLink(twine.sftpRoot.resolve("file-out"), outside.resolve("secret.txt"));
        Peers.Run r = sftp("get link-out/secret.txt leaked1.txt\n");
        assertFalse(Files.exists(local.resolve("leaked1.txt")), r.toString());
        Peers.Run f = sftp("get file-out leaked2.txt\n");
        assertFalse(Files.exists(local.resolve("leaked2.txt")) && Files.readString(local.resolve("leaked2.txt")).contains("leak"),
                f.toString());
        Peers.Run w = sftp("put /etc/hostname link-out/planted.txt\n");
        assertFalse(Files.exists(outside.resolve("planted.txt")), w.toString());
    }

    @Test
    void symlinkMadeBySftpClientCannotReachOutside() throws Exception {
        Peers.Run r = sftp("-symlink " + outside + " evil\n-get evil/secret.txt leaked3.txt\n-symlink ../outside evil2\n-get evil2/secret.txt leaked4.txt\n");
        assertFalse(Files.exists(local.resolve("leaked3.txt")), r.toString());
        assertFalse(Files.exists(local.resolve("leaked4.txt")), r.toString());
    }

    @Test
    void scpUploadsAndDownloads() throws Exception {
        Files.writeString(local.resolve("scp.txt"), "over scp\n");
        List<String> base = new ArrayList<>(List.of(Peers.require("/usr/bin/scp")));
        base.addAll(twine.sshOptions());
        base.addAll(List.of("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key.toString(),
                "-P", String.valueOf(twine.server.port())));
        List<String> up = new ArrayList<>(base);
        up.addAll(List.of(local.resolve("scp.txt").toString(), TwineSshFixture.USER + "@127.0.0.1:scp-remote.txt"));
        Peers.Run r = Peers.run(up, null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("over scp\n", Files.readString(twine.sftpRoot.resolve("scp-remote.txt")));
        List<String> down = new ArrayList<>(base);
        down.addAll(List.of(TwineSshFixture.USER + "@127.0.0.1:scp-remote.txt", local.resolve("scp-back.txt").toString()));
        Peers.Run d = Peers.run(down, null, LIMIT);
        assertEquals(0, d.exit(), d.toString());
        assertEquals("over scp\n", Files.readString(local.resolve("scp-back.txt")));
    }

    private static String mode(Path p) throws Exception {
        return java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    /** Issue 10, finding 9: OpenSSH's {@code mkdir} asks for 0777; the directory is made 0700. */
    @Test
    void mkdirAskingForWorldWritableGetsAPrivateDirectory() throws Exception {
        Peers.Run r = sftp("mkdir open-dir\n");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("rwx------", mode(twine.sftpRoot.resolve("open-dir")), r.toString());
    }

    /** A world-readable local file uploaded with {@code put -p} (its mode asked for) lands 0600. */
    @Test
    void uploadedFilesArePrivateWhateverModeIsAsked() throws Exception {
        Path shared = local.resolve("shared.txt");
        Files.writeString(shared, "hello\n");
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        Path script = local.resolve("script.sh");
        Files.writeString(script, "#!/bin/sh\n");
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Peers.Run r = sftp("put shared.txt\nput -p shared.txt shared-p.txt\nput -p script.sh\n");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("rw-------", mode(twine.sftpRoot.resolve("shared.txt")), r.toString());
        assertEquals("rw-------", mode(twine.sftpRoot.resolve("shared-p.txt")), r.toString());
        assertEquals("rwx------", mode(twine.sftpRoot.resolve("script.sh")), r.toString());
    }

    /** {@code chmod 777} and {@code chmod 4755} keep only the owner's bits. */
    @Test
    void chmodCannotMakeFilesGroupOrWorldAccessible() throws Exception {
        Files.writeString(twine.sftpRoot.resolve("chmod-me.txt"), "x\n");
        Files.createDirectories(twine.sftpRoot.resolve("chmod-dir"));
        Peers.Run r = sftp("chmod 777 chmod-me.txt\nchmod 4777 chmod-dir\n");
        assertEquals(0, r.exit(), r.toString());
        assertEquals("rwx------", mode(twine.sftpRoot.resolve("chmod-me.txt")), r.toString());
        assertEquals("rwx------", mode(twine.sftpRoot.resolve("chmod-dir")), r.toString());
        Peers.Run down = sftp("chmod 400 chmod-me.txt\n");
        assertEquals(0, down.exit(), down.toString());
        assertEquals("r--------", mode(twine.sftpRoot.resolve("chmod-me.txt")), down.toString());
    }
}

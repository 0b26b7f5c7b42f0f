package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Realm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What each user gets, decided by the server's two realms: alice's SFTP root is a zip file
 * system of her own, bob's a directory inside a zip file system shared with other data, and carol
 * has no files (the SFTP realm refuses her); bob has no shell (the handler realm refuses him) and
 * carol a shell of her own. Proved with MINA's SFTP client ({@link SshClient}) and OpenSSH's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RealmTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    FileSystem aliceZip;
    FileSystem sharedZip;
    TwineSshFixture twine;
    Path key;
    Path local;

    @BeforeAll
    void start() throws Exception {
        aliceZip = FileSystems.newFileSystem(dir.resolve("alice.zip"), Map.of("create", "true"));
        Files.writeString(aliceZip.getPath("/seed.txt"), "alice's seed\n");
        sharedZip = FileSystems.newFileSystem(dir.resolve("shared.zip"), Map.of("create", "true"));
        Files.createDirectories(sharedZip.getPath("/home/bob"));
        Files.writeString(sharedZip.getPath("/home/bob/seed.txt"), "bob's seed\n");
        Files.writeString(sharedZip.getPath("/secret.txt"), "not for bob\n");
        Realm<Path> files = user -> switch (user.name()) {
            case "alice" -> aliceZip.getPath("/");
            case "bob" -> sharedZip.getPath("/home/bob");
            default -> throw new AuthenticationException("no files for " + user.name());
        };
        SshCommandHandler carolsShell = session -> {
            session.stdout().write("carol's own shell\n".getBytes(StandardCharsets.UTF_8));
            return 7;
        };
        Realm<SshCommandHandler> shells = user -> switch (user.name()) {
            case "bob" -> throw new AuthenticationException("no shell for bob");
            case "carol" -> carolsShell;
            default -> SampleShell.handler();
        };
        twine = new TwineSshFixture(dir, b -> b.sftp(files).handlers(shells));
        key = Peers.keygen(Files.createDirectories(dir.resolve("client-keys")), "ed25519", "id_ed25519");
        twine.authorize(key);
        for (String user : TwineSshFixture.OTHER_USERS) {
            twine.authorize(user, key, "");
        }
        local = Files.createDirectories(dir.resolve("local"));
    }

    @AfterAll
    void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
        for (FileSystem fs : new FileSystem[] {aliceZip, sharedZip}) {
            if (fs != null) {
                fs.close();
            }
        }
    }

    private SshClient login(String user) throws Exception {
        return SshClient.builder("127.0.0.1", twine.server.port()).user(user).password(TwineSshFixture.PASSWORD)
                .knownHosts(twine.knownHosts).timeout(Duration.ofSeconds(20)).connect();
    }

    private Peers.Run sftp(String user, String batch) throws Exception {
        Path batchFile = Files.createTempFile(dir, "batch", ".txt");
        Files.writeString(batchFile, batch);
        return Peers.run(twine.sftpWithKey(user, key, batchFile), null, LIMIT, local);
    }

    @Test
    void twoUsersSeeTheirOwnZipFileSystemsThroughMinasClient() throws Exception {
        Path up = Files.writeString(local.resolve("from-alice.txt"), "uploaded by alice\n");
        try (SshClient alice = login("alice"); SshClient bob = login("bob")) {
            assertTrue(alice.list("/").contains("seed.txt"), alice.list("/").toString());
            assertEquals(List.of("seed.txt"), bob.list("/"));
            alice.download("/seed.txt", local.resolve("alice-seed.txt"));
            bob.download("seed.txt", local.resolve("bob-seed.txt"));
            alice.upload(up, "/from-alice.txt");
            assertTrue(bob.list("/").stream().noneMatch(n -> n.equals("from-alice.txt")), bob.list("/").toString());
        }
        assertEquals("alice's seed\n", Files.readString(local.resolve("alice-seed.txt")));
        assertEquals("bob's seed\n", Files.readString(local.resolve("bob-seed.txt")));
        assertEquals("uploaded by alice\n", Files.readString(aliceZip.getPath("/from-alice.txt")));
        assertFalse(Files.exists(sharedZip.getPath("/home/bob/from-alice.txt")));
        assertFalse(Files.exists(sharedZip.getPath("/from-alice.txt")));
    }

    @Test
    void openSshSftpGetsAndPutsInAZipFileSystem() throws Exception {
        byte[] data = new byte[200_000];
        new java.util.Random(11).nextBytes(data);
        Files.write(local.resolve("big.bin"), data);
        Peers.Run r = sftp("alice", """
                get seed.txt openssh-seed.txt
                put big.bin
                mkdir made
                put big.bin made/again.bin
                rename made/again.bin made/renamed.bin
                ls -1 made
                """);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("alice's seed\n", Files.readString(local.resolve("openssh-seed.txt")));
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(aliceZip.getPath("/big.bin"))), r.toString());
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(aliceZip.getPath("/made/renamed.bin"))),
                r.toString());
        assertTrue(r.out().contains("renamed.bin"), r.toString());
    }

    @Test
    void aDirectoryInsideAZipIsARootTheClientCannotLeave() throws Exception {
        Peers.Run r = sftp("bob", "-get ../../secret.txt bob-leak1.txt\n-get /../secret.txt bob-leak2.txt\nls -1 /\n");
        assertFalse(Files.exists(local.resolve("bob-leak1.txt")), r.toString());
        assertFalse(Files.exists(local.resolve("bob-leak2.txt")), r.toString());
        List<String> listed = r.out().lines().filter(l -> !l.startsWith("sftp>")).toList();
        assertEquals(List.of("/seed.txt"), listed, r.toString());
        Files.writeString(local.resolve("bob-up.txt"), "from bob\n");
        Peers.Run w = sftp("bob", "-put bob-up.txt ../escaped1.txt\n-put bob-up.txt /../../escaped2.txt\n");
        for (String outside : List.of("/escaped1.txt", "/escaped2.txt", "/home/escaped1.txt", "/home/escaped2.txt")) {
            assertFalse(Files.exists(sharedZip.getPath(outside)), outside + "\n" + w);
        }
    }

    @Test
    void aRefusingSftpRealmRefusesTheSubsystemButNotTheShell() throws Exception {
        try (SshClient carol = login("carol")) {
            assertThrows(IOException.class, () -> carol.list("/"));
            ExecResult shell = carol.exec("anything");
            assertEquals(7, shell.exitCode(), shell.toString());
            assertEquals("carol's own shell\n", shell.stdoutText(), shell.toString());
        }
        Peers.Run r = sftp("carol", "ls\n");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("subsystem request failed"), r.toString());
    }

    @Test
    void aRefusingHandlerRealmRefusesExecButNotSftp() throws Exception {
        Peers.Run refused = Peers.run(twine.sshWithKey("bob", key, "whoami"), null, LIMIT);
        assertNotEquals(0, refused.exit(), refused.toString());
        assertTrue(refused.err().contains("exec request failed"), refused.toString());
        try (SshClient bob = login("bob")) {
            assertEquals(List.of("seed.txt"), bob.list("/"));
        }
        Peers.Run alice = Peers.run(twine.sshWithKey("alice", key, "whoami"), null, LIMIT);
        assertEquals(0, alice.exit(), alice.toString());
        assertEquals("alice", alice.out().strip(), alice.toString());
    }

    @Test
    void aFailingRealmOrAMissingRootRefusesTheRequestAndABrokenRealmClosesOnlyItsConnection() throws Exception {
        Realm<Path> failing = user -> {
            return switch (user.name()) {
                case "alice" -> throw new IOException("the file store is down");
                case "carol" -> dir.resolve("no-such-directory");
                default -> throw new IllegalStateException("a bug in the realm");
            };
        };
        try (TwineSshFixture broken = new TwineSshFixture(Files.createDirectories(dir.resolve("broken")),
                b -> b.sftp(failing))) {
            SshClient.Builder client = SshClient.builder("127.0.0.1", broken.server.port())
                    .password(TwineSshFixture.PASSWORD).knownHosts(broken.knownHosts).timeout(Duration.ofSeconds(20));
            try (SshClient alice = client.user("alice").connect()) {
                assertThrows(IOException.class, () -> alice.list("/"));
                ExecResult r = alice.exec("whoami");
                assertEquals(0, r.exitCode(), "the connection is still there: " + r);
                assertEquals("alice\n", r.stdoutText(), r.toString());
            }
            try (SshClient carol = client.user("carol").connect()) {
                assertThrows(IOException.class, () -> carol.list("/"));
                assertEquals(0, carol.exec("true").exitCode(), "a missing root refuses only the subsystem");
            }
            try (SshClient bob = client.user("bob").connect()) {
                assertThrows(IOException.class, () -> bob.list("/"));
                assertThrows(IOException.class, () -> bob.exec("whoami"), "bob's connection was closed");
            }
            try (SshClient alice = client.user("alice").connect()) {
                assertEquals(0, alice.exec("true").exitCode(), "the server still serves others");
            }
        }
    }
}

package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthenticationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twine's client against OpenSSH's {@code sshd}, run in the foreground on a free loopback port
 * with its own config and host key, logging in the current system user with a temporary key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenSshServerInteropTest {

    @TempDir
    static Path dir;
    OpenSshd sshd;
    int port;
    Path knownHosts;
    Path userKey;
    Path otherKey;
    String user = System.getProperty("user.name");

    @BeforeAll
    void startSshd() throws Exception {
        sshd = OpenSshd.start(dir);
        Path keys = Files.createDirectories(dir.resolve("keys"));
        userKey = Peers.keygen(keys, "rsa", "id_rsa");
        otherKey = Peers.keygen(keys, "ed25519", "id_other");
        sshd.authorize(userKey);
        port = sshd.port;
        knownHosts = sshd.knownHosts;
    }

    @AfterAll
    void stopSshd() throws Exception {
        if (sshd != null) {
            sshd.close();
        }
    }

    private SshClient.Builder client() {
        return SshClient.builder("127.0.0.1", port).user(user).knownHosts(knownHosts).timeout(Duration.ofSeconds(20));
    }

    @Test
    void execReturnsOutputAndExitCodeFromOpenSshd() throws Exception {
        try (SshClient c = client().identity(userKey).connect()) {
            ExecResult r = c.exec("echo hello; echo oops >&2; exit 5");
            assertEquals(5, r.exitCode(), r.stderrText());
            assertEquals("hello\n", r.stdoutText());
            assertEquals("oops\n", r.stderrText());
        }
    }

    @Test
    void sftpPutAndGetAgainstOpenSshd() throws Exception {
        byte[] data = new byte[150_000];
        new Random(11).nextBytes(data);
        Path local = Files.write(dir.resolve("up.bin"), data);
        Path remote = dir.resolve("remote.bin");
        try (SshClient c = client().identity(userKey).connect()) {
            c.upload(local, remote.toString());
            assertArrayEquals(data, Files.readAllBytes(remote));
            Path back = dir.resolve("back.bin");
            c.download(remote.toString(), back);
            assertArrayEquals(data, Files.readAllBytes(back));
            assertTrue(c.list(dir.toString()).contains("remote.bin"));
        }
    }

    @Test
    void interactiveStreamsDriveARemoteCommand() throws Exception {
        try (SshClient c = client().identity(userKey).connect(); RemoteProcess p = c.start("tr a-z A-Z; exit 4")) {
            p.stdin().write("shout\n".getBytes());
            p.stdin().close();
            assertEquals("SHOUT\n", new String(p.stdout().readAllBytes()));
            assertEquals(4, p.awaitExit(Duration.ofSeconds(20)));
        }
    }

    @Test
    void unauthorizedKeyFailsLogin() {
        assertThrows(AuthenticationException.class, () -> client().identity(otherKey).connect().close());
    }

    @Test
    void hostKeyMissingFromKnownHostsFailsConnect() throws Exception {
        Path other = dir.resolve("other_known_hosts");
        Files.writeString(other, "[127.0.0.1]:" + port + " " + Files.readString(Path.of(otherKey + ".pub")));
        IOException e = assertThrows(IOException.class,
                () -> client().knownHosts(other).identity(userKey).connect().close());
        assertTrue(e.getMessage().contains("host key"), e.toString());
    }
}

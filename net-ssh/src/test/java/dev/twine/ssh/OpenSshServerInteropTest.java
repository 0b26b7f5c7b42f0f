package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.twine.core.auth.AuthenticationException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
    Process sshd;
    int port;
    Path knownHosts;
    Path userKey;
    Path otherKey;
    String user = System.getProperty("user.name");

    @BeforeAll
    void startSshd() throws Exception {
        String binary = Peers.require("/usr/sbin/sshd");
        Path hostKey = Peers.keygen(dir, "ed25519", "ssh_host_ed25519_key");
        Path keys = Files.createDirectories(dir.resolve("keys"));
        userKey = Peers.keygen(keys, "rsa", "id_rsa");
        otherKey = Peers.keygen(keys, "ed25519", "id_other");
        Path authorized = Files.createDirectories(dir.resolve("authorized"));
        Files.writeString(authorized.resolve(user), Files.readString(Path.of(userKey + ".pub")));
        Files.createDirectories(Path.of("/run/sshd"));
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path config = dir.resolve("sshd_config");
        Files.writeString(config, String.join("\n", List.of(
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "PidFile " + dir.resolve("sshd.pid"),
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "AuthorizedKeysFile " + authorized + "/%u",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "Subsystem sftp internal-sftp",
                "")));
        sshd = Peers.start(List.of(binary, "-D", "-e", "-f", config.toString()), dir.resolve("sshd.log"));
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                break;
            } catch (IOException notYet) {
                if (!sshd.isAlive() || System.nanoTime() > end) {
                    fail("sshd did not start: " + Files.readString(dir.resolve("sshd.log")));
                }
                Thread.sleep(100);
            }
        }
        knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, "[127.0.0.1]:" + port + " " + Files.readString(Path.of(hostKey + ".pub")));
    }

    @AfterAll
    void stopSshd() throws Exception {
        Peers.stop(sshd);
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

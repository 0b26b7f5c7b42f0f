package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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
 * The post-quantum hybrid key exchanges are offered first: ML-KEM-768 + X25519 between Twine's
 * client and server (Debian 12's OpenSSH 9.2 predates it), sntrup761 + X25519 with OpenSSH.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PostQuantumKexTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    TwineSshFixture twine;

    @BeforeAll
    void start() throws Exception {
        twine = new TwineSshFixture(dir, b -> b);
    }

    @AfterAll
    void stop() {
        if (twine != null) {
            twine.close();
        }
    }

    @Test
    void twinesClientAndServerAgreeOnMlKem768X25519() throws Exception {
        try (SshClient c = SshClient.builder("127.0.0.1", twine.server.port()).user(TwineSshFixture.USER)
                .password(TwineSshFixture.PASSWORD).knownHosts(twine.knownHosts).connect()) {
            assertEquals("mlkem768x25519-sha256", c.keyExchange());
            assertEquals("alice\n", c.exec("whoami").stdoutText());
        }
    }

    @Test
    void openSshNegotiatesSntrup761X25519UnderBothNames() throws Exception {
        Path key = Peers.keygen(Files.createDirectories(dir.resolve("keys-" + System.nanoTime())), "ed25519", "id");
        twine.authorize(key);
        for (String kex : List.of("sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")) {
            List<String> cmd = twine.sshWithKey(key, "echo", "pq");
            cmd.replaceAll(s -> s.equals("LogLevel=ERROR") ? "LogLevel=DEBUG1" : s);
            cmd.addAll(1, List.of("-o", "KexAlgorithms=" + kex));
            Peers.Run r = Peers.run(cmd, null, LIMIT);
            assertEquals(0, r.exit(), r.toString());
            assertEquals("pq\n", r.out());
            assertTrue(r.err().contains("kex: algorithm: " + kex), r.err());
        }
    }

    @Test
    void openSshWithItsDefaultsPicksTheHybridFirst() throws Exception {
        Path key = Peers.keygen(Files.createDirectories(dir.resolve("keys-" + System.nanoTime())), "ed25519", "id");
        twine.authorize(key);
        List<String> cmd = twine.sshWithKey(key, "true");
        cmd.replaceAll(s -> s.equals("LogLevel=ERROR") ? "LogLevel=DEBUG1" : s);
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("kex: algorithm: sntrup761x25519-sha512"), r.err());
    }
}

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

/** Twine's blocking client against Twine's server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SshClientTest {

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path key;

    @BeforeAll
    void start() throws Exception {
        twine = new TwineSshFixture(dir, b -> b.handler(session -> {
            if (session.command().isEmpty() && session.pty().isPresent()) {
                Pty p = session.pty().get();
                session.stdout().write(("size " + p.columns() + "x" + p.rows() + "\n").getBytes());
                Pty changed = session.awaitWindowChange();
                session.stdout().write(("resized " + changed.columns() + "x" + changed.rows() + "\n").getBytes());
                return 5;
            }
            if (session.command().orElse("").equals("cat")) {
                byte[] in = session.stdin().readAllBytes();
                session.stdout().write(in);
                session.stderr().write(("read " + in.length + "\n").getBytes());
                return 3;
            }
            return SampleShell.handler().run(session);
        }));
        key = Peers.keygen(Files.createDirectories(dir.resolve("keys")), "ed25519", "id_ed25519");
        twine.authorize(key);
    }

    @AfterAll
    void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
    }

    private SshClient.Builder client() {
        return SshClient.builder("127.0.0.1", twine.server.port())
                .user(TwineSshFixture.USER)
                .knownHosts(twine.knownHosts)
                .timeout(Duration.ofSeconds(20));
    }

    @Test
    void passwordLoginExecReturnsOutputAndExitCode() throws Exception {
        try (SshClient c = client().password(TwineSshFixture.PASSWORD).connect()) {
            ExecResult r = c.exec("echo hi there");
            assertEquals(0, r.exitCode());
            assertEquals("hi there\n", r.stdoutText());
            ExecResult e = c.exec("exit 9");
            assertEquals(9, e.exitCode());
        }
    }

    @Test
    void keyLoginSendsStdinAndSeparatesStderr() throws Exception {
        try (SshClient c = client().identity(key).connect()) {
            ExecResult r = c.exec("cat", "some input".getBytes());
            assertEquals(3, r.exitCode());
            assertEquals("some input", r.stdoutText());
            assertEquals("read 10\n", r.stderrText());
        }
    }

    @Test
    void interactiveProcessStreamsBothWays() throws Exception {
        try (SshClient c = client().identity(key).connect(); RemoteProcess p = c.start("cat")) {
            p.stdin().write("streamed".getBytes());
            p.stdin().close();
            assertEquals("streamed", new String(p.stdout().readAllBytes()));
            assertEquals("read 8\n", new String(p.stderr().readAllBytes()));
            assertEquals(3, p.awaitExit(Duration.ofSeconds(20)));
        }
    }

    @Test
    void handlerSeesPtySizeAndWindowChange() throws Exception {
        try (SshClient c = client().identity(key).connect();
                RemoteProcess p = c.shell(new Pty("xterm-256color", 100, 40))) {
            java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.stdout()));
            assertEquals("size 100x40", r.readLine().strip());
            p.resize(132, 50);
            assertEquals("resized 132x50", r.readLine().strip());
            assertEquals(5, p.awaitExit(Duration.ofSeconds(20)));
        }
    }

    @Test
    void wrongPasswordThrowsAuthenticationException() {
        assertThrows(AuthenticationException.class, () -> client().password("nope").connect().close());
    }

    @Test
    void unknownHostKeyIsRefused() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty_known_hosts"), "");
        IOException e = assertThrows(IOException.class, () -> client().knownHosts(empty)
                .password(TwineSshFixture.PASSWORD).connect().close());
        assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("key"), e.toString());
    }

    @Test
    void sftpUploadListAndDownloadRoundTrip() throws Exception {
        byte[] data = new byte[200_000];
        new Random(3).nextBytes(data);
        Path local = Files.write(dir.resolve("client-up.bin"), data);
        try (SshClient c = client().identity(key).connect()) {
            c.upload(local, "client.bin");
            assertArrayEquals(data, Files.readAllBytes(twine.sftpRoot.resolve("client.bin")));
            assertTrue(c.list("/").contains("client.bin"));
            Path back = dir.resolve("client-back.bin");
            c.download("client.bin", back);
            assertArrayEquals(data, Files.readAllBytes(back));
        }
    }
}

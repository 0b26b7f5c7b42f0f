package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

/** Twine's SSH server against OpenSSH's own client ({@code ssh}, {@code sshpass}). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenSshClientInteropTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path ed25519;
    Path rsa;
    Path stranger;
    Path loopbackOnly;
    Path elsewhereOnly;
    Path forcedCommand;

    @BeforeAll
    void start() throws Exception {
        Peers.require("/usr/bin/ssh");
        twine = new TwineSshFixture(dir, b -> b);
        Path keys = Files.createDirectories(dir.resolve("client-keys"));
        ed25519 = Peers.keygen(keys, "ed25519", "id_ed25519");
        rsa = Peers.keygen(keys, "rsa", "id_rsa");
        stranger = Peers.keygen(keys, "ed25519", "id_stranger");
        twine.authorize(ed25519);
        twine.authorize(rsa);
        loopbackOnly = Peers.keygen(keys, "ed25519", "id_loopback");
        elsewhereOnly = Peers.keygen(keys, "ed25519", "id_elsewhere");
        forcedCommand = Peers.keygen(keys, "ed25519", "id_forced");
        twine.authorize(loopbackOnly, "from=\"10.*,127.0.0.0/8\"");
        twine.authorize(elsewhereOnly, "no-agent-forwarding,from=\"10.0.0.0/8,!127.0.0.1,*.example.com\"");
        twine.authorize(forcedCommand, "command=\"echo forced\"");
    }

    @AfterAll
    void stop() throws Exception {
        if (twine != null) {
            twine.close();
        }
    }

    @Test
    void ed25519KeyLogsInAndRunsExec() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithKey(ed25519, "echo", "hello", "world"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("hello world\n", r.out());
    }

    @Test
    void rsaKeyLogsIn() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithKey(rsa, "whoami"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("alice\n", r.out());
    }

    @Test
    void execExitCodeReachesTheClient() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithKey(ed25519, "exit", "42"), null, LIMIT);
        assertEquals(42, r.exit(), r.toString());
        Peers.Run f = Peers.run(twine.sshWithKey(ed25519, "false"), null, LIMIT);
        assertEquals(1, f.exit(), f.toString());
    }

    @Test
    void unknownCommandGives127AndStderr() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithKey(ed25519, "frobnicate"), null, LIMIT);
        assertEquals(127, r.exit(), r.toString());
        assertTrue(r.err().contains("frobnicate: command not found"), r.toString());
        assertEquals("", r.out());
    }

    @Test
    void unauthorizedKeyIsRejected() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithKey(stranger, "echo", "in"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertFalse(r.out().contains("in"), r.toString());
        assertTrue(r.err().contains("Permission denied"), r.toString());
    }

    @Test
    void keysAreLimitedByTheirFromOptionAndKeysWithAForcedCommandAreRefused() throws Exception {
        Peers.Run ok = Peers.run(twine.sshWithKey(loopbackOnly, "echo", "in"), null, LIMIT);
        assertEquals(0, ok.exit(), ok.toString());
        assertEquals("in\n", ok.out());
        for (Path refused : List.of(elsewhereOnly, forcedCommand)) {
            Peers.Run r = Peers.run(twine.sshWithKey(refused, "echo", "in"), null, LIMIT);
            assertEquals(255, r.exit(), refused + ": " + r);
            assertTrue(r.err().contains("Permission denied"), r.toString());
        }
    }

    @Test
    void passwordLoginWorksThroughKeyboardInteractive() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithPassword(TwineSshFixture.PASSWORD, "keyboard-interactive", "whoami"),
                null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("alice\n", r.out());
    }

    @Test
    void passwordLoginWorksThroughPasswordMethod() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithPassword(TwineSshFixture.PASSWORD, "password", "echo", "pw"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("pw\n", r.out());
    }

    @Test
    void wrongPasswordIsRejected() throws Exception {
        Peers.Run r = Peers.run(twine.sshWithPassword("not the password", "password", "echo", "in"), null, LIMIT);
        assertNotEquals(0, r.exit(), r.toString());
        assertFalse(r.out().contains("in"), r.toString());
    }

    @Test
    void ptyShellDrivenWithSshTtEchoesAndReturnsExitStatus() throws Exception {
        List<String> cmd = twine.sshWithKey(ed25519);
        cmd.add(1, "-tt");
        Peers.Run r = Peers.run(cmd, "echo first line\ntty\nexit 7\n", LIMIT);
        assertEquals(7, r.exit(), r.toString());
        assertTrue(r.out().contains("twine$ "), r.toString());
        // output lines end in CR LF on a terminal, and the shell saw the pty
        assertTrue(r.out().contains("first line\r\n"), r.toString());
        assertTrue(r.out().matches("(?s).*term=\\S* columns=\\d+ rows=\\d+\r\n.*"), r.toString());
    }

    @Test
    void shellWithoutPtyReadsPlainLines() throws Exception {
        List<String> cmd = twine.sshWithKey(ed25519);
        cmd.add(1, "-T");
        Peers.Run r = Peers.run(cmd, "echo a\nwhoami\n", LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().contains("a\n"), r.toString());
        assertTrue(r.out().contains("alice\n"), r.toString());
        assertFalse(r.out().contains("\r"), r.toString());
    }

    @Test
    void changedHostKeyIsRefusedByTheClient() throws Exception {
        Path wrong = dir.resolve("wrong_known_hosts");
        Path other = Peers.keygen(Files.createDirectories(dir.resolve("other")), "ed25519", "other_host");
        Files.writeString(wrong, "[127.0.0.1]:" + twine.server.port() + " " + Files.readString(Path.of(other + ".pub")));
        List<String> cmd = twine.sshWithKey(ed25519, "echo", "in");
        cmd.replaceAll(s -> s.startsWith("UserKnownHostsFile=") ? "UserKnownHostsFile=" + wrong : s);
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.err().contains("HOST IDENTIFICATION HAS CHANGED"), r.toString());
    }

    @Test
    void rsaHostKeyServesClientsThatAskForIt() throws Exception {
        List<String> cmd = twine.sshWithKey(ed25519, "echo", "rsa host");
        cmd.addAll(1, List.of("-o", "HostKeyAlgorithms=rsa-sha2-512"));
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("rsa host\n", r.out());
        // SHA-1 RSA signatures (ssh-rsa) are not offered
        List<String> old = twine.sshWithKey(ed25519, "true");
        old.addAll(1, List.of("-o", "HostKeyAlgorithms=ssh-rsa"));
        Peers.Run o = Peers.run(old, null, LIMIT);
        assertEquals(255, o.exit(), o.toString());
    }

    @Test
    void onlyModernAlgorithmsAreOffered() throws Exception {
        // a client that insists on SHA-1 HMAC or CBC cannot negotiate
        List<String> cmd = twine.sshWithKey(ed25519, "true");
        cmd.replaceAll(s -> s.equals("LogLevel=ERROR") ? "LogLevel=INFO" : s);
        cmd.add(1, "-o");
        cmd.add(2, "Ciphers=aes128-cbc");
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.err().contains("no matching cipher"), r.toString());
        List<String> mac = twine.sshWithKey(ed25519, "true");
        mac.add(1, "-o");
        mac.add(2, "MACs=hmac-sha1");
        mac.add(3, "-o");
        mac.add(4, "Ciphers=aes128-ctr");
        mac.replaceAll(s -> s.equals("LogLevel=ERROR") ? "LogLevel=INFO" : s);
        Peers.Run m = Peers.run(mac, null, LIMIT);
        assertEquals(255, m.exit(), m.toString());
        assertTrue(m.err().contains("no matching MAC"), m.toString());
    }
}

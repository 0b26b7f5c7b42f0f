package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenSSH certificates with OpenSSH's own tools: user certificates made by {@code ssh-keygen -s}
 * and presented by {@code ssh} are checked against the trusted CA file (principals, validity,
 * force-command, source-address), and the server's host certificate lets {@code ssh} trust it
 * through an {@code @cert-authority} line alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CertificateInteropTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    TwineSshFixture twine;
    Path ca;
    Path keys;

    @BeforeAll
    void start() throws Exception {
        keys = Files.createDirectories(dir.resolve("keys"));
        ca = Peers.keygen(keys, "ed25519", "user_ca");
        Path hostCa = Peers.keygen(keys, "ed25519", "host_ca");
        // the host key made beforehand, so that its certificate can be given to the builder
        Path hostDir = Files.createDirectories(dir.resolve("host"));
        Path hostKey = Peers.keygen(hostDir, "ed25519", "ssh_host_key");
        sign(hostCa, hostKey, "-h", "-I", "twine-host", "-n", "127.0.0.1");
        UserCertificateAuthorities cas = UserCertificateAuthorities.of(Path.of(ca + ".pub"));
        twine = new TwineSshFixture(dir, TwineSshFixture.testPolicy(), cas::or,
                b -> b.hostCertificate(Path.of(hostKey + "-cert.pub")));
        Files.writeString(dir.resolve("ca_known_hosts"), "@cert-authority [127.0.0.1]:" + twine.server.port() + " "
                + Files.readString(Path.of(hostCa + ".pub")));
    }

    @AfterAll
    void stop() {
        if (twine != null) {
            twine.close();
        }
    }

    /** Signs {@code key}'s public half with {@code ca}, writing {@code key-cert.pub}. */
    private static void sign(Path ca, Path key, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/ssh-keygen"), "-q", "-s", ca.toString()));
        cmd.addAll(List.of(options));
        cmd.add(key + ".pub");
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
    }

    /** A new key with a user certificate signed by the trusted CA. */
    private Path certified(String name, String... options) throws Exception {
        Path key = Peers.keygen(keys, "ed25519", name);
        sign(ca, key, options);
        return key;
    }

    @Test
    void certificateForThePrincipalLogsIn() throws Exception {
        Path key = certified("id_good", "-I", "alice@test", "-n", "alice,admin", "-V", "-5m:+1h");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "whoami"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("alice\n", r.out());
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        Path key = certified("id_expired", "-I", "old", "-n", "alice", "-V", "20200101:20200201");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "whoami"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.err().contains("Permission denied"), r.toString());
    }

    @Test
    void certificateNotYetValidIsRefused() throws Exception {
        Path key = certified("id_future", "-I", "later", "-n", "alice", "-V", "+1d:+2d");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "whoami"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
    }

    @Test
    void certificateForAnotherPrincipalIsRefused() throws Exception {
        Path key = certified("id_bob", "-I", "bob", "-n", "bob");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "whoami"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertTrue(r.err().contains("Permission denied"), r.toString());
        Peers.Run asBob = Peers.run(twine.sshWithKey("bob", key, "whoami"), null, LIMIT);
        assertEquals(0, asBob.exit(), asBob.toString());
        assertEquals("bob\n", asBob.out());
    }

    @Test
    void certificateSignedByAnotherCaIsRefused() throws Exception {
        Path otherCa = Peers.keygen(keys, "ed25519", "other_ca");
        Path key = Peers.keygen(keys, "ed25519", "id_other_ca");
        sign(otherCa, key, "-I", "x", "-n", "alice");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "whoami"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
    }

    @Test
    void forceCommandRunsInsteadOfTheClientsCommandAndSftpIsRefused() throws Exception {
        Path key = certified("id_forced", "-I", "forced", "-n", "alice", "-O", "force-command=echo forced");
        Peers.Run r = Peers.run(twine.sshWithKey(key, "echo", "mine"), null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("forced\n", r.out());
        List<String> shell = twine.sshWithKey(key);
        shell.add(1, "-T");
        Peers.Run s = Peers.run(shell, "whoami\n", LIMIT);
        assertEquals("forced\n", s.out(), s.toString());
        Path batch = dir.resolve("forced-batch");
        Files.writeString(batch, "ls\n");
        Peers.Run sftp = Peers.run(twine.sftpWithKey("alice", key, batch), null, LIMIT);
        assertFalse(sftp.exit() == 0, sftp.toString());
    }

    @Test
    void sourceAddressIsEnforced() throws Exception {
        Path here = certified("id_here", "-I", "here", "-n", "alice", "-O", "source-address=127.0.0.0/8");
        Peers.Run ok = Peers.run(twine.sshWithKey(here, "echo", "in"), null, LIMIT);
        assertEquals(0, ok.exit(), ok.toString());
        Path elsewhere = certified("id_elsewhere", "-I", "elsewhere", "-n", "alice", "-O", "source-address=10.0.0.0/8");
        Peers.Run r = Peers.run(twine.sshWithKey(elsewhere, "echo", "in"), null, LIMIT);
        assertEquals(255, r.exit(), r.toString());
        assertFalse(r.out().contains("in"), r.toString());
    }

    @Test
    void hostCertificateIsTrustedThroughCertAuthorityAlone() throws Exception {
        Path key = certified("id_hostcheck", "-I", "h", "-n", "alice");
        List<String> cmd = twine.sshWithKey(key, "echo", "trusted");
        cmd.replaceAll(s -> s.startsWith("UserKnownHostsFile=") ? "UserKnownHostsFile=" + dir.resolve("ca_known_hosts") : s);
        Peers.Run r = Peers.run(cmd, null, LIMIT);
        assertEquals(0, r.exit(), r.toString());
        assertEquals("trusted\n", r.out());
    }
}

package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local and remote forwarding with OpenSSH's {@code ssh -L} and {@code ssh -R}: each allowed on
 * its own, remote listeners on loopback only, and the {@code authorized_keys} options
 * {@code permitopen=}, {@code permitlisten=} and {@code no-port-forwarding} enforced.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ForwardingInteropTest {

    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private TwineSshFixture server(SshServer.Forwarding... kinds) throws Exception {
        Path d = Files.createTempDirectory(dir, "server");
        AuthorizedKeysDirectory keys = AuthorizedKeysDirectory.of(d.resolve("authorized_keys"));
        return new TwineSshFixture(d, b -> b.allowForwarding(kinds).forwardingPermits(keys));
    }

    /**
     * Starts {@code ssh -N} with one forwarding, waits until the port it opens answers, and
     * returns what one exchange through it gave ("" if the port never opened or ssh gave up).
     */
    static String exchange(TwineSshFixture t, Path key, String flag, String spec, int port) throws Exception {
        List<String> cmd = t.sshWithKey(key);
        cmd.addAll(1, List.of("-N", "-o", "ExitOnForwardFailure=yes", flag, spec));
        Process ssh = Peers.start(cmd, t.dir.resolve("ssh" + flag + System.nanoTime() + ".log"));
        try {
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < end && ssh.isAlive()) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                    s.setSoTimeout(5000);
                    s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
                    return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            return "";
        } finally {
            Peers.stop(ssh);
        }
    }

    private static String remote(TwineSshFixture t, Path key, String bind, int port, int target) throws Exception {
        return exchange(t, key, "-R", bind + ":" + port + ":127.0.0.1:" + target, port);
    }

    private static String local(TwineSshFixture t, Path key, int target) throws Exception {
        int port = ServerBehaviourTest.freePort();
        return exchange(t, key, "-L", "127.0.0.1:" + port + ":127.0.0.1:" + target, port);
    }

    @Test
    void remoteForwardingCarriesATcpExchangeBackToTheClient() throws Exception {
        try (TwineSshFixture t = server(SshServer.Forwarding.REMOTE); var target = new ServerBehaviourTest.Target()) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            int port = ServerBehaviourTest.freePort();
            assertEquals("pong:ping", remote(t, key, "127.0.0.1", port, target.socket.getLocalPort()));
            // remote only: -L is refused on this server
            assertEquals("", local(t, key, target.socket.getLocalPort()));
        }
    }

    @Test
    void remoteForwardingIsRefusedUnlessAllowedAndOnlyOnLoopback() throws Exception {
        try (TwineSshFixture t = server(SshServer.Forwarding.LOCAL); var target = new ServerBehaviourTest.Target()) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            assertEquals("", remote(t, key, "127.0.0.1", ServerBehaviourTest.freePort(), target.socket.getLocalPort()));
            assertEquals("pong:ping", local(t, key, target.socket.getLocalPort()));
        }
        try (TwineSshFixture t = server(SshServer.Forwarding.LOCAL, SshServer.Forwarding.REMOTE);
                var target = new ServerBehaviourTest.Target()) {
            Path key = Peers.keygen(Files.createDirectories(dir.resolve("k2")), "ed25519", "id");
            t.authorize(key);
            // every interface (GatewayPorts yes in sshd's terms) is refused
            assertEquals("", remote(t, key, "0.0.0.0", ServerBehaviourTest.freePort(), target.socket.getLocalPort()));
        }
    }

    @Test
    void permitListenAndPermitOpenLimitEachKey() throws Exception {
        try (TwineSshFixture t = server(SshServer.Forwarding.LOCAL, SshServer.Forwarding.REMOTE);
                var target = new ServerBehaviourTest.Target(); var other = new ServerBehaviourTest.Target()) {
            int allowedPort = ServerBehaviourTest.freePort();
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key, "permitlisten=\"" + allowedPort + "\",permitopen=\"127.0.0.1:"
                    + target.socket.getLocalPort() + "\"");
            assertEquals("pong:ping", remote(t, key, "127.0.0.1", allowedPort, target.socket.getLocalPort()));
            assertEquals("", remote(t, key, "127.0.0.1", ServerBehaviourTest.freePort(), target.socket.getLocalPort()));
            assertEquals("pong:ping", local(t, key, target.socket.getLocalPort()));
            assertEquals("", local(t, key, other.socket.getLocalPort()));

            Path none = Peers.keygen(dir, "ed25519", "id_none");
            t.authorize(none, "no-port-forwarding");
            assertEquals("", local(t, none, target.socket.getLocalPort()));
            assertEquals("", remote(t, none, "127.0.0.1", ServerBehaviourTest.freePort(), target.socket.getLocalPort()));
            // the key still logs in: only forwarding is withheld
            Peers.Run r = Peers.run(t.sshWithKey(none, "echo", "in"), null, LIMIT);
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().contains("in"), r.toString());
        }
    }
}

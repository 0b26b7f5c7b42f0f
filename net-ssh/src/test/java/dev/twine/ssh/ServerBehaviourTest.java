package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.AuthenticationException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Forwarding, limits, timeouts, shutdown and handler lifecycle, each on its own server. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerBehaviourTest {

    @TempDir
    Path dir;

    private static SshClient.Builder client(TwineSshFixture t) {
        return SshClient.builder("127.0.0.1", t.server.port()).user(TwineSshFixture.USER)
                .knownHosts(t.knownHosts).timeout(Duration.ofSeconds(20));
    }

    /** A one-shot TCP service on loopback that answers "pong:" + the line it reads. */
    static final class Target implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        final Thread thread = Thread.ofVirtual().start(() -> {
            while (!socket.isClosed()) {
                try (Socket s = socket.accept()) {
                    byte[] buf = new byte[64];
                    int n = s.getInputStream().read(buf);
                    s.getOutputStream().write(("pong:" + new String(buf, 0, Math.max(n, 0), StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    return;
                }
            }
        });

        Target() throws IOException {
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Runs `ssh -N -L local:127.0.0.1:target` and tries one exchange through it. */
    private static String throughTunnel(TwineSshFixture t, Path key, int targetPort) throws Exception {
        int local = freePort();
        return ForwardingInteropTest.exchange(t, key, "-L", "127.0.0.1:" + local + ":127.0.0.1:" + targetPort, local);
    }

    @Test
    void localForwardingIsRefusedByDefault() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b); Target target = new Target()) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            assertEquals("", throughTunnel(t, key, target.socket.getLocalPort()));
        }
    }

    @Test
    void localForwardingWorksWithAllowForwarding() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.allowForwarding(SshServer.Forwarding.LOCAL)); Target target = new Target()) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            assertEquals("pong:ping", throughTunnel(t, key, target.socket.getLocalPort()));
        }
    }

    @Test
    void connectionsAboveMaxSessionsAreRefused() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.maxSessions(1))) {
            try (SshClient first = client(t).password(TwineSshFixture.PASSWORD).connect()) {
                assertEquals(0, first.exec("true").exitCode());
                assertThrows(Exception.class, () -> client(t).password(TwineSshFixture.PASSWORD).connect().close());
                assertEquals(0, first.exec("true").exitCode());
            }
            // the slot is free again once the first client has gone
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (t.server.connectionCount() > 0 && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            try (SshClient again = client(t).password(TwineSshFixture.PASSWORD).connect()) {
                assertEquals(0, again.exec("true").exitCode());
            }
        }
    }

    @Test
    void idleConnectionIsClosedAfterIdleTimeout() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.idleTimeout(Duration.ofMillis(700)))) {
            try (SshClient c = client(t).password(TwineSshFixture.PASSWORD).connect()) {
                assertEquals(1, t.server.connectionCount());
                long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (t.server.connectionCount() > 0 && System.nanoTime() < end) {
                    Thread.sleep(100);
                }
                assertEquals(0, t.server.connectionCount());
                assertThrows(IOException.class, () -> c.exec("true"));
            }
        }
    }

    @Test
    void tooManyFailedPasswordsCloseTheConnection() throws Exception {
        AuthPolicy twoFailures = AuthPolicy.builder().failureDelay(Duration.ofMillis(100))
                .maxFailureDelay(Duration.ofMillis(100)).maxFailuresPerConnection(2)
                .addressPenalty(0, Duration.ZERO, Duration.ZERO).userPenalty(0, Duration.ZERO, Duration.ZERO).build();
        try (TwineSshFixture t = new TwineSshFixture(dir, twoFailures, b -> b)) {
            // OpenSSH would keep asking 5 times; the server hangs up after 2 failures
            List<String> cmd = new ArrayList<>(List.of(Peers.require("/usr/bin/sshpass"), "-p", "wrong",
                    Peers.require("/usr/bin/ssh")));
            cmd.addAll(t.sshOptions());
            cmd.addAll(List.of("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
                    "-o", "NumberOfPasswordPrompts=5", "-o", "LogLevel=INFO", "-p", String.valueOf(t.server.port()),
                    TwineSshFixture.USER + "@127.0.0.1", "true"));
            Peers.Run r = Peers.run(cmd, null, Duration.ofSeconds(30));
            assertNotEquals(0, r.exit(), r.toString());
            assertFalse(r.err().isEmpty(), r.toString());
            assertThrows(AuthenticationException.class, () -> client(t).password("wrong").connect().close());
        }
    }

    @Test
    void handlerSeesEnvAndIsInterruptedWhenClientDisconnects() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        List<String> seenEnv = new ArrayList<>();
        SshCommandHandler handler = s -> {
            if (s.command().orElse("").equals("block")) {
                seenEnv.add(s.env().getOrDefault("USER", "?"));
                started.countDown();
                try {
                    Thread.sleep(Duration.ofMinutes(5));
                } catch (InterruptedException e) {
                    interrupted.countDown();
                    throw e;
                }
            }
            return 0;
        };
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.handler(handler))) {
            SshClient c = client(t).password(TwineSshFixture.PASSWORD).connect();
            Thread caller = Thread.ofVirtual().start(() -> {
                try {
                    c.exec("block");
                } catch (Exception ignored) {
                    // the connection is closed under it
                }
            });
            assertTrue(started.await(20, TimeUnit.SECONDS));
            c.close();
            assertTrue(interrupted.await(20, TimeUnit.SECONDS), "handler was not interrupted");
            caller.join(Duration.ofSeconds(20));
            assertEquals(List.of("alice"), seenEnv);
        }
    }

    @Test
    void garbageAndVanishingPeersAreDroppedWhileOthersAreServed() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b)) {
            // not an SSH identification string, then binary noise (RFC 4253 §4.2)
            try (Socket s = new Socket("127.0.0.1", t.server.port())) {
                s.setSoTimeout(20_000);
                byte[] noise = new byte[70_000];
                new java.util.Random(5).nextBytes(noise);
                OutputStream out = s.getOutputStream();
                try {
                    out.write("HELLO THERE\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write(noise);
                    out.flush();
                } catch (IOException closedEarly) {
                    // the server may hang up before we finish writing: that is the point
                }
                InputStream in = s.getInputStream();
                int total = 0;
                try {
                    while (in.read() >= 0 && total < 1_000_000) {
                        total++;
                    }
                } catch (java.net.SocketException reset) {
                    // a reset is a close too
                }
                assertTrue(total < 1_000_000, "server kept talking to garbage");
            }
            // a valid identification string and then nothing: the peer vanishes mid-handshake
            Socket half = new Socket("127.0.0.1", t.server.port());
            half.getOutputStream().write("SSH-2.0-Vanishing\r\n".getBytes(StandardCharsets.US_ASCII));
            half.close();
            try (SshClient c = client(t).password(TwineSshFixture.PASSWORD).connect()) {
                assertEquals("still here\n", c.exec("echo still here").stdoutText());
            }
        }
    }

    @Test
    void handlerExceptionGivesExitStatusOneAndServerKeepsServing() throws Exception {
        SshCommandHandler handler = s -> {
            if (s.command().orElse("").equals("boom")) {
                throw new IllegalStateException("boom");
            }
            return 0;
        };
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.handler(handler));
                SshClient c = client(t).password(TwineSshFixture.PASSWORD).connect()) {
            assertEquals(1, c.exec("boom").exitCode());
            assertEquals(0, c.exec("fine").exitCode());
        }
    }

    @Test
    void gracefulShutdownLetsShellSayGoodbyeAndStopsAccepting() throws Exception {
        TwineSshFixture t = new TwineSshFixture(dir, b -> b);
        Path key = Peers.keygen(dir, "ed25519", "id");
        t.authorize(key);
        List<String> cmd = t.sshWithKey(key);
        cmd.add(1, "-T");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true);
        Process shell = pb.start();
        try {
            OutputStream in = shell.getOutputStream();
            InputStream out = shell.getInputStream();
            in.write("echo ready\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            StringBuilder seen = new StringBuilder();
            long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!seen.toString().contains("ready\n") && System.nanoTime() < end) {
                int b = out.read();
                if (b < 0) {
                    break;
                }
                seen.append((char) b);
            }
            assertTrue(seen.toString().contains("ready\n"), seen.toString());
            int port = t.server.port();
            Thread stopper = Thread.ofVirtual().start(() -> {
                try {
                    t.server.shutdown(Duration.ofSeconds(10));
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
            // the next prompt sees draining: send a line so that the shell loops once more
            long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            boolean refused = false;
            while (!refused && System.nanoTime() < until) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                    Thread.sleep(50);
                } catch (IOException e) {
                    refused = true;
                }
            }
            assertTrue(refused, "still accepting connections while draining");
            in.write("echo more\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            String rest = new String(out.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(rest.contains("goodbye"), rest);
            assertTrue(shell.waitFor(20, TimeUnit.SECONDS));
            stopper.join(Duration.ofSeconds(20));
            assertFalse(stopper.isAlive());
        } finally {
            shell.destroyForcibly();
            t.server.close();
        }
    }
}

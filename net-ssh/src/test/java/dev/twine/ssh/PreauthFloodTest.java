package dev.twine.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, finding 4: silent TCP connections from one address must not lock every other address
 * out (OpenSSH's MaxStartups / PerSourceMaxStartups / LoginGraceTime), with the server's default
 * limits.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PreauthFloodTest {

    @TempDir
    Path dir;

    /** Opens a TCP connection from {@code local} and reads the server's identification line. */
    private static Socket silent(int port, String local) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(local), 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(20_000);
        // the server speaks first (RFC 4253 §4.2): once its first line is here (its identification,
        // or a refusal), it has seen the connection
        InputStream in = s.getInputStream();
        for (int b; (b = in.read()) != -1 && b != '\n'; ) {
            // up to the end of the first line
        }
        return s;
    }

    /** Reads until the server closes the connection; false if it is still open after the socket timeout. */
    private static boolean closedByServer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) != -1) {
                // a disconnect message may come before the end
            }
            return true;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    @Test
    void silentFloodFromOneAddressDoesNotLockOutAnother() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b)) {
            Path key = Peers.keygen(dir, "ed25519", "id");
            t.authorize(key);
            List<Socket> flood = new ArrayList<>();
            try {
                // more than --max-sessions (100) and every pre-auth cap, all from 127.0.0.1
                for (int i = 0; i < 120; i++) {
                    flood.add(silent(t.server.port(), "127.0.0.1"));
                }
                List<String> cmd = t.sshWithKey(key, "echo", "in");
                cmd.addAll(1, List.of("-b", "127.0.0.2"));
                long start = System.nanoTime();
                Peers.Run r = Peers.run(cmd, null, Duration.ofSeconds(30));
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertEquals(0, r.exit(), r.toString());
                assertEquals("in\n", r.out());
                // locked out, it would be refused or wait for the flood's 30 s pre-auth timeout;
                // a login itself takes seconds on a loaded 2-core machine (post-quantum kex included)
                assertTrue(took.compareTo(Duration.ofSeconds(15)) < 0, "login from 127.0.0.2 took " + took);
            } finally {
                for (Socket s : flood) {
                    s.close();
                }
            }
        }
    }

    @Test
    void connectionsOverThePerAddressPreauthCapAreClosedAtOnce() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.limits(dev.twine.core.ConnectionLimits.builder()
                .preauthPerAddress(3).preauth(50).build()))) {
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(silent(t.server.port(), "127.0.0.1"));
                }
                try (Socket fourth = silent(t.server.port(), "127.0.0.1")) {
                    assertTrue(closedByServer(fourth), "the 4th silent connection from 127.0.0.1 stayed open");
                }
                try (Socket other = silent(t.server.port(), "127.0.0.2")) {
                    other.setSoTimeout(500);
                    assertTrue(!closedByServer(other), "127.0.0.2 was refused by 127.0.0.1's count");
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void earlyDropRefusesNewConnectionsOnceStartAreWaiting() throws Exception {
        // rate 100%: from the start on every new connection is dropped, whatever the address
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.earlyDrop(2, 100).limits(
                dev.twine.core.ConnectionLimits.builder().preauthPerAddress(0).perAddress(0).preauth(50).build()))) {
            Socket first = silent(t.server.port(), "127.0.0.1");
            try (Socket second = silent(t.server.port(), "127.0.0.2")) {
                try (Socket third = silent(t.server.port(), "127.0.0.3")) {
                    assertTrue(closedByServer(third), "the 3rd waiting connection was not dropped");
                }
                first.close();
                // the server sees the first one go; then one place below the start is free again
                long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (t.server.connectionCount() > 1 && System.nanoTime() < end) {
                    Thread.sleep(20);
                }
                try (Socket again = silent(t.server.port(), "127.0.0.3")) {
                    again.setSoTimeout(500);
                    assertTrue(!closedByServer(again), "below the start, a connection was dropped");
                }
            }
        }
    }

    @Test
    void preauthTimeoutClosesAConnectionThatKeepsSendingBytes() throws Exception {
        try (TwineSshFixture t = new TwineSshFixture(dir, b -> b.limits(dev.twine.core.ConnectionLimits.builder()
                .preauthTimeout(Duration.ofSeconds(1)).build()))) {
            try (Socket s = silent(t.server.port(), "127.0.0.1")) {
                s.getOutputStream().write("SSH-2.0-drip\r\n".getBytes(StandardCharsets.US_ASCII));
                // the start of a binary packet (RFC 4253 §6) that never completes: traffic, but no progress
                s.getOutputStream().write(new byte[] {0, 0, 0x10, 0});
                boolean closed = false;
                s.setSoTimeout(200);
                long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!closed && System.nanoTime() < end) {
                    try {
                        s.getOutputStream().write(0);
                        closed = s.getInputStream().read(new byte[4096]) == -1;
                    } catch (SocketTimeoutException quiet) {
                        // nothing from the server yet
                    } catch (IOException reset) {
                        closed = true;
                    }
                }
                assertTrue(closed, "a connection that never authenticates outlived the 1 s pre-auth timeout");
            }
        }
    }
}

package dev.twine.core;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HAProxy (Debian's, run unprivileged in the foreground with its own configuration) in front of a
 * Twine server, sending PROXY v1 and v2 headers: the handler sees the client's own address
 * (127.0.0.2), not HAProxy's (127.0.0.1).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HaproxyInteropTest {
    private static final String HAPROXY = "/usr/sbin/haproxy";

    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    @Test
    void clientAddressCrossesHaproxyWithV1AndV2() throws Exception {
        TestPeers.require(HAPROXY, "haproxy");
        Server twine = Server.builder("behind-haproxy")
                .listen("tcp:0:interface=127.0.0.1:proxy=any:proxy-from=127.0.0.1")
                .handler(c -> {
                    InetSocketAddress peer = (InetSocketAddress) c.remoteAddress();
                    LineWriter.of(c).writeLine("PEER " + peer.getAddress().getHostAddress() + " "
                            + LineReader.of(c, 1024).readLine()).flush();
                })
                .start();
        int v1 = freePort();
        int v2 = freePort();
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(cfg, """
                global
                    maxconn 100
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend v1
                    bind 127.0.0.1:%d
                    default_backend twine-v1
                frontend v2
                    bind 127.0.0.1:%d
                    default_backend twine-v2
                backend twine-v1
                    server twine 127.0.0.1:%d send-proxy
                backend twine-v2
                    server twine 127.0.0.1:%d send-proxy-v2
                """.formatted(v1, v2, twine.port(), twine.port()));
        Path log = dir.resolve("haproxy.log");
        Process haproxy = new ProcessBuilder(List.of(HAPROXY, "-db", "-f", cfg.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertEquals("PEER 127.0.0.2 one", ask(v1, "one", log));
            assertEquals("PEER 127.0.0.2 two", ask(v2, "two", log));
        } finally {
            haproxy.destroy();
            if (!haproxy.waitFor(5, TimeUnit.SECONDS)) {
                haproxy.destroyForcibly();
            }
            twine.shutdown(Duration.ofSeconds(2));
        }
    }

    /** Connects from 127.0.0.2 to HAProxy's frontend (retrying while it starts) and sends one line. */
    private static String ask(int port, String line, Path log) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
                s.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 2_000);
                s.setSoTimeout(10_000);
                s.getOutputStream().write((line + "\r\n").getBytes(US_ASCII));
                String reply = new BufferedReader(new InputStreamReader(s.getInputStream(), US_ASCII)).readLine();
                if (reply != null) {
                    return reply;
                }
            } catch (IOException e) {
                // HAProxy not listening yet
            }
            if (System.nanoTime() > until) {
                fail("no answer through HAProxy on port " + port + "; its log:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }
}

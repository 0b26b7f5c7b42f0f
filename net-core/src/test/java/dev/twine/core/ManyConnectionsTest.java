package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many connections at once, on whichever transport this run uses: every wait between one byte and
 * the next must end when the byte comes (no lost wake-up), and fifteen thousand idle connections
 * must all be served.
 */
class ManyConnectionsTest {
    private static Server echo(int maxConnections) throws IOException {
        return Server.builder("echo")
                .handler(conn -> conn.input().transferTo(conn.output()))
                .listen("tcp:0:interface=127.0.0.1:backlog=4096")
                .maxConnections(maxConnections)
                .limits(ConnectionLimits.builder().perAddress(0).build())
                .start();
    }

    @Test
    void aThousandConnectionsSendingOneByteAtATimeAreAllServed() throws Exception {
        Server server = echo(2_000);
        List<SocketChannel> clients = new ArrayList<>();
        try {
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
            for (int i = 0; i < 1_000; i++) {
                clients.add(SocketChannel.open(to));
            }
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                ByteBuffer one = ByteBuffer.allocate(1);
                // each round: every connection sends one byte, then every echo is read; between
                // rounds each server-side connection waits with nothing to read
                for (int round = 0; round < 5; round++) {
                    for (int i = 0; i < clients.size(); i++) {
                        clients.get(i).write(ByteBuffer.wrap(new byte[] {(byte) (i + round)}));
                    }
                    for (int i = 0; i < clients.size(); i++) {
                        one.clear();
                        assertEquals(1, clients.get(i).read(one), "connection " + i + " round " + round);
                        assertEquals((byte) (i + round), one.get(0), "connection " + i + " round " + round);
                    }
                }
            });
        } finally {
            for (SocketChannel c : clients) {
                c.close();
            }
            server.shutdown(Duration.ofSeconds(5));
        }
    }

    /**
     * Fifteen thousand connections from a separate process (the file limit here is 20,000 per
     * process, so one process could not hold both ends), from four source addresses so no
     * address runs short of ports; each sends one byte, gets it back, and stays open until all
     * have.
     */
    @Test
    void fifteenThousandConcurrentConnectionsOverLoopback(@TempDir Path dir) throws Exception {
        TestPeers.require("/usr/bin/python3", "python3");
        int count = 15_000;
        Server server = echo(count + 100);
        try {
            Path script = dir.resolve("many.py");
            Files.writeString(script, """
                    import resource, socket, sys
                    port, count = int(sys.argv[1]), int(sys.argv[2])
                    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                    socks = []
                    for i in range(count):
                        s = socket.socket()
                        s.settimeout(60)
                        s.bind(("127.0.0.%d" % (2 + i % 4), 0))
                        s.connect(("127.0.0.1", port))
                        socks.append(s)
                    for i, s in enumerate(socks):
                        s.sendall(bytes([i % 256]))
                    for i, s in enumerate(socks):
                        b = s.recv(1)
                        if b != bytes([i % 256]):
                            print("connection %d got %r" % (i, b)); sys.exit(1)
                    print("served %d" % len(socks))
                    sys.stdout.flush()
                    for s in socks:
                        s.close()
                    """);
            Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), String.valueOf(server.port()),
                    String.valueOf(count)).redirectErrorStream(true).start();
            assertTrue(p.waitFor(240, TimeUnit.SECONDS), "the client did not finish in 240 s");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertEquals("served " + count, out.strip());
        } finally {
            server.shutdown(Duration.ofSeconds(10));
        }
    }
}

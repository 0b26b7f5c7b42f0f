package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Over real sockets: a client that stops reading costs its senders at most the write timeout. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SlowPeerTest {
    @TempDir
    Path dir;

    private static String readUntil(InputStream in, String marker) throws Exception {
        StringBuilder sb = new StringBuilder();
        byte[] buf = new byte[4096];
        while (sb.indexOf(marker) < 0) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    @Test
    void aClientThatStopsReadingIsDroppedAfterTheWriteTimeoutAndOthersGoOn() throws Exception {
        Path users = dir.resolve("users");
        Files.createFile(users);
        UsersFile.addUser(users, "alice", "pw-alice".toCharArray());
        UsersFile.addUser(users, "slow", "pw-slow".toCharArray());
        try (XmppServer server = XmppServer.builder().domain("example.org").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .listen("tcp:0:interface=127.0.0.1").writeTimeout(Duration.ofSeconds(1)).build()) {
            server.start();
            Socket slow = new Socket();
            slow.setReceiveBufferSize(4096);
            slow.connect(new InetSocketAddress("127.0.0.1", server.port()));
            slow.setSoTimeout(10_000);
            OutputStream out = slow.getOutputStream();
            InputStream in = slow.getInputStream();
            String header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
            out.write(header.getBytes(StandardCharsets.UTF_8));
            readUntil(in, "</stream:features>");
            out.write(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                    + Base64.getEncoder().encodeToString("\0slow\0pw-slow".getBytes(StandardCharsets.UTF_8)) + "</auth>").getBytes(StandardCharsets.UTF_8));
            assertTrue(readUntil(in, "</success>").contains("<success"));
            out.write(header.getBytes(StandardCharsets.UTF_8));
            readUntil(in, "</stream:features>");
            out.write("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>"
                    .getBytes(StandardCharsets.UTF_8));
            readUntil(in, "</iq>");
            // from here on, "slow" reads nothing

            try (XmppClient alice = XmppClient.builder("alice@example.org/a", "pw-alice".toCharArray())
                    .endpoint("tcp:127.0.0.1:" + server.port()).requireTls(false).connect()) {
                String big = "z".repeat(4000);
                for (int i = 0; i < 4000; i++) {
                    // headlines are dropped, not stored, once the slow session is gone
                    alice.send(Element.of("message", "jabber:client").withAttribute("to", "slow@example.org/r")
                            .withAttribute("type", "headline").withChild(Element.of("body", "jabber:client").withText(big)));
                }
                long t0 = System.nanoTime();
                alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                        .withChild(Element.of("ping", "urn:xmpp:ping")), Duration.ofSeconds(30));
                long waited = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
                assertTrue(waited < 30, "alice waited " + waited + " s");
            }
            // the slow connection was closed by the server: draining it ends with EOF or a reset
            boolean ended = false;
            byte[] buf = new byte[65536];
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            try {
                while (System.nanoTime() < end) {
                    if (in.read(buf) < 0) {
                        ended = true;
                        break;
                    }
                }
            } catch (SocketException reset) {
                ended = true;
            }
            assertTrue(ended, "the server should have dropped the client that did not read");
            assertTrue(server.sessionCount() <= 1, "only alice may remain: " + server.sessionCount());
            slow.close();
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Endpoint;
import dev.twine.core.auth.UsersFile;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, finding 5, over real sockets (the limits are the acceptor's): streams that do not
 * authenticate in time are closed however they keep the line busy, and one address cannot take
 * every connection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AbuseLimitsTest {
    @TempDir
    Path dir;

    private XmppServer server(ConnectionLimits limits) throws Exception {
        Path users = dir.resolve("users");
        if (!Files.exists(users)) {
            Files.createFile(users);
            UsersFile.addUser(users, "alice", "pw-alice".toCharArray());
        }
        XmppServer s = XmppServer.builder().domain("example.org").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .listen("tcp:0:interface=127.0.0.1").limits(limits).build();
        s.start();
        return s;
    }

    private static Socket connect(XmppServer server, String from) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        s.setSoTimeout(15_000);
        return s;
    }

    /** Everything the server sends until it closes the connection. */
    private static String readToEnd(InputStream in) throws Exception {
        StringBuilder sb = new StringBuilder();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
        } catch (SocketException reset) {
            // closed by the server while we were still writing: what was read is what it said
        }
        return sb.toString();
    }

    private static final String HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
            + " to='example.org' version='1.0'>";

    @Test
    void aStreamThatDripsWhitespaceWithoutAuthenticatingIsClosedWithConnectionTimeout() throws Exception {
        try (XmppServer server = server(ConnectionLimits.builder().preauthTimeout(Duration.ofSeconds(1)).build());
                Socket s = connect(server, "127.0.0.1")) {
            OutputStream out = s.getOutputStream();
            out.write(HEADER.getBytes(StandardCharsets.UTF_8));
            out.flush();
            // a keepalive every 100 ms: each read succeeds, so only a total deadline can end this
            Thread dripper = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 300; i++) {
                        out.write(' ');
                        out.flush();
                        Thread.sleep(100);
                    }
                } catch (Exception closed) {
                    // the server closed the stream
                }
            });
            String got = readToEnd(s.getInputStream());
            dripper.interrupt();
            assertTrue(got.contains("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), got);
            assertTrue(got.endsWith("</stream:stream>"), got);
        }
    }

    @Test
    void anAuthenticatedStreamHasNoPreauthDeadline() throws Exception {
        try (XmppServer server = server(ConnectionLimits.builder().preauthTimeout(Duration.ofSeconds(1)).build());
                XmppClient alice = XmppClient.builder("alice@example.org/a", "pw-alice".toCharArray())
                        .endpoint("tcp:127.0.0.1:" + server.port()).requireTls(false).connect()) {
            // well past the pre-auth time: the stream still answers
            Thread.sleep(1500);
            Element pong = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Duration.ofSeconds(10));
            assertEquals("result", pong.attributeOrEmpty("type"));
        }
    }

    @Test
    void oneAddressOverItsCapIsRefusedWhileAnotherStillLogsIn() throws Exception {
        try (XmppServer server = server(ConnectionLimits.builder().perAddress(3).preauthPerAddress(2).build())) {
            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    flood.add(connect(server, "127.0.0.1")); // silent, never authenticates
                }
                Socket third = connect(server, "127.0.0.1");
                flood.add(third);
                String refusal = readToEnd(third.getInputStream());
                assertTrue(refusal.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), refusal);
                assertTrue(refusal.startsWith("<?xml version='1.0'?><stream:stream "), refusal);
                // another address is not held up by the flood
                Connection other = Client.connect(new Endpoint.Tcp("127.0.0.1", server.port(), Endpoint.DEFAULT_BACKLOG),
                        ClientOptions.builder().localAddress(InetAddress.getByName("127.0.0.2")).build());
                try (XmppClient alice = XmppClient.builder("alice@example.org/a", "pw-alice".toCharArray())
                        .connection(other).requireTls(false).connect()) {
                    assertEquals("alice@example.org/a", alice.jid().toString());
                }
            } finally {
                for (Socket s : flood) {
                    s.close();
                }
            }
        }
    }
}

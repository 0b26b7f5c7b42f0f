package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * XMPP over WebSocket (RFC 7395) on a {@code tls:} endpoint over loopback (wss), with clients
 * nobody here wrote: the JDK's {@link java.net.http.WebSocket} driving a minimal RFC 7395
 * session, and Python's {@code websockets} (Debian python3-websockets) doing the same; each logs
 * in and chats with a TCP user.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WebSocketClientsTest {
    private static final String FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
    @TempDir
    Path dir;

    private XmppServer server() throws Exception {
        Interop.selfSigned(dir);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "alice-pw".toCharArray());
        UsersFile.addUser(users, "bob", "bob-pw".toCharArray());
        XmppServer s = XmppServer.builder().domain("localhost").users(UsersFile.load(users)).dataDirectory(dir.resolve("data"))
                .tls(Tls.server(dir.resolve("cert.pem"), dir.resolve("key.pem"))).listen("tcp:0:interface=127.0.0.1")
                .websocketListen("tls:0:interface=127.0.0.1").build();
        s.start();
        return s;
    }

    private XmppClient bob(XmppServer s) throws Exception {
        XmppClient bob = XmppClient.builder("bob@localhost/tcp", "bob-pw".toCharArray()).endpoint("tcp:127.0.0.1:" + s.port())
                .tls(Tls.client(dir.resolve("cert.pem"))).timeout(Fixture.WAIT).connect();
        bob.sendPresence(0);
        return bob;
    }

    /** Whole text messages into a queue, as java.net.http.WebSocket hands them in parts. */
    private static final class Messages implements WebSocket.Listener {
        final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        private final StringBuilder part = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            part.append(data);
            if (last) {
                queue.add(part.toString());
                part.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            queue.add("closed " + code);
            return null;
        }

        String next() throws InterruptedException {
            String m = queue.poll(10, TimeUnit.SECONDS);
            assertTrue(m != null, "no message from the server");
            return m;
        }
    }

    @Test
    void theJdkWebSocketClientLogsInAndChats() throws Exception {
        try (XmppServer s = server(); XmppClient bob = bob(s)) {
            Messages in = new Messages();
            HttpClient http = HttpClient.newBuilder().sslContext(Tls.client(dir.resolve("cert.pem")).context()).build();
            WebSocket ws = http.newWebSocketBuilder().subprotocols("xmpp")
                    .buildAsync(URI.create("wss://127.0.0.1:" + s.websocketPort() + "/xmpp-websocket"), in).get(10, TimeUnit.SECONDS);
            assertEquals("xmpp", ws.getSubprotocol());
            ws.sendText("<open xmlns='" + FRAMING + "' to='localhost' version='1.0'/>", true).get();
            assertTrue(in.next().startsWith("<open xmlns='" + FRAMING + "'"));
            String features = in.next();
            assertTrue(features.contains("<mechanism>PLAIN</mechanism>") && !features.contains("starttls"), features);
            ws.sendText("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                    + Base64.getEncoder().encodeToString("\0alice\0alice-pw".getBytes(StandardCharsets.UTF_8)) + "</auth>", true).get();
            assertTrue(in.next().startsWith("<success"));
            ws.sendText("<open xmlns='" + FRAMING + "' to='localhost' version='1.0'/>", true).get();
            in.next();
            assertTrue(in.next().contains("xmpp-bind"));
            ws.sendText("<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                    + "<resource>jdk</resource></bind></iq>", true).get();
            assertTrue(in.next().contains("alice@localhost/jdk"));
            ws.sendText("<presence xmlns='jabber:client'/>", true).get();
            ws.sendText("<message xmlns='jabber:client' to='bob@localhost' type='chat'><body>from the jdk</body></message>", true).get();
            Element got = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
            assertEquals("from the jdk", got.childText("body").orElseThrow());
            bob.sendMessage(Jid.parse("alice@localhost/jdk"), "hello jdk");
            String reply;
            do {
                reply = in.next();
            } while (!reply.startsWith("<message"));
            assertTrue(reply.contains("<body>hello jdk</body>"), reply);
            ws.sendText("<close xmlns='" + FRAMING + "'/>", true).get();
            assertEquals("<close xmlns='" + FRAMING + "'/>", in.next());
            assertEquals("closed 1000", in.next());
        }
    }

    @Test
    void pythonWebsocketsDrivesAnRfc7395SessionAndChats() throws Exception {
        Interop.requirePeer(Interop.run(java.util.List.of("/usr/bin/python3", "-c", "import websockets")), "python3-websockets");
        try (XmppServer s = server(); XmppClient bob = bob(s)) {
            Path script = Interop.script(dir, "websockets_rfc7395.py");
            Process p = new ProcessBuilder(Interop.python(script, "wss://127.0.0.1:" + s.websocketPort() + "/xmpp-websocket",
                    dir.resolve("cert.pem"), "localhost", "alice", "alice-pw", "bob@localhost")).redirectErrorStream(true).start();
            try {
                Element got = bob.await(e -> e.name().equals("message"), Duration.ofSeconds(30)).orElseThrow(() -> new AssertionError(output(p)));
                assertEquals("from python", got.childText("body").orElseThrow());
                bob.sendMessage(Jid.parse(got.attributeOrEmpty("from")), "hello python");
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                String out = output(p);
                assertTrue(out.contains("ok reply hello python") && out.contains("ok closed"), out);
                assertEquals(0, p.exitValue(), out);
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static String output(Process p) {
        try {
            return new String(p.getInputStream().readNBytes(p.getInputStream().available()), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}

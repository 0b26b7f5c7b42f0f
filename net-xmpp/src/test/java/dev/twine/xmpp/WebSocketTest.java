package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * XMPP over WebSocket (RFC 7395) on in-memory connections, the frames written whole, byte by
 * byte and in random pieces: the upgrade (RFC 6455 §4.2) and its refusals, a login and a chat
 * with a TCP client through {@code <open/>}/{@code <close/>} framing, fragments, pings, and the
 * close codes for an unmasked frame, an oversized one, binary data and bad UTF-8.
 */
class WebSocketTest {
    private static final String FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
    private Fixture f;

    @BeforeEach
    void start() throws IOException {
        f = new Fixture(b -> b.websocketOrigin("https://chat.example.org"));
    }

    @AfterEach
    void stop() throws IOException {
        f.close();
    }

    private Connection raw(Chunking chunking) {
        MemoryConnections.Served s = MemoryConnections.serve(f.server.websocketHandler(), chunking);
        return s.client();
    }

    private static String upgrade(Connection c, String extraHeaders) throws IOException {
        Fixture.write(c, "GET /xmpp-websocket HTTP/1.1\r\nHost: example.org\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extraHeaders + "\r\n");
        return Fixture.readUntil(c, "\r\n\r\n");
    }

    private static final String GOOD = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\nOrigin: https://chat.example.org\r\n";

    /** A client frame: masked with a random key unless {@code masked} is false (RFC 6455 §5.2). */
    private static byte[] frame(int opcode, boolean fin, byte[] payload, boolean masked) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write((fin ? 0x80 : 0) | opcode);
        int m = masked ? 0x80 : 0;
        if (payload.length < 126) {
            b.write(m | payload.length);
        } else if (payload.length < 65536) {
            b.write(m | 126);
            b.write(payload.length >> 8);
            b.write(payload.length);
        } else {
            b.write(m | 127);
            for (int i = 7; i >= 0; i--) {
                b.write((int) ((long) payload.length >> (8 * i)));
            }
        }
        byte[] key = new byte[4];
        ThreadLocalRandom.current().nextBytes(key);
        if (masked) {
            b.write(key, 0, 4);
        }
        for (int i = 0; i < payload.length; i++) {
            b.write(masked ? payload[i] ^ key[i & 3] : payload[i]);
        }
        return b.toByteArray();
    }

    private static void send(Connection c, String text) throws IOException {
        c.output().write(frame(1, true, text.getBytes(StandardCharsets.UTF_8), true));
        c.flush();
    }

    /** A server frame: opcode and payload; the server never masks. */
    private record Frame(int opcode, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        int code() {
            return ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
        }
    }

    private static Frame read(Connection c) throws IOException {
        c.readTimeout(Fixture.WAIT);
        InputStream in = c.input();
        int b0 = in.read();
        int b1 = in.read();
        assertTrue(b0 >= 0 && b1 >= 0, "the connection ended");
        assertEquals(0x80, b0 & 0xf0, "a final frame without reserved bits");
        assertEquals(0, b1 & 0x80, "servers do not mask");
        long len = b1 & 0x7f;
        if (len == 126) {
            len = (in.read() << 8) | in.read();
        } else if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; i++) {
                len = (len << 8) | in.read();
            }
        }
        return new Frame(b0 & 0x0f, in.readNBytes((int) len));
    }

    /** The next text message, skipping nothing: every message must be text here. */
    private static String message(Connection c) throws IOException {
        Frame fr = read(c);
        assertEquals(1, fr.opcode(), "a text message");
        return fr.text();
    }

    private static String open(Connection c) throws IOException {
        send(c, "<open xmlns='" + FRAMING + "' to='example.org' version='1.0'/>");
        String open = message(c);
        assertTrue(open.startsWith("<open xmlns='" + FRAMING + "'") && open.contains("from='example.org'") && open.contains("version='1.0'"), open);
        return message(c);
    }

    private void loginAndChat(Chunking chunking) throws Exception {
        Connection c = raw(chunking);
        String answer = upgrade(c, GOOD);
        assertTrue(answer.startsWith("HTTP/1.1 101 "), answer);
        // RFC 6455 §1.3's example key and its answer
        assertTrue(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), answer);
        assertTrue(answer.contains("Sec-WebSocket-Protocol: xmpp\r\n"), answer);
        String features = open(c);
        assertTrue(features.startsWith("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"), features);
        assertTrue(features.contains("<mechanism>PLAIN</mechanism>") && !features.contains("starttls"), features);
        // the auth message in three fragments, a ping between two of them (§5.4: control frames may interleave)
        byte[] auth = ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                + Base64.getEncoder().encodeToString("\0alice\0secret-alice".getBytes(StandardCharsets.UTF_8)) + "</auth>")
                .getBytes(StandardCharsets.UTF_8);
        c.output().write(frame(1, false, java.util.Arrays.copyOfRange(auth, 0, 10), true));
        c.output().write(frame(9, true, "hb".getBytes(StandardCharsets.UTF_8), true));
        c.output().write(frame(0, false, java.util.Arrays.copyOfRange(auth, 10, 40), true));
        c.output().write(frame(0, true, java.util.Arrays.copyOfRange(auth, 40, auth.length), true));
        c.flush();
        Frame pong = read(c);
        assertEquals(10, pong.opcode());
        assertEquals("hb", pong.text());
        assertTrue(message(c).startsWith("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"));
        assertTrue(open(c).contains("urn:ietf:params:xml:ns:xmpp-bind"));
        send(c, "<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource></bind></iq>");
        String bound = message(c);
        assertTrue(bound.startsWith("<iq xmlns='jabber:client'") && bound.contains("alice@example.org/ws"), bound);
        send(c, "<presence xmlns='jabber:client'/>");
        XmppClient bob = f.login("bob", "tcp", Chunking.whole());
        bob.sendPresence(0);
        send(c, "<message xmlns='jabber:client' to='bob@example.org' type='chat'><body>over a websocket &amp; back</body></message>");
        Element got = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
        assertEquals("over a websocket & back", got.childText("body").orElseThrow());
        assertEquals("alice@example.org/ws", got.attributeOrEmpty("from"));
        bob.sendMessage(Jid.parse("alice@example.org/ws"), "and " + "x".repeat(2000)); // a 16-bit length
        String reply;
        do {
            reply = message(c);
        } while (!reply.startsWith("<message"));
        assertTrue(reply.startsWith("<message xmlns='jabber:client'") && reply.contains("<body>and xxx"), reply.substring(0, 100));
        send(c, "<close xmlns='" + FRAMING + "'/>");
        assertEquals("<close xmlns='" + FRAMING + "'/>", message(c));
        Frame close = read(c);
        assertEquals(8, close.opcode());
    }

    @Test
    void aClientLogsInAndChatsFramesWhole() throws Exception {
        loginAndChat(Chunking.whole());
    }

    @Test
    void aClientLogsInAndChatsFramesByteByByte() throws Exception {
        loginAndChat(Chunking.byteByByte());
    }

    @Test
    void aClientLogsInAndChatsFramesInRandomPieces() throws Exception {
        loginAndChat(Chunking.random(22));
    }

    @Test
    void badUpgradeRequestsGetTheirHttpErrors() throws Exception {
        assertTrue(upgrade(raw(Chunking.whole()), "Sec-WebSocket-Version: 13\r\nOrigin: https://chat.example.org\r\n").startsWith("HTTP/1.1 400 "),
                "RFC 7395 §3.1: the xmpp subprotocol is required");
        String version = upgrade(raw(Chunking.whole()), "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: xmpp\r\n");
        assertTrue(version.startsWith("HTTP/1.1 426 ") && version.contains("Sec-WebSocket-Version: 13"), version);
        assertTrue(upgrade(raw(Chunking.whole()), "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\nOrigin: https://evil.example\r\n")
                .startsWith("HTTP/1.1 403 "));
        Connection c = raw(Chunking.byteByByte());
        Fixture.write(c, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(Fixture.readUntil(c, "\r\n\r\n").startsWith("HTTP/1.1 404 "));
        Connection plain = raw(Chunking.whole());
        Fixture.write(plain, "GET /xmpp-websocket HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(Fixture.readUntil(plain, "\r\n\r\n").startsWith("HTTP/1.1 426 "), "no Upgrade header");
    }

    private int closeCodeAfter(Supplier<byte[]> bad) throws Exception {
        Connection c = raw(Chunking.random(7));
        assertTrue(upgrade(c, GOOD).startsWith("HTTP/1.1 101 "));
        open(c);
        c.output().write(bad.get());
        c.flush();
        Frame fr;
        do {
            fr = read(c);
        } while (fr.opcode() != 8);
        return fr.code();
    }

    @Test
    void framesRfc6455ForbidsCloseTheConnectionWithTheirCodes() throws Exception {
        assertEquals(1002, closeCodeAfter(() -> frame(1, true, "<presence xmlns='jabber:client'/>".getBytes(StandardCharsets.UTF_8), false)),
                "a client frame must be masked (§5.1)");
        assertEquals(1009, closeCodeAfter(() -> frame(1, true, new byte[16 * 1024 + 1], true)), "past the stanza limit");
        assertEquals(1003, closeCodeAfter(() -> frame(2, true, new byte[4], true)), "binary data");
        assertEquals(1007, closeCodeAfter(() -> frame(1, true, new byte[] {(byte) 0xc3, 0x28}, true)), "not UTF-8");
        assertEquals(1002, closeCodeAfter(() -> frame(0, true, new byte[4], true)), "a continuation with no message");
        assertEquals(1002, closeCodeAfter(() -> frame(9, false, new byte[4], true)), "a fragmented ping");
    }

    @Test
    void aStreamErrorIsOneMessageThenClose() throws Exception {
        Connection c = raw(Chunking.whole());
        upgrade(c, GOOD);
        open(c);
        send(c, "<iq xmlns='jabber:client' type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>"); // before SASL
        List<String> rest = new java.util.ArrayList<>();
        String m;
        do {
            m = message(c);
            rest.add(m);
        } while (!m.startsWith("<close"));
        assertTrue(rest.get(0).startsWith("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"), rest.toString());
        assertEquals(8, read(c).opcode());
    }
}

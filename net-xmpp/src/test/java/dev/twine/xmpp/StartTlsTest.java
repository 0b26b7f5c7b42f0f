package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** STARTTLS over real sockets (RFC 6120 §5): required before SASL, and a clean restart. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StartTlsTest {
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

    private static final String HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            + "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

    @Test
    void tlsIsRequiredBeforeAuthenticationAndPlaintextPipelinedAfterStartTlsIsDiscarded() throws Exception {
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw");
                Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(HEADER.getBytes(StandardCharsets.UTF_8));
            String features = readUntil(in, "</stream:features>");
            assertTrue(features.contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"), features);
            assertFalse(features.contains("<mechanisms"), "no SASL offered before TLS: " + features);
            String plain = java.util.Base64.getEncoder().encodeToString("\0alice\0alice-pw".getBytes(StandardCharsets.UTF_8));
            out.write(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>").getBytes(StandardCharsets.UTF_8));
            assertTrue(readUntil(in, "</failure>").contains("<encryption-required/>"));
            // an attacker's plaintext right behind <starttls/> must not survive into the TLS stream
            out.write(("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                    + plain + "</auth>").getBytes(StandardCharsets.UTF_8));
            assertTrue(readUntil(in, "/>").contains("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
            SSLSocket tls = (SSLSocket) Tls.client(dir.resolve("cert.pem")).context().getSocketFactory()
                    .createSocket(s, "localhost", server.port(), true);
            tls.startHandshake();
            OutputStream tout = tls.getOutputStream();
            InputStream tin = tls.getInputStream();
            tout.write(HEADER.getBytes(StandardCharsets.UTF_8));
            String after = readUntil(tin, "</stream:features>");
            assertTrue(after.contains("<mechanism>SCRAM-SHA-256</mechanism>"), after);
            assertFalse(after.contains("<success"), "the pipelined <auth/> was not run: " + after);
            assertFalse(after.contains("starttls"), after);
        }
    }

    @Test
    void xmppClientRefusesAServerWithoutStartTls() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppException e = assertThrows(XmppException.class, () -> XmppClient.builder("alice@example.org", "secret-alice".toCharArray())
                    .connection(f.raw(dev.twine.core.testing.Chunking.whole())).timeout(Fixture.WAIT).connect());
            assertEquals("encryption-required", e.condition());
        }
    }

    @Test
    void xmppClientNegotiatesStartTlsAndScramWithTheServer() throws Exception {
        try (XmppServer server = Interop.server(dir, "alice-pw", "bob-pw");
                XmppClient alice = XmppClient.builder("alice@localhost/x", "alice-pw".toCharArray())
                        .endpoint("tcp:127.0.0.1:" + server.port()).tls(Tls.client(dir.resolve("cert.pem"))).connect()) {
            assertTrue(alice.isSecure());
            assertEquals(Jid.parse("alice@localhost/x"), alice.jid());
            alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "localhost")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
        }
    }

    @Test
    void gracefulShutdownTellsConnectedClientsSystemShutdown() throws Exception {
        XmppServer server = Interop.server(dir, "alice-pw", "bob-pw");
        try (XmppClient alice = XmppClient.builder("alice@localhost/x", "alice-pw".toCharArray())
                .endpoint("tcp:127.0.0.1:" + server.port()).tls(Tls.client(dir.resolve("cert.pem"))).connect()) {
            server.shutdown(java.time.Duration.ofSeconds(5));
            assertThrows(java.io.EOFException.class, () -> {
                for (int i = 0; i < 100; i++) {
                    alice.receive(Fixture.WAIT);
                }
            });
            assertEquals("system-shutdown", alice.endReason());
        } finally {
            server.close();
        }
    }
}

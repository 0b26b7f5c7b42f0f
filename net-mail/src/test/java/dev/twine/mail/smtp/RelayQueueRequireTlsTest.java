package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Tls;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.Maildir;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * REQUIRETLS (RFC 8689): offered and accepted by the server on a TLS session only, kept in the
 * queue, and honoured by the relay: such a message goes only over STARTTLS with a certificate
 * valid for the MX host's name to a hop that offers REQUIRETLS (which gets the parameter), and is
 * bounced with 5.7.30 (its header section only) when no hop will do.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayQueueRequireTlsTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Path cert;
    private Tls serverTls;

    @BeforeEach
    void certificate() throws Exception {
        cert = dir.resolve("tls/cert.pem");
        serverTls = Tls.selfSigned(cert, dir.resolve("tls/key.pem"), List.of("mx.remote.test"));
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    private RecordingHop hop(Tls tls, String... keywords) throws Exception {
        RecordingHop h = tls == null ? RecordingHop.offering(keywords) : RecordingHop.withTls(tls, keywords);
        toClose.add(h);
        return h;
    }

    /**
     * The MX host {@code name} at the hop's loopback address, as DnsMxResolver gives them for a
     * domain whose MX answer DNSSEC authenticated.
     */
    private static MxResolver mx(String name, RecordingHop h) {
        return mx(name, h, true);
    }

    /** {@link #mx(String, RecordingHop)}, the MX answer authenticated or not. */
    private static MxResolver mx(String name, RecordingHop h, boolean authenticated) {
        return new MxResolver() {
            @Override
            public List<String> lookup(String domain) {
                return List.of(h.hostPort());
            }

            @Override
            public Hops hops(String domain) {
                return new Hops(List.of(new Host(name, h.hostPort())), authenticated);
            }
        };
    }

    private RelayQueue queue(MxResolver resolver) throws Exception {
        SmtpTestSupport.users(dir);
        return RelayQueue.builder().directory(dir.resolve("queue")).heloName("example.test").resolver(resolver)
                .localDelivery("example.test", Maildir.open(dir.resolve("maildir"))).clock(ManualClock.create())
                .timeout(Duration.ofSeconds(10)).verifiedTls(Tls.client(cert)).build();
    }

    private static final byte[] MESSAGE = "From: alice@example.test\r\nSubject: secret\r\n\r\nthe secret body\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private static void send(RelayQueue q, boolean requireTls) throws Exception {
        SmtpTestSupport.relay(q, "bob@remote.test", requireTls, MESSAGE);
    }

    private String bounce() throws Exception {
        List<Path> bounces = delivered(dir, "alice");
        assertEquals(1, bounces.size());
        String dsn = Files.readString(bounces.get(0));
        assertTrue(dsn.contains("Action: failed\r\nStatus: 5.7.30\r\n"), dsn);
        assertFalse(dsn.contains("the secret body"), "a REQUIRETLS message's bounce returns its headers only: " + dsn);
        return dsn;
    }

    @Test
    void aRequireTlsMessageGoesOverVerifiedTlsToAHopOfferingRequireTlsWithTheParameter() throws Exception {
        RecordingHop h = hop(serverTls, "REQUIRETLS", "DSN");
        RelayQueue q = queue(mx("mx.remote.test", h));
        send(q, true);
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(List.of(true), h.secure, "over TLS");
        assertTrue(h.commands.contains("MAIL FROM:<alice@example.test> RET=FULL REQUIRETLS"), h.commands.toString());
        assertEquals(List.of(), delivered(dir, "alice"), "no bounce");
    }

    @Test
    void anMxAnswerThatDnssecDidNotAuthenticateGetsNothingAndTheMessageBouncesWith5730() throws Exception {
        RecordingHop h = hop(serverTls, "REQUIRETLS", "DSN");
        RelayQueue q = queue(mx("mx.remote.test", h, false));
        send(q, true);
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(List.of(), h.commands, "not even connected: a forged MX could hold a valid certificate");
        assertTrue(bounce().contains("not DNSSEC-authenticated"));
    }

    @Test
    void anOrdinaryMessageGoesToAnUnauthenticatedMx() throws Exception {
        RecordingHop h = hop(serverTls, "REQUIRETLS");
        RelayQueue q = queue(mx("mx.remote.test", h, false));
        send(q, false);
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(1, h.messages.size());
    }

    @Test
    void aHopWithoutRequireTlsGetsNothingAndTheMessageBouncesWith5730() throws Exception {
        RecordingHop h = hop(serverTls);
        RelayQueue q = queue(mx("mx.remote.test", h));
        send(q, true);
        q.deliverDue();
        assertEquals(0, q.size());
        assertEquals(List.of(), h.messages);
        assertTrue(bounce().contains("no REQUIRETLS offered"));
    }

    @Test
    void aHopWithoutStartTlsGetsNothingAndTheMessageBounces() throws Exception {
        RecordingHop h = hop(null, "REQUIRETLS");
        RelayQueue q = queue(mx("mx.remote.test", h));
        send(q, true);
        q.deliverDue();
        assertEquals(List.of(), h.messages);
        assertTrue(bounce().contains("no STARTTLS offered"));
    }

    @Test
    void aCertificateNotValidForTheMxNameIsNotVerifiedTls() throws Exception {
        RecordingHop h = hop(serverTls, "REQUIRETLS");
        RelayQueue q = queue(mx("mx.elsewhere.test", h));
        send(q, true);
        q.deliverDue();
        assertEquals(List.of(), h.messages);
        assertTrue(bounce().contains("no verified TLS for mx.elsewhere.test"));
    }

    @Test
    void aCertificateFromAnUntrustedIssuerIsNotVerifiedTls() throws Exception {
        Tls other = Tls.selfSigned(dir.resolve("other/cert.pem"), dir.resolve("other/key.pem"), List.of("mx.remote.test"));
        RecordingHop h = hop(other, "REQUIRETLS");
        RelayQueue q = queue(mx("mx.remote.test", h));
        send(q, true);
        q.deliverDue();
        assertEquals(List.of(), h.messages);
        bounce();
    }

    @Test
    void anOrdinaryMessageStillGoesOpportunisticallyToAPlainHop() throws Exception {
        RecordingHop h = hop(null);
        RelayQueue q = queue(mx("mx.remote.test", h));
        send(q, false);
        q.deliverDue();
        assertEquals(1, h.messages.size());
        assertEquals(List.of(false), h.secure);
    }

    @Test
    void theServerOffersAndAcceptsRequireTlsOnlyOnATlsSessionAndTheDeliveryGetsIt() throws Exception {
        List<MailDelivery.Envelope<String>> got = new CopyOnWriteArrayList<>();
        MailDelivery<String> recording = new MailDelivery<>() {
            @Override
            public String recipient(Session session, String sender, String address) {
                return address;
            }

            @Override
            public void deliver(Envelope<String> envelope, java.io.InputStream message) {
                got.add(envelope);
            }
        };
        SmtpServer server = SmtpServer.builder().domain("example.test").delivery(recording).tls(serverTls).build();
        try (MemoryConnections.Served served = MemoryConnections.serve(server.handler(), dev.twine.core.testing.Chunking.whole())) {
            Connection c = served.client();
            LineReader r = LineReader.of(c, 4096);
            LineWriter w = LineWriter.of(c);
            assertTrue(r.readLine().startsWith("220 "));
            assertFalse(ehlo(r, w).stream().anyMatch(l -> l.contains("REQUIRETLS")), "not before TLS");
            w.writeLine("STARTTLS").flush();
            assertTrue(r.readLine().startsWith("220 "));
            c.startTls(Tls.client(cert), "mx.remote.test");
            assertTrue(ehlo(r, w).stream().anyMatch(l -> l.substring(4).equals("REQUIRETLS")), "offered over TLS");
            w.writeLine("MAIL FROM:<a@remote.example> REQUIRETLS").flush();
            assertEquals("250 2.1.0 Ok", r.readLine());
            w.writeLine("RCPT TO:<alice@example.test>").flush();
            assertEquals("250 2.1.5 Ok", r.readLine());
            w.writeLine("DATA").flush();
            assertTrue(r.readLine().startsWith("354 "));
            w.writeLine("Subject: x").writeLine("").writeLine("y").writeLine(".").flush();
            assertEquals("250 2.0.0 Ok: queued", r.readLine());
            w.writeLine("QUIT").flush();
            assertTrue(r.readLine().startsWith("221 "));
        }
        assertEquals(1, got.size());
        assertTrue(got.get(0).parameters().requireTls());
    }

    private static List<String> ehlo(LineReader r, LineWriter w) throws Exception {
        w.writeLine("EHLO client.example").flush();
        List<String> lines = new ArrayList<>();
        String l;
        do {
            l = r.readLine();
            lines.add(l);
        } while (l.startsWith("250-"));
        return lines;
    }
}

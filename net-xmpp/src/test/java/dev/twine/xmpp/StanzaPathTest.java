package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server's per-stanza path: stanzas routed in a burst are held back and flushed together,
 * idle streams hand their parser to others, and a long-lived parser is replaced. Each case checks
 * that nothing is lost, reordered or accepted that should not be.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StanzaPathTest {
    private static final String EXTRA_ROOT = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            + "xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:test:x' to='example.org' version='1.0'>";

    /** Logs in on a raw stream with the given stream header and binds resource {@code r}. */
    private static void rawLogin(Connection c, String user, String header) throws Exception {
        Fixture.write(c, header);
        Fixture.readUntil(c, "</stream:features>");
        String plain = Base64.getEncoder().encodeToString(("\0" + user + "\0secret-" + user).getBytes());
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
        Fixture.readUntil(c, "</success>");
        Fixture.write(c, header);
        Fixture.readUntil(c, "</stream:features>");
        Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
        Fixture.readUntil(c, "</iq>");
    }

    @Test
    void burstReadAtOnceIsDeliveredWholeAndInOrderWithNoFurtherInput() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Connection alice = f.raw(Chunking.whole());
            rawLogin(alice, "alice", Fixture.header());
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < 40; i++) {
                burst.append("<message to='bob@example.org/b' type='chat'><body>m").append(i).append("</body></message>");
            }
            // one write: the server reads the burst at once and then waits on alice's connection,
            // so bob gets the messages only if the held-back writes are flushed before that wait
            Fixture.write(alice, burst.toString());
            for (int i = 0; i < 40; i++) {
                Element m = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
                assertEquals("m" + i, m.childText("body").orElseThrow());
                assertEquals("alice@example.org/r", m.attributeOrEmpty("from"));
            }
        }
    }

    @Test
    void rootNamespaceDeclarationsStillApplyAfterIdlePeriods() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Connection alice = f.raw(Chunking.random(3));
            rawLogin(alice, "alice", EXTRA_ROOT);
            for (int i = 0; i < 3; i++) {
                // after each round trip alice's stream is idle and its parser parked
                Fixture.write(alice, "<message to='bob@example.org/b'><body>p" + i + "</body><x:tag/></message>");
                Element m = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
                assertEquals("p" + i, m.childText("body").orElseThrow());
                assertTrue(m.child("tag", "urn:test:x").isPresent(), m.toXml());
            }
        }
    }

    @Test
    void parserOfAStreamWithOtherDeclarationsIsNotReused() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection carol = f.raw(Chunking.whole());
            rawLogin(carol, "carol", Fixture.header());
            Connection alice = f.raw(Chunking.whole());
            rawLogin(alice, "alice", EXTRA_ROOT);
            // alice's stream goes idle last, so its parser (which knows x:) is the newest parked
            // one: the server parks it before it flushes the message it routed to carol
            Fixture.write(alice, "<message to='carol@example.org/r'><body>hello</body></message>");
            Fixture.readUntil(carol, "</message>");
            // carol never declared x: an undeclared prefix is bad XML on her stream
            Fixture.write(carol, "<message to='alice@example.org'><x:tag/></message>");
            String out = Fixture.readToEnd(carol);
            assertTrue(out.contains("<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), out);
        }
    }

    @Test
    void streamLongerThanAParserLifetimeLosesNothing() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Connection alice = f.raw(Chunking.whole());
            rawLogin(alice, "alice", EXTRA_ROOT);
            String pad = "z".repeat(8000);
            int n = 200; // 1.6 MB: past the point where a parser is retired and replaced
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        Fixture.write(alice, "<message to='bob@example.org/b'><body>" + i + "</body><x:pad>" + pad + "</x:pad></message>");
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int i = 0; i < n; i++) {
                Element m = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
                assertEquals(String.valueOf(i), m.childText("body").orElseThrow());
                assertEquals(pad, m.child("pad", "urn:test:x").orElseThrow().text());
            }
            writer.join();
        }
    }
}

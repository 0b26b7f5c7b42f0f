package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NegotiationTest {
    static java.util.List<Chunking> chunkings() {
        return Chunking.standard();
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void scramLoginBindsTheRequestedResource(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "laptop", chunking);
            assertEquals(Jid.parse("alice@example.org/laptop"), alice.jid());
            assertEquals(1, f.server.sessionCount());
        }
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void plainLoginWorksWhenNoTlsIsConfigured(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(chunking);
            Fixture.write(c, Fixture.header());
            String features = Fixture.readUntil(c, "</stream:features>");
            assertTrue(features.contains("<mechanism>PLAIN</mechanism>"), features);
            assertTrue(features.contains("<mechanism>SCRAM-SHA-256</mechanism>"), features);
            assertTrue(features.contains("<mechanism>SCRAM-SHA-1</mechanism>"), features);
            String plain = Base64.getEncoder().encodeToString("\0bob\0secret-bob".getBytes(StandardCharsets.UTF_8));
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
            assertTrue(Fixture.readUntil(c, "</success>").contains("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"));
            Fixture.write(c, Fixture.header());
            String f2 = Fixture.readUntil(c, "</stream:features>");
            assertTrue(f2.contains("urn:ietf:params:xml:ns:xmpp-bind"), f2);
            Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
            String bound = Fixture.readUntil(c, "</iq>");
            assertTrue(bound.matches("(?s).*<jid>bob@example.org/twine-[0-9a-f]+</jid>.*"), bound);
        }
    }

    @Test
    void wrongPasswordIsNotAuthorized() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppException e = assertThrows(XmppException.class, () -> XmppClient.builder("alice@example.org", "nope".toCharArray())
                    .connection(f.raw(Chunking.whole())).requireTls(false).timeout(Fixture.WAIT).connect());
            assertEquals("not-authorized", e.condition());
        }
    }

    @Test
    void stanzaBeforeAuthenticationIsAStreamError() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header() + "<message to='bob@example.org'><body>hi</body></message>");
            String out = Fixture.readToEnd(c);
            assertTrue(out.contains("<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), out);
            assertTrue(out.endsWith("</stream:stream>"), out);
        }
    }

    @Test
    void wrongDomainIsHostUnknown() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header().replace("to='example.org'", "to='elsewhere.net'"));
            String out = Fixture.readToEnd(c);
            assertTrue(out.startsWith("<?xml version='1.0'?><stream:stream"), out);
            assertTrue(out.contains("<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), out);
        }
    }

    @Test
    void wrongContentNamespaceIsInvalidNamespace() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header().replace("xmlns='jabber:client'", "xmlns='jabber:server'"));
            assertTrue(Fixture.readToEnd(c).contains("<invalid-namespace "));
        }
    }

    @Test
    void missingVersionIsUnsupportedVersion() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header().replace("to='example.org' version='1.0'", "to='example.org'"));
            String out = Fixture.readToEnd(c);
            assertTrue(out.contains("<unsupported-version "), out);
        }
    }

    @Test
    void unknownMechanismIsInvalidMechanismAndTheStreamGoesOn() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header());
            Fixture.readUntil(c, "</stream:features>");
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-NOPE'>=</auth>");
            assertTrue(Fixture.readUntil(c, "</failure>").contains("<invalid-mechanism/>"));
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>@@@</auth>");
            assertTrue(Fixture.readUntil(c, "</failure>").contains("<incorrect-encoding/>"));
            assertFalse(c.isClosed());
        }
    }

    @Test
    void secondSessionWithSameResourceReplacesTheFirstWithConflict() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient first = f.login("alice", "phone", Chunking.whole());
            XmppClient second = f.login("alice", "phone", Chunking.whole());
            assertThrows(java.io.EOFException.class, () -> first.receive(Fixture.WAIT));
            assertEquals("conflict", first.endReason());
            assertEquals(Jid.parse("alice@example.org/phone"), second.jid());
            assertEquals(1, f.server.sessionCount());
        }
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void whitespaceKeepalivesBetweenStanzasAreIgnored(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(chunking);
            Fixture.write(c, Fixture.header());
            Fixture.readUntil(c, "</stream:features>");
            String plain = Base64.getEncoder().encodeToString("\0carol\0secret-carol".getBytes(StandardCharsets.UTF_8));
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
            Fixture.readUntil(c, "</success>");
            Fixture.write(c, Fixture.header());
            Fixture.readUntil(c, "</stream:features>");
            Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
            Fixture.readUntil(c, "</iq>");
            // RFC 6120 §4.6.1: whitespace keepalives, alone and around a stanza
            Fixture.write(c, " ");
            Fixture.write(c, "\n \r\n\t");
            Fixture.write(c, "  <message to='carol@example.org/r'><body>after keepalives</body></message>  \n");
            String got = Fixture.readUntil(c, "</message>");
            assertTrue(got.contains("<body>after keepalives</body>") && got.contains("from='carol@example.org/r'"), got);
            Fixture.write(c, " </stream:stream>");
            assertTrue(Fixture.readToEnd(c).endsWith("</stream:stream>"));
        }
    }
}

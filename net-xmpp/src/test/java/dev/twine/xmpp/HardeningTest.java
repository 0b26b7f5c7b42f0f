package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import java.util.concurrent.TimeUnit;
import javax.xml.XMLConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Hostile XML: each case ends that stream with the right stream error, and others keep working. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HardeningTest {
    private static String afterLogin(Fixture f, Connection c, String evil) throws Exception {
        afterLoginSend(c, evil);
        return Fixture.readToEnd(c);
    }

    /** Logs in carol on a raw connection, binds a resource, then writes {@code xml}. */
    private static void afterLoginSend(Connection c, String xml) throws Exception {
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        String plain = java.util.Base64.getEncoder().encodeToString("\0carol\0secret-carol".getBytes());
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
        Fixture.readUntil(c, "</success>");
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
        Fixture.readUntil(c, "</iq>");
        Fixture.write(c, xml);
    }

    private static void assertStreamError(String out, String condition) {
        assertTrue(out.contains("<stream:error><" + condition + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), out);
        assertTrue(out.endsWith("</stream:stream>"), out);
    }

    private static void othersStillServed(Fixture f) throws Exception {
        XmppClient alice = f.login("alice", "a", Chunking.whole());
        alice.sendMessage(alice.jid(), "alive");
        assertTrue(alice.await(e -> e.childText("body").orElse("").equals("alive"), Fixture.WAIT).isPresent());
    }

    @Test
    void oversizedStanzaIsPolicyViolation() throws Exception {
        try (Fixture f = new Fixture()) {
            String big = "<message to='alice@example.org'><body>" + "x".repeat(40_000) + "</body></message>";
            assertStreamError(afterLogin(f, f.raw(Chunking.random(7)), big), "policy-violation");
            othersStillServed(f);
        }
    }

    @Test
    void endlessTextWithoutTagsIsPolicyViolationNotMemoryGrowth() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            String out = afterLogin(f, c, "<message><body>" + "y".repeat(100_000));
            assertStreamError(out, "policy-violation");
        }
    }

    @Test
    void deepNestingIsPolicyViolation() throws Exception {
        try (Fixture f = new Fixture()) {
            String deep = "<message>" + "<a>".repeat(20) + "</a>".repeat(20) + "</message>";
            assertStreamError(afterLogin(f, f.raw(Chunking.whole()), deep), "policy-violation");
            othersStillServed(f);
        }
    }

    @Test
    void tooManyAttributesIsPolicyViolation() throws Exception {
        try (Fixture f = new Fixture()) {
            StringBuilder sb = new StringBuilder("<message");
            for (int i = 0; i < 30; i++) {
                sb.append(" a").append(i).append("='v'");
            }
            sb.append("/>");
            assertStreamError(afterLogin(f, f.raw(Chunking.whole()), sb.toString()), "policy-violation");
        }
    }

    @Test
    void doctypeIsRejectedBeforeAnyEntityExpands() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, "<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]>"
                    + "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>");
            String out = Fixture.readToEnd(c);
            assertTrue(out.contains("<restricted-xml ") || out.contains("<not-well-formed "), out);
            othersStillServed(f);
        }
    }

    @Test
    void undeclaredEntityReferenceIsAnError() throws Exception {
        try (Fixture f = new Fixture()) {
            String out = afterLogin(f, f.raw(Chunking.whole()), "<message><body>&xxe;</body></message>");
            assertTrue(out.contains("<restricted-xml ") || out.contains("<not-well-formed "), out);
        }
    }

    @Test
    void commentIsRestrictedXml() throws Exception {
        try (Fixture f = new Fixture()) {
            assertStreamError(afterLogin(f, f.raw(Chunking.whole()), "<!-- hi -->"), "restricted-xml");
        }
    }

    @Test
    void malformedXmlIsNotWellFormed() throws Exception {
        try (Fixture f = new Fixture()) {
            assertStreamError(afterLogin(f, f.raw(Chunking.byteByByte()), "<message><body>x</bo></message>"), "not-well-formed");
            othersStillServed(f);
        }
    }

    @Test
    void unknownTopLevelElementIsUnsupportedStanzaType() throws Exception {
        try (Fixture f = new Fixture()) {
            assertStreamError(afterLogin(f, f.raw(Chunking.whole()), "<foo xmlns='urn:example'/>"), "unsupported-stanza-type");
        }
    }

    @Test
    void vanishingPeerMidStanzaEndsOnlyThatSession() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header() + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PL");
            Fixture.readUntil(c, "</stream:features>");
            c.close();
            othersStillServed(f);
        }
    }

    @Test
    void prefixedAttributesAreNotForwardedInAFormThatBreaksTheRecipient() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header());
            Fixture.readUntil(c, "</stream:features>");
            String plain = java.util.Base64.getEncoder().encodeToString("\0carol\0secret-carol".getBytes());
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
            Fixture.readUntil(c, "</success>");
            Fixture.write(c, Fixture.header());
            Fixture.readUntil(c, "</stream:features>");
            Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
            Fixture.readUntil(c, "</iq>");
            Fixture.write(c, "<message to='bob@example.org/b' xml:lang='en'><body>tricky</body>"
                    + "<x xmlns='urn:example:x' xmlns:f='urn:example:f' f:a='1' b='2'/></message>");
            Element m = bob.await(e -> e.childText("body").orElse("").equals("tricky"), Fixture.WAIT).orElseThrow();
            Element x = m.child("x", "urn:example:x").orElseThrow();
            assertTrue(x.attribute("b").isPresent() && x.attribute("f:a").isEmpty(), x.toXml());
            assertTrue(m.attribute("xml:lang").isPresent(), m.toXml());
            bob.sendMessage(Jid.parse("bob@example.org/b"), "stream still fine");
            assertTrue(bob.await(e -> e.childText("body").orElse("").equals("stream still fine"), Fixture.WAIT).isPresent());
        }
    }

    @Test
    void elementInTheXmlNamespaceIsForwardedWithItsPrefixNotAsADefaultNamespace() throws Exception {
        // Namespaces in XML 1.0 §3: <xml:e/> is well-formed (the xml prefix is always bound), but
        // xmlns='http://www.w3.org/XML/1998/namespace' is not, and would end the recipient's stream.
        assertEquals("<xml:e/>", Element.of("e", XMLConstants.XML_NS_URI).toXml());
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Connection c = f.raw(Chunking.whole());
            afterLoginSend(c, "<message to='bob@example.org/b'><body>xml-ns</body><xml:e a='1'><g>t</g></xml:e></message>");
            Element m = bob.await(e -> e.childText("body").orElse("").equals("xml-ns"), Fixture.WAIT).orElseThrow();
            Element x = m.child("e", XMLConstants.XML_NS_URI).orElseThrow();
            assertEquals("t", x.child("g", m.namespace()).orElseThrow().text(), m.toXml());
            bob.sendMessage(Jid.parse("bob@example.org/b"), "stream still fine");
            assertTrue(bob.await(e -> e.childText("body").orElse("").equals("stream still fine"), Fixture.WAIT).isPresent());
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * XEP-0352 client state indication over in-memory connections: the stream feature, presence
 * held and coalesced while inactive and let out on {@code <active/>}, and messages with bodies,
 * receipts and chat markers going at once, after what was held, in order.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientStateTest {
    private static final String CSI = "urn:xmpp:csi:0";

    /** What bob has received so far, in order (his ping round trip first, so all of it). */
    private static List<Element> drain(XmppClient c) throws Exception {
        BlockingTest.roundTrip(c);
        List<Element> got = new ArrayList<>();
        for (var e = c.receive(Duration.ZERO); e.isPresent(); e = c.receive(Duration.ZERO)) {
            got.add(e.get());
        }
        return got;
    }

    private static Element presence(String show) {
        return Element.of("presence", "jabber:client").withChild(Element.of("show", "jabber:client").withText(show));
    }

    /** Alice's presence change, once her own copy shows it went out to her contacts first. */
    private static void change(XmppClient alice, String show) throws Exception {
        alice.send(presence(show));
        alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("alice@example.org/a")
                && e.childText("show").orElse("").equals(show), Fixture.WAIT).orElseThrow();
    }

    private static List<Element> fromAlice(List<Element> got) {
        return got.stream().filter(e -> e.attributeOrEmpty("from").startsWith("alice@")).toList();
    }

    @Test
    void featureIsOfferedAfterAuthentication() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = f.raw(Chunking.whole());
            Fixture.write(c, Fixture.header());
            assertTrue(!Fixture.readUntil(c, "</stream:features>").contains(CSI));
            String plain = Base64.getEncoder().encodeToString("\0alice\0secret-alice".getBytes());
            Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
            Fixture.readUntil(c, "</success>");
            Fixture.write(c, Fixture.header());
            assertTrue(Fixture.readUntil(c, "</stream:features>").contains("<csi xmlns='urn:xmpp:csi:0'/>"));
        }
    }

    @Test
    void presenceWaitsWhileInactiveOnlyTheLatestPerContactAndComesOnActive() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.random(7));
            BlockingTest.befriend(alice, bob);
            drain(bob);
            bob.send(Element.of("inactive", CSI));
            BlockingTest.roundTrip(bob); // the nonza was handled before this
            change(alice, "away");
            change(alice, "dnd");
            change(alice, "xa");
            bob.send(Element.of("active", CSI));
            List<Element> got = fromAlice(drain(bob));
            assertEquals(1, got.size(), got.toString());
            assertEquals("xa", got.get(0).childText("show").orElse(""));
            // active again: each change arrives by itself
            change(alice, "chat");
            change(alice, "away");
            assertEquals(2, fromAlice(drain(bob)).size());
        }
    }

    @Test
    void bodiesReceiptsAndMarkersGoAtOnceUntouchedAfterWhatWasHeld() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            BlockingTest.befriend(alice, bob);
            drain(bob);
            bob.send(Element.of("inactive", CSI));
            BlockingTest.roundTrip(bob);
            change(alice, "away");
            Element receipt = Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b").withAttribute("id", "r1")
                    .withChild(Element.of("received", "urn:xmpp:receipts").withAttribute("id", "m0"));
            alice.send(receipt);
            Element first = bob.receive(Fixture.WAIT).orElseThrow();
            assertEquals("presence", first.name());
            Element second = bob.receive(Fixture.WAIT).orElseThrow();
            assertEquals("r1", second.attributeOrEmpty("id"));
            assertEquals(receipt.children().get(0), second.child("received", "urn:xmpp:receipts").orElseThrow()); // untouched

            alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b").withAttribute("type", "chat")
                    .withChild(Element.of("composing", "http://jabber.org/protocol/chatstates")));
            Element marker = Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b").withAttribute("type", "chat")
                    .withAttribute("id", "k1").withChild(Element.of("displayed", "urn:xmpp:chat-markers:0").withAttribute("id", "m0"));
            alice.send(marker);
            Element composing = bob.receive(Fixture.WAIT).orElseThrow();
            assertTrue(composing.childIn("http://jabber.org/protocol/chatstates").isPresent(), composing.toXml());
            Element displayed = bob.receive(Fixture.WAIT).orElseThrow();
            assertTrue(displayed.toXml().contains("<displayed xmlns='urn:xmpp:chat-markers:0' id='m0'/>"), displayed.toXml());

            alice.sendMessage(Jid.parse("bob@example.org/b"), "wake up");
            assertTrue(bob.receive(Fixture.WAIT).orElseThrow().childText("body").orElse("").equals("wake up"));
        }
    }

    @Test
    void theHeldBufferIsBoundedAndLetsEverythingOutWhenFull() throws Exception {
        try (Fixture f = new Fixture(b -> b.componentListen("tcp:0:interface=127.0.0.1", "s3cret"))) {
            Connection component = f.rawComponent(Chunking.whole());
            assertEquals("<handshake/>", ComponentTest.open(component, "s3cret"));
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            drain(bob);
            bob.send(Element.of("inactive", CSI));
            BlockingTest.roundTrip(bob);
            // 500 senders fill the buffer; a second presence of the first replaces its first
            StringBuilder burst = new StringBuilder();
            for (int i = 1; i <= 500; i++) {
                burst.append("<presence from='u").append(i).append("@bot.example.org' to='bob@example.org/b'/>");
            }
            burst.append("<presence from='u1@bot.example.org' to='bob@example.org/b'><show>away</show></presence>");
            burst.append("<presence from='u501@bot.example.org' to='bob@example.org/b'/>"); // one sender too many
            Fixture.write(component, burst.toString());
            List<Element> got = new ArrayList<>();
            while (got.size() < 501) {
                got.add(bob.receive(Fixture.WAIT).orElseThrow(() -> new AssertionError("only " + got.size() + " presences let out")));
            }
            assertEquals("u2@bot.example.org", got.get(0).attributeOrEmpty("from"));
            assertEquals("u1@bot.example.org", got.get(499).attributeOrEmpty("from"));
            assertEquals("away", got.get(499).childText("show").orElse(""));
            assertEquals("u501@bot.example.org", got.get(500).attributeOrEmpty("from"));
            List<Element> more = drain(bob);
            assertTrue(more.isEmpty(), "more than the latest presence per sender: " + more);
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Delivery receipts (XEP-0184) and chat markers (XEP-0333) go through the server untouched:
 * through offline storage, as carbons (XEP-0280 §6.1) to the sender's and the recipient's other
 * resources, and into both users' archives (XEP-0313), chat states not.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReceiptsAndMarkersTest {
    private static final String RECEIPTS = "urn:xmpp:receipts";
    private static final String MARKERS = "urn:xmpp:chat-markers:0";
    private static final String CARBONS = "urn:xmpp:carbons:2";

    private static void enableCarbons(XmppClient c) throws Exception {
        c.request(Element.of("iq", "jabber:client").withAttribute("type", "set").withChild(Element.of("enable", CARBONS)), Fixture.WAIT);
    }

    /** The payload of a message other than what the server adds (stanza ids, delay stamps). */
    private static List<String> payload(Element m) {
        return m.children().stream().filter(c -> !c.namespace().equals("urn:xmpp:sid:0") && !c.namespace().equals("urn:xmpp:delay"))
                .map(Element::toXml).toList();
    }

    /** The forwarded messages of one's whole archive, oldest first. */
    private static List<Element> archive(XmppClient c) throws Exception {
        c.request(Element.of("iq", "jabber:client").withAttribute("type", "set")
                .withChild(Element.of("query", "urn:xmpp:mam:2").withAttribute("queryid", "all")), Fixture.WAIT);
        List<Element> out = new ArrayList<>();
        for (var m = c.receive(Duration.ZERO); m.isPresent(); m = c.receive(Duration.ZERO)) {
            m.get().child("result", "urn:xmpp:mam:2").ifPresent(r -> out.add(r.child("forwarded", "urn:xmpp:forward:0").orElseThrow()
                    .child("message", "jabber:client").orElseThrow()));
        }
        return out;
    }

    private static Element forwardedIn(Element carbon, String kind) {
        return carbon.child(kind, CARBONS).orElseThrow().child("forwarded", "urn:xmpp:forward:0").orElseThrow()
                .child("message", "jabber:client").orElseThrow();
    }

    @Test
    void receiptsAndMarkersPassOfflineCarbonsAndTheArchiveUntouched() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient phone = f.login("alice", "phone", Chunking.whole());
            XmppClient desk = f.login("alice", "desk", Chunking.random(3));
            enableCarbons(phone);
            enableCarbons(desk);
            phone.sendPresence(0);
            desk.sendPresence(0);
            Element asked = Element.of("message", "jabber:client").withAttribute("to", "bob@example.org").withAttribute("type", "chat")
                    .withAttribute("id", "m1").withChild(Element.of("body", "jabber:client").withText("are you there?"))
                    .withChild(Element.of("request", RECEIPTS)).withChild(Element.of("markable", MARKERS));
            phone.send(asked); // bob is offline: it waits in offline storage
            Element sent = desk.await(e -> e.child("sent", CARBONS).isPresent(), Fixture.WAIT).orElseThrow();
            assertEquals(payload(asked), payload(forwardedIn(sent, "sent")));

            XmppClient bob = f.login("bob", "b", Chunking.byteByByte());
            bob.sendPresence(0);
            Element stored = bob.await(ImTest.message("are you there?"), Fixture.WAIT).orElseThrow();
            assertEquals(payload(asked), payload(stored));
            assertTrue(stored.child("delay", "urn:xmpp:delay").isPresent(), stored.toXml());

            // the receipt goes to the phone; the desk sees it as a carbon. The marker, to the bare
            // JID, reaches both (same priority), as type normal
            Element receipt = Element.of("message", "jabber:client").withAttribute("to", "alice@example.org/phone")
                    .withAttribute("type", "chat").withAttribute("id", "r1").withChild(Element.of("received", RECEIPTS).withAttribute("id", "m1"));
            bob.send(receipt);
            Element gotReceipt = phone.await(e -> e.attributeOrEmpty("id").equals("r1"), Fixture.WAIT).orElseThrow();
            assertEquals(payload(receipt), payload(gotReceipt));
            Element copy = desk.await(e -> e.child("received", CARBONS).isPresent(), Fixture.WAIT).orElseThrow();
            assertEquals(payload(receipt), payload(forwardedIn(copy, "received")));
            Element marker = Element.of("message", "jabber:client").withAttribute("to", "alice@example.org").withAttribute("id", "k1")
                    .withChild(Element.of("displayed", MARKERS).withAttribute("id", "m1"));
            bob.send(marker);
            assertEquals(payload(marker), payload(phone.await(e -> e.attributeOrEmpty("id").equals("k1"), Fixture.WAIT).orElseThrow()));
            assertEquals(payload(marker), payload(desk.await(e -> e.attributeOrEmpty("id").equals("k1"), Fixture.WAIT).orElseThrow()));
            bob.send(Element.of("message", "jabber:client").withAttribute("to", "alice@example.org").withAttribute("type", "chat")
                    .withChild(Element.of("active", "http://jabber.org/protocol/chatstates")));
            phone.await(e -> e.childIn("http://jabber.org/protocol/chatstates").isPresent(), Fixture.WAIT).orElseThrow();

            // both archives hold the message, the receipt and the marker, as sent; not the chat state
            for (XmppClient c : List.of(phone, bob)) {
                List<Element> archived = archive(c);
                assertEquals(3, archived.size(), archived.toString());
                assertEquals(payload(asked), payload(archived.get(0)));
                assertEquals(payload(receipt), payload(archived.get(1)));
                assertEquals(payload(marker), payload(archived.get(2)));
            }
        }
    }
}

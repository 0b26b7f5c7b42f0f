package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * XEP-0191 blocking over in-memory connections: the list and its pushes, persistence across a
 * restart, what happens to stanzas either way across a block, the presence sent on block and
 * unblock, and bad requests. "Not delivered" is shown by a ping round trip after the stanza was
 * handled: anything routed to the recipient before it would have arrived first.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockingTest {
    private static final String NS = "urn:xmpp:blocking";
    private static final Jid ALICE = Jid.parse("alice@example.org");
    private static final Jid BOB = Jid.parse("bob@example.org");

    private static Element set(String name, String... jids) {
        Element q = Element.of(name, NS);
        for (String j : jids) {
            q = q.withChild(Element.of("item", NS).withAttribute("jid", j));
        }
        return Element.of("iq", "jabber:client").withAttribute("type", "set").withChild(q);
    }

    private static List<String> blocklist(XmppClient c) throws Exception {
        Element r = c.request(Element.of("iq", "jabber:client").withAttribute("type", "get")
                .withChild(Element.of("blocklist", NS)), Fixture.WAIT);
        return r.child("blocklist", NS).orElseThrow().children().stream().map(i -> i.attributeOrEmpty("jid")).toList();
    }

    private static Predicate<Element> push(String name) {
        return e -> e.name().equals("iq") && e.attributeOrEmpty("type").equals("set") && e.child(name, NS).isPresent();
    }

    /** Everything routed to {@code c} so far has arrived once this returns. */
    static void roundTrip(XmppClient c) throws Exception {
        c.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
    }

    private static boolean got(XmppClient c, Predicate<Element> what) throws Exception {
        return c.await(what, java.time.Duration.ZERO).isPresent();
    }

    /** Mutual subscription between alice and bob, both available. */
    static void befriend(XmppClient alice, XmppClient bob) throws Exception {
        alice.sendPresence(0);
        bob.sendPresence(0);
        alice.sendSubscription(BOB, "subscribe");
        bob.await(ImTest.presence("subscribe", ALICE), Fixture.WAIT).orElseThrow();
        bob.sendSubscription(ALICE, "subscribed");
        bob.sendSubscription(ALICE, "subscribe");
        alice.await(ImTest.presence("subscribe", BOB), Fixture.WAIT).orElseThrow();
        alice.sendSubscription(BOB, "subscribed");
        bob.await(ImTest.presence("", ALICE), Fixture.WAIT).orElseThrow();
        alice.await(ImTest.presence("", BOB), Fixture.WAIT).orElseThrow();
    }

    @Test
    void blockedAddressesAreListedPushedToEveryResourceAndKeptAcrossARestart() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try (Fixture f = new Fixture(dir)) {
            XmppClient phone = f.login("bob", "phone", Chunking.whole());
            XmppClient laptop = f.login("bob", "laptop", Chunking.whole());
            assertEquals(List.of(), blocklist(phone));
            phone.request(set("block", "spam.example", "carol@example.org"), Fixture.WAIT);
            Element pushed = laptop.await(push("block"), Fixture.WAIT).orElseThrow();
            assertEquals(2, pushed.child("block", NS).orElseThrow().children().size());
            phone.await(push("block"), Fixture.WAIT).orElseThrow();
            assertEquals(List.of("spam.example", "carol@example.org"), blocklist(laptop));
            phone.request(set("unblock", "spam.example"), Fixture.WAIT);
            laptop.await(push("unblock"), Fixture.WAIT).orElseThrow();
        }
        try (Fixture again = new Fixture(dir)) {
            assertEquals(List.of("carol@example.org"), blocklist(again.login("bob", "phone", Chunking.byteByByte())));
        }
    }

    @Test
    void stanzasFromABlockedContactAreRefusedOrDroppedAndStanzasToOneAreNotAcceptable() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.request(set("block", "alice@example.org"), Fixture.WAIT);
            // §3.5: a message gets service-unavailable, an IQ request too, presence nothing
            alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b").withAttribute("id", "m1")
                    .withAttribute("type", "chat").withChild(Element.of("body", "jabber:client").withText("let me in")));
            Element err = alice.await(e -> e.attributeOrEmpty("id").equals("m1"), Fixture.WAIT).orElseThrow();
            assertEquals("error", err.attributeOrEmpty("type"));
            assertTrue(err.toXml().contains("service-unavailable"), err.toXml());
            XmppException iq = assertThrows(XmppException.class, () -> alice.request(Element.of("iq", "jabber:client")
                    .withAttribute("type", "get").withAttribute("to", "bob@example.org/b")
                    .withChild(Element.of("query", "jabber:iq:version")), Fixture.WAIT));
            assertEquals("service-unavailable", iq.condition());
            alice.send(Element.of("presence", "jabber:client").withAttribute("to", "bob@example.org/b"));
            alice.send(Element.of("presence", "jabber:client").withAttribute("to", "bob@example.org").withAttribute("type", "subscribe"));
            roundTrip(alice); // both presences were handled before this answer
            roundTrip(bob);
            assertTrue(!got(bob, e -> e.attributeOrEmpty("from").startsWith("alice@")), "a stanza from alice got through");
            // §3.6: bob's own stanzas to alice are refused with <blocked/>
            bob.send(Element.of("message", "jabber:client").withAttribute("to", "alice@example.org").withAttribute("id", "m2")
                    .withChild(Element.of("body", "jabber:client").withText("hi")));
            Element refused = bob.await(e -> e.attributeOrEmpty("id").equals("m2"), Fixture.WAIT).orElseThrow();
            assertTrue(refused.toXml().contains("not-acceptable") && refused.toXml().contains("<blocked xmlns='urn:xmpp:blocking:errors'/>"),
                    refused.toXml());
            roundTrip(alice);
            assertTrue(!got(alice, ImTest.message("hi")));
            // unblocked, messages flow again
            bob.request(set("unblock"), Fixture.WAIT);
            alice.sendMessage(Jid.parse("bob@example.org/b"), "hello again");
            bob.await(ImTest.message("hello again"), Fixture.WAIT).orElseThrow();
        }
    }

    @Test
    void blockingSendsUnavailableHidesPresenceAndUnblockingBringsItBackBothWays() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            bob.request(set("block", "alice@example.org"), Fixture.WAIT);
            alice.await(ImTest.presence("unavailable", BOB), Fixture.WAIT).orElseThrow();
            // alice's presence changes no longer reach bob, and bob's not alice
            alice.send(Element.of("presence", "jabber:client").withChild(Element.of("show", "jabber:client").withText("away")));
            alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("alice@example.org/a"), Fixture.WAIT).orElseThrow();
            bob.send(Element.of("presence", "jabber:client").withChild(Element.of("show", "jabber:client").withText("dnd")));
            bob.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("bob@example.org/b"), Fixture.WAIT).orElseThrow();
            roundTrip(alice);
            roundTrip(bob);
            assertTrue(!got(bob, ImTest.presence("", ALICE)), "alice's presence reached bob");
            assertTrue(!got(alice, ImTest.presence("", BOB)), "bob's presence reached alice");
            bob.request(set("unblock", "alice@example.org"), Fixture.WAIT);
            Element back = alice.await(ImTest.presence("", BOB), Fixture.WAIT).orElseThrow();
            assertTrue(back.toXml().contains("dnd"), back.toXml());
            Element probed = bob.await(ImTest.presence("", ALICE), Fixture.WAIT).orElseThrow();
            assertTrue(probed.toXml().contains("away"), probed.toXml());
        }
    }

    @Test
    void badRequestsAndTheLimitChangeNothing() throws Exception {
        try (Fixture f = new Fixture(b -> b.blocklistLimit(2))) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            assertEquals("bad-request", assertThrows(XmppException.class, () -> bob.request(set("block"), Fixture.WAIT)).condition());
            assertEquals("jid-malformed", assertThrows(XmppException.class,
                    () -> bob.request(set("block", "a@b@c"), Fixture.WAIT)).condition());
            bob.request(set("block", "one.example", "two.example"), Fixture.WAIT);
            assertEquals("resource-constraint", assertThrows(XmppException.class,
                    () -> bob.request(set("block", "three.example"), Fixture.WAIT)).condition());
            assertEquals(List.of("one.example", "two.example"), blocklist(bob));
            bob.request(set("unblock"), Fixture.WAIT); // §3.4: everyone
            assertEquals(List.of(), blocklist(bob));
            XmppException other = assertThrows(XmppException.class, () -> bob.request(Element.of("iq", "jabber:client")
                    .withAttribute("type", "get").withAttribute("to", "alice@example.org")
                    .withChild(Element.of("blocklist", NS)), Fixture.WAIT));
            assertEquals("forbidden", other.condition());
        }
    }

    @Test
    void offlineMessagesFromAContactBlockedSinceAreNotDelivered() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(BOB, "before the block");
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            carol.sendMessage(BOB, "from carol");
            roundTrip(alice);
            roundTrip(carol);
            XmppClient phone = f.login("bob", "phone", Chunking.whole());
            phone.request(set("block", "alice@example.org"), Fixture.WAIT); // no presence yet: nothing delivered
            phone.sendPresence(0);
            phone.await(ImTest.message("from carol"), Fixture.WAIT).orElseThrow();
            roundTrip(phone);
            assertTrue(!got(phone, ImTest.message("before the block")));
            assertTrue(Files.notExists(f.dir.resolve("data/offline/bob.xml")) || !Files.readString(f.dir.resolve("data/offline/bob.xml"))
                    .contains("before the block"), "the blocked message stays stored");
        }
    }
}

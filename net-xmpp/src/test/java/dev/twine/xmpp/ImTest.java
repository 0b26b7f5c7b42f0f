package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ImTest {
    static final Jid ALICE = Jid.parse("alice@example.org");
    static final Jid BOB = Jid.parse("bob@example.org");
    static final Duration SHORT = Duration.ofMillis(300);

    static List<Chunking> chunkings() {
        return Chunking.standard();
    }

    static Predicate<Element> message(String body) {
        return e -> e.name().equals("message") && e.childText("body").orElse("").equals(body);
    }

    static Predicate<Element> presence(String type, Jid from) {
        return e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals(type)
                && Jid.parse(e.attributeOrEmpty("from")).bare().equals(from.bare());
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void messageToFullJidArrivesWithServerStampedFrom(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", chunking);
            XmppClient bob = f.login("bob", "b", chunking);
            alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b")
                    .withAttribute("type", "chat").withChild(Element.of("body", "jabber:client").withText("hi <bob> & co")));
            Element m = bob.await(message("hi <bob> & co"), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org/a", m.attributeOrEmpty("from"));
        }
    }

    @Test
    void spoofedFromIsAStreamErrorForThatStreamOnly() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/b")
                    .withAttribute("from", "carol@example.org/x").withChild(Element.of("body", "jabber:client").withText("evil")));
            assertThrows(alice);
            assertEquals("invalid-from", alice.endReason());
            assertTrue(bob.await(message("evil"), SHORT).isEmpty());
            bob.sendMessage(Jid.parse("bob@example.org/b"), "still here");
            assertTrue(bob.await(message("still here"), Fixture.WAIT).isPresent());
        }
    }

    static void assertThrows(XmppClient c) {
        org.junit.jupiter.api.Assertions.assertThrows(java.io.EOFException.class, () -> {
            for (int i = 0; i < 100; i++) {
                c.receive(Fixture.WAIT);
            }
        });
    }

    @Test
    void bareJidMessageGoesToHighestPriorityResource() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient low = f.login("bob", "low", Chunking.whole());
            XmppClient high = f.login("bob", "high", Chunking.whole());
            XmppClient neg = f.login("bob", "neg", Chunking.whole());
            // one at a time, each confirmed by its own reflected presence (RFC 6121 §4.2.2)
            low.sendPresence(1);
            low.await(presence("", BOB).and(e -> e.attributeOrEmpty("from").endsWith("/low")), Fixture.WAIT).orElseThrow();
            high.sendPresence(5);
            high.await(presence("", BOB).and(e -> e.attributeOrEmpty("from").endsWith("/high")), Fixture.WAIT).orElseThrow();
            neg.sendPresence(-1);
            neg.await(presence("", BOB).and(e -> e.attributeOrEmpty("from").endsWith("/neg")), Fixture.WAIT).orElseThrow();
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(BOB, "to the best");
            assertTrue(high.await(message("to the best"), Fixture.WAIT).isPresent());
            assertTrue(low.await(message("to the best"), SHORT).isEmpty());
            assertTrue(neg.await(message("to the best"), SHORT).isEmpty());
        }
    }

    @Test
    void messageToUnknownUserBouncesServiceUnavailable() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("nobody@example.org"), "hello?");
            Element e = alice.await(m -> m.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow();
            assertTrue(e.toXml().contains("<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"), e.toXml());
            alice.sendMessage(Jid.parse("someone@other.example"), "far away");
            Element r = alice.await(m -> m.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow();
            assertTrue(r.toXml().contains("remote-server-not-found"), r.toXml());
        }
    }

    @Test
    void offlineMessageIsStoredDurablyAndDeliveredAtNextLoginEvenAfterRestart() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try (Fixture f = new Fixture(dir)) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(BOB, "while you were out");
            // the write is durable before anything else happens: the file is there
            long deadline = System.nanoTime() + Fixture.WAIT.toNanos();
            Path stored = dir.resolve("data/offline/bob.xml");
            while (!Files.exists(stored) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(Files.readString(stored).contains("while you were out"));
        }
        // the "restart": a new server on the same directory
        Fixture g = new Fixture(dir);
        try (g) {
            XmppClient bob = g.login("bob", "b", Chunking.byteByByte());
            bob.sendPresence(0);
            Element m = bob.await(message("while you were out"), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org/a", m.attributeOrEmpty("from"));
            assertTrue(m.child("delay", "urn:xmpp:delay").isPresent(), m.toXml());
            // dropped from the store once written to bob's connection
            long end = System.nanoTime() + Fixture.WAIT.toNanos();
            while (Files.exists(dir.resolve("data/offline/bob.xml")) && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            assertFalse(Files.exists(dir.resolve("data/offline/bob.xml")));
        }
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void subscriptionHandshakeGivesBothAndPresenceFlows(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", chunking);
            XmppClient bob = f.login("bob", "b", chunking);
            assertEquals(List.of(), alice.roster(Fixture.WAIT));
            assertEquals(List.of(), bob.roster(Fixture.WAIT));
            alice.sendPresence(0);
            bob.sendPresence(0);
            alice.rosterSet(BOB, "Bob", List.of("Friends"), Fixture.WAIT);
            alice.sendSubscription(BOB, "subscribe");
            bob.await(presence("subscribe", ALICE), Fixture.WAIT).orElseThrow();
            bob.sendSubscription(ALICE, "subscribed");
            bob.sendSubscription(ALICE, "subscribe");
            alice.await(presence("subscribed", BOB), Fixture.WAIT).orElseThrow();
            // RFC 6121 §3.1.5: after approval, alice gets bob's current presence
            alice.await(presence("", BOB), Fixture.WAIT).orElseThrow();
            alice.await(presence("subscribe", BOB), Fixture.WAIT).orElseThrow();
            alice.sendSubscription(BOB, "subscribed");
            bob.await(presence("subscribed", ALICE), Fixture.WAIT).orElseThrow();

            RosterEntry ab = alice.roster(Fixture.WAIT).get(0);
            assertEquals(new RosterEntry(BOB, "Bob", "both", false, List.of("Friends")), ab);
            RosterEntry ba = bob.roster(Fixture.WAIT).get(0);
            assertEquals("both", ba.subscription());

            bob.send(Element.of("presence", "jabber:client").withChild(Element.of("status", "jabber:client").withText("busy")));
            Element p = alice.await(presence("", BOB).and(e -> e.childText("status").orElse("").equals("busy")), Fixture.WAIT).orElseThrow();
            assertEquals("bob@example.org/b", p.attributeOrEmpty("from"));

            bob.send(Element.of("presence", "jabber:client").withAttribute("type", "unavailable"));
            alice.await(presence("unavailable", BOB), Fixture.WAIT).orElseThrow();
        }
    }

    @Test
    void rosterIsPersistedAndProbedAtLoginAfterRestart() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try (Fixture f = new Fixture(dir)) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            alice.sendSubscription(BOB, "subscribe");
            bob.sendPresence(0);
            bob.await(presence("subscribe", ALICE), Fixture.WAIT).orElseThrow();
            bob.sendSubscription(ALICE, "subscribed");
            alice.roster(Fixture.WAIT);
            long deadline = System.nanoTime() + Fixture.WAIT.toNanos();
            while (!alice.roster(Fixture.WAIT).get(0).subscription().equals("to") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
        try (Fixture g = new Fixture(dir)) {
            XmppClient bob = g.login("bob", "b2", Chunking.whole());
            bob.sendPresence(3);
            bob.await(presence("", BOB), Fixture.WAIT).orElseThrow();
            XmppClient alice = g.login("alice", "a2", Chunking.whole());
            assertEquals("to", alice.roster(Fixture.WAIT).get(0).subscription());
            alice.sendPresence(0);
            // RFC 6121 §4.2.2: the server probes bob for alice and sends his presence
            Element p = alice.await(presence("", BOB), Fixture.WAIT).orElseThrow();
            assertEquals("bob@example.org/b2", p.attributeOrEmpty("from"));
            // bob has no subscription to alice: he does not see her
            assertTrue(bob.await(presence("", ALICE), SHORT).isEmpty());
        }
    }

    @Test
    void subscriptionRequestToOfflineUserIsDeliveredAtLogin() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.roster(Fixture.WAIT);
            alice.sendSubscription(BOB, "subscribe");
            Element push = alice.await(e -> e.name().equals("iq") && e.attributeOrEmpty("type").equals("set"), Fixture.WAIT).orElseThrow();
            assertTrue(push.toXml().contains("ask='subscribe'"), push.toXml());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            assertTrue(bob.await(presence("subscribe", ALICE), Fixture.WAIT).isPresent());
            assertEquals(List.of(), bob.roster(Fixture.WAIT), "a pending request is not a roster item");
        }
    }

    @Test
    void directedPresenceReachesOnlyItsTargetAndUnavailableFollowsAtLogout() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            bob.sendPresence(0);
            carol.sendPresence(0);
            alice.send(Element.of("presence", "jabber:client").withAttribute("to", "bob@example.org/b"));
            assertTrue(bob.await(presence("", ALICE), Fixture.WAIT).isPresent());
            assertTrue(carol.await(presence("", ALICE), SHORT).isEmpty());
            alice.close();
            assertTrue(bob.await(presence("unavailable", ALICE), Fixture.WAIT).isPresent());
        }
    }

    @Test
    void serverAnswersPingDiscoAndVersion() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            Element info = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertTrue(info.toXml().contains("var='urn:xmpp:ping'"), info.toXml());
            assertTrue(info.toXml().contains("category='server'"), info.toXml());
            Element v = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("query", "jabber:iq:version")), Fixture.WAIT);
            assertEquals("Twine", v.child("query", "jabber:iq:version").flatMap(q -> q.childText("name")).orElse(""));
            XmppException e = org.junit.jupiter.api.Assertions.assertThrows(XmppException.class, () -> alice.request(
                    Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                            .withChild(Element.of("query", "urn:example:unknown")), Fixture.WAIT));
            assertEquals("service-unavailable", e.condition());
        }
    }

    @Test
    void rosterRemoveCancelsSubscriptionsAndPushesRemove() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            alice.sendPresence(0);
            alice.roster(Fixture.WAIT);
            alice.sendSubscription(BOB, "subscribe");
            bob.await(presence("subscribe", ALICE), Fixture.WAIT).orElseThrow();
            bob.sendSubscription(ALICE, "subscribed");
            alice.await(presence("subscribed", BOB), Fixture.WAIT).orElseThrow();
            alice.rosterRemove(BOB, Fixture.WAIT);
            assertEquals(List.of(), alice.roster(Fixture.WAIT));
            assertTrue(bob.await(presence("unsubscribe", ALICE), Fixture.WAIT).isPresent());
            Optional<RosterEntry> b = bob.roster(Fixture.WAIT).stream().filter(r -> r.jid().equals(ALICE)).findFirst();
            assertEquals("none", b.orElseThrow().subscription());
        }
    }

    @Test
    void carbonsCopySentAndReceivedChatsToOtherEnabledResources() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient desk = f.login("alice", "desk", Chunking.whole());
            XmppClient phone = f.login("alice", "phone", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            desk.request(Element.of("iq", "jabber:client").withAttribute("type", "set")
                    .withChild(Element.of("enable", "urn:xmpp:carbons:2")), Fixture.WAIT);
            bob.sendMessage(Jid.parse("alice@example.org/phone"), "to the phone");
            phone.await(message("to the phone"), Fixture.WAIT).orElseThrow();
            Element received = desk.await(e -> e.child("received", "urn:xmpp:carbons:2").isPresent(), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org", received.attributeOrEmpty("from"));
            assertTrue(received.toXml().contains("to the phone"), received.toXml());
            phone.sendMessage(Jid.parse("bob@example.org/b"), "from the phone");
            bob.await(message("from the phone"), Fixture.WAIT).orElseThrow();
            Element sent = desk.await(e -> e.child("sent", "urn:xmpp:carbons:2").isPresent(), Fixture.WAIT).orElseThrow();
            assertTrue(sent.toXml().contains("from the phone"), sent.toXml());
            // the phone did not enable carbons: it gets no copies
            assertTrue(phone.await(e -> e.child("sent", "urn:xmpp:carbons:2").isPresent()
                    || e.child("received", "urn:xmpp:carbons:2").isPresent(), SHORT).isEmpty());
        }
    }
}

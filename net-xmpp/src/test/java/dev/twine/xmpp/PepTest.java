package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** PEP (XEP-0163) on the personal PubSub subset (XEP-0060), with XEP-0115 +notify filtering, over in-memory connections. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PepTest {
    static final String PUBSUB = "http://jabber.org/protocol/pubsub";
    static final String OWNER = PUBSUB + "#owner";
    static final String EVENT = PUBSUB + "#event";
    static final String ERRORS = PUBSUB + "#errors";
    static final String DISCO = "http://jabber.org/protocol/disco#info";
    static final String CAPS = "http://jabber.org/protocol/caps";
    static final String DATA = "jabber:x:data";
    static final String NICK = "http://jabber.org/protocol/nick";
    static final Jid ALICE = Jid.parse("alice@example.org");
    static final Jid BOB = Jid.parse("bob@example.org");
    private static final AtomicInteger IDS = new AtomicInteger();

    static Stream<Chunking> chunkings() {
        return Stream.of(Chunking.whole(), Chunking.byteByByte(), Chunking.random(21));
    }

    // ---------------------------------------------------------------- helpers

    static Element el(String name, String ns) {
        return Element.of(name, ns);
    }

    static Element iq(String type, Jid to, Element payload) {
        Element iq = el("iq", "jabber:client").withAttribute("type", type).withAttribute("id", "t" + IDS.incrementAndGet()).withChild(payload);
        return to == null ? iq : iq.withAttribute("to", to.toString());
    }

    static Element nick(String name) {
        return el("nick", NICK).withText(name);
    }

    static Element publish(String node, String id, Element payload) {
        Element item = el("item", PUBSUB).withChild(payload);
        return el("pubsub", PUBSUB).withChild(el("publish", PUBSUB).withAttribute("node", node)
                .withChild(id == null ? item : item.withAttribute("id", id)));
    }

    static Element options(Element pubsub, String formType, String... fields) {
        return pubsub.withChild(el("publish-options", PUBSUB).withChild(form(formType, fields)));
    }

    static Element form(String formType, String... fields) {
        Element x = el("x", DATA).withAttribute("type", "submit").withChild(el("field", DATA).withAttribute("var", "FORM_TYPE")
                .withAttribute("type", "hidden").withChild(el("value", DATA).withText(formType)));
        for (int i = 0; i < fields.length; i += 2) {
            x = x.withChild(el("field", DATA).withAttribute("var", fields[i]).withChild(el("value", DATA).withText(fields[i + 1])));
        }
        return x;
    }

    static Element items(String node, String maxItems, String... ids) {
        Element items = el("items", PUBSUB).withAttribute("node", node);
        if (maxItems != null) {
            items = items.withAttribute("max_items", maxItems);
        }
        for (String id : ids) {
            items = items.withChild(el("item", PUBSUB).withAttribute("id", id));
        }
        return el("pubsub", PUBSUB).withChild(items);
    }

    /** The items of a node as the owner or someone else sees them. */
    static List<Element> fetch(XmppClient c, Jid service, String node, String maxItems, String... ids) throws Exception {
        Element r = c.request(iq("get", service, items(node, maxItems, ids)), Fixture.WAIT);
        return r.child("pubsub", PUBSUB).orElseThrow().child("items", PUBSUB).orElseThrow().children();
    }

    /** Sends an IQ that must fail; returns its {@code <error/>}. */
    static Element error(XmppClient c, Element iq) throws Exception {
        c.send(iq);
        String id = iq.attributeOrEmpty("id");
        Element reply = c.await(e -> e.name().equals("iq") && e.attributeOrEmpty("id").equals(id), Fixture.WAIT).orElseThrow();
        assertEquals("error", reply.attributeOrEmpty("type"), reply.toString());
        return reply.child("error", "jabber:client").orElseThrow();
    }

    static void assertError(Element error, String condition, String pubsubCondition) {
        assertTrue(error.child(condition, "urn:ietf:params:xml:ns:xmpp-stanzas").isPresent(), error.toString());
        if (pubsubCondition != null) {
            assertTrue(error.child(pubsubCondition, ERRORS).isPresent(), error.toString());
        }
    }

    /** The XEP-0115 §5.1 verification string of a client with one identity and these features, hashed, independently of the server's code. */
    static String ver(List<String> features) throws Exception {
        StringBuilder s = new StringBuilder("client/pc//Twine test<");
        features.stream().sorted().forEach(f -> s.append(f).append('<'));
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(s.toString().getBytes(StandardCharsets.UTF_8)));
    }

    static List<String> features(String... notify) {
        List<String> f = new ArrayList<>(List.of(DISCO, CAPS));
        for (String n : notify) {
            f.add(n + "+notify");
        }
        return f;
    }

    static Element capsPresence(String ver) {
        return el("presence", "jabber:client").withChild(el("c", CAPS).withAttribute("hash", "sha-1")
                .withAttribute("node", "https://twine.test/client").withAttribute("ver", ver));
    }

    /** Broadcasts presence with caps and answers the server's disco#info query with {@code answered} (the features the ver claims, unless a test lies). */
    static void announce(XmppClient c, List<String> claimed, List<String> answered) throws Exception {
        String ver = ver(claimed);
        c.send(capsPresence(ver));
        Element q = c.await(e -> e.name().equals("iq") && e.child("query", DISCO).isPresent(), Fixture.WAIT).orElseThrow();
        assertEquals("example.org", q.attributeOrEmpty("from"));
        assertEquals("https://twine.test/client#" + ver, q.child("query", DISCO).orElseThrow().attributeOrEmpty("node"));
        Element query = el("query", DISCO).withAttribute("node", "https://twine.test/client#" + ver)
                .withChild(el("identity", DISCO).withAttribute("category", "client").withAttribute("type", "pc").withAttribute("name", "Twine test"));
        for (String f : answered) {
            query = query.withChild(el("feature", DISCO).withAttribute("var", f));
        }
        c.send(el("iq", "jabber:client").withAttribute("type", "result").withAttribute("id", q.attributeOrEmpty("id"))
                .withAttribute("to", "example.org").withChild(query));
        ping(c); // the answer is handled before the ping's result comes
    }

    static void announce(XmppClient c, String... notify) throws Exception {
        announce(c, features(notify), features(notify));
    }

    static void ping(XmppClient c) throws Exception {
        c.request(iq("get", null, el("ping", "urn:xmpp:ping")), Fixture.WAIT);
    }

    /** The stanzas waiting for a client now, after a ping round trip has flushed what the server sent before. */
    static List<Element> drain(XmppClient c) throws Exception {
        ping(c);
        List<Element> out = new ArrayList<>();
        for (Optional<Element> e = c.receive(Duration.ZERO); e.isPresent(); e = c.receive(Duration.ZERO)) {
            out.add(e.get());
        }
        return out;
    }

    static Predicate<Element> event(String node) {
        return e -> e.name().equals("message") && e.child("event", EVENT).flatMap(ev -> ev.children().stream().findFirst())
                .map(x -> x.attributeOrEmpty("node").equals(node)).orElse(false);
    }

    static List<Element> events(List<Element> stanzas, String node) {
        return stanzas.stream().filter(event(node)).toList();
    }

    /** Removes a directory a test made for restarts. */
    static void deleteTree(Path dir) throws java.io.IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Alice and bob, each subscribed to the other's presence. */
    static void befriend(XmppClient a, XmppClient b) throws Exception {
        a.sendPresence(0);
        b.sendPresence(0);
        Jid aj = a.jid().bare();
        Jid bj = b.jid().bare();
        a.sendSubscription(bj, "subscribe");
        b.await(e -> e.attributeOrEmpty("type").equals("subscribe"), Fixture.WAIT).orElseThrow();
        b.sendSubscription(aj, "subscribed");
        b.sendSubscription(aj, "subscribe");
        a.await(e -> e.attributeOrEmpty("type").equals("subscribe"), Fixture.WAIT).orElseThrow();
        a.sendSubscription(bj, "subscribed");
        b.await(e -> e.attributeOrEmpty("type").equals("subscribed"), Fixture.WAIT).orElseThrow();
        drain(a);
        drain(b);
    }

    // ---------------------------------------------------------------- publish, items, retract

    @ParameterizedTest
    @MethodSource("chunkings")
    void publishCreatesTheNodeAndItemsReturnAllTheNewestOrByIdOldestFirst(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture(b -> b.pepLimits(256, 128 * 1024, 100))) {
            XmppClient alice = f.login("alice", "a", chunking);
            Element created = options(publish("urn:test:n", "one", nick("1")), PUBSUB + "#publish-options", "pubsub#max_items", "3");
            Element r = alice.request(iq("set", null, created), Fixture.WAIT);
            assertEquals("one", r.child("pubsub", PUBSUB).orElseThrow().child("publish", PUBSUB).orElseThrow()
                    .child("item", PUBSUB).orElseThrow().attributeOrEmpty("id"));
            alice.request(iq("set", null, publish("urn:test:n", "two", nick("2"))), Fixture.WAIT);
            Element generated = alice.request(iq("set", ALICE, publish("urn:test:n", null, nick("3"))), Fixture.WAIT);
            String id3 = generated.child("pubsub", PUBSUB).orElseThrow().child("publish", PUBSUB).orElseThrow()
                    .child("item", PUBSUB).orElseThrow().attributeOrEmpty("id");
            assertFalse(id3.isEmpty(), "the service gives an item without an id one (XEP-0060 §7.1.2)");
            List<Element> all = fetch(alice, null, "urn:test:n", null);
            assertEquals(List.of("one", "two", id3), all.stream().map(e -> e.attributeOrEmpty("id")).toList());
            assertEquals("1", all.get(0).child("nick", NICK).orElseThrow().text());
            // a fourth item pushes the oldest out (max_items 3); republishing an id replaces it as the newest
            alice.request(iq("set", null, publish("urn:test:n", "four", nick("4"))), Fixture.WAIT);
            alice.request(iq("set", null, publish("urn:test:n", "two", nick("2b"))), Fixture.WAIT);
            assertEquals(List.of(id3, "four", "two"), fetch(alice, null, "urn:test:n", null).stream().map(e -> e.attributeOrEmpty("id")).toList());
            assertEquals(List.of("four", "two"), fetch(alice, null, "urn:test:n", "2").stream().map(e -> e.attributeOrEmpty("id")).toList());
            List<Element> byId = fetch(alice, null, "urn:test:n", null, "two", "gone");
            assertEquals(1, byId.size());
            assertEquals("2b", byId.get(0).child("nick", NICK).orElseThrow().text());
            // retract, then retracting again is item-not-found, as is an unknown node
            alice.request(iq("set", null, el("pubsub", PUBSUB).withChild(el("retract", PUBSUB).withAttribute("node", "urn:test:n")
                    .withChild(el("item", PUBSUB).withAttribute("id", "four")))), Fixture.WAIT);
            assertEquals(List.of(id3, "two"), fetch(alice, null, "urn:test:n", null).stream().map(e -> e.attributeOrEmpty("id")).toList());
            assertError(error(alice, iq("set", null, el("pubsub", PUBSUB).withChild(el("retract", PUBSUB).withAttribute("node", "urn:test:n")
                    .withChild(el("item", PUBSUB).withAttribute("id", "four"))))), "item-not-found", null);
            assertError(error(alice, iq("get", null, items("urn:test:none", null))), "item-not-found", null);
        }
    }

    @Test
    void badPublishesGetPubSubErrorsAndOthersMayNotPublish() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            Element noItem = el("pubsub", PUBSUB).withChild(el("publish", PUBSUB).withAttribute("node", "n"));
            assertError(error(alice, iq("set", null, noItem)), "bad-request", "item-required");
            Element empty = el("pubsub", PUBSUB).withChild(el("publish", PUBSUB).withAttribute("node", "n").withChild(el("item", PUBSUB)));
            assertError(error(alice, iq("set", null, empty)), "bad-request", "payload-required");
            Element noNode = el("pubsub", PUBSUB).withChild(el("publish", PUBSUB).withChild(el("item", PUBSUB).withChild(nick("x"))));
            assertError(error(alice, iq("set", null, noNode)), "bad-request", "nodeid-required");
            assertError(error(bob, iq("set", ALICE, publish("n", "1", nick("x")))), "forbidden", null);
            Element subscribe = el("pubsub", PUBSUB).withChild(el("subscribe", PUBSUB).withAttribute("node", "n").withAttribute("jid", "bob@example.org"));
            Element unsupported = error(bob, iq("set", ALICE, subscribe));
            assertError(unsupported, "feature-not-implemented", "unsupported");
            assertEquals("subscribe", unsupported.child("unsupported", ERRORS).orElseThrow().attributeOrEmpty("feature"));
            assertError(error(bob, iq("set", ALICE, el("pubsub", OWNER).withChild(el("delete", OWNER).withAttribute("node", "n")))), "forbidden", null);
            // nothing was created by any of them
            assertError(error(alice, iq("get", null, items("n", null))), "item-not-found", null);
        }
    }

    // ---------------------------------------------------------------- notifications and +notify

    @ParameterizedTest
    @MethodSource("chunkings")
    void notificationsGoToTheOwnerAndSubscribedContactsWhoseCapsAskForTheNode(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", chunking);
            XmppClient bob = f.login("bob", "b", chunking);
            befriend(alice, bob);
            XmppClient bob2 = f.login("bob", "b2", Chunking.whole());
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            announce(alice, NICK);
            bob.send(capsPresence(ver(features(NICK)))); // the same client as alice's: its ver is known
            announce(bob2, "urn:xmpp:avatar:metadata"); // a client that wants another node only
            carol.send(capsPresence(ver(features(NICK)))); // wants it (a ver learnt from bob), but is not subscribed to alice
            alice.request(iq("set", null, publish(NICK, "current", nick("Alice"))), Fixture.WAIT);
            Element got = bob.await(event(NICK), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org", got.attributeOrEmpty("from"));
            assertEquals("headline", got.attributeOrEmpty("type"));
            Element item = got.child("event", EVENT).orElseThrow().child("items", EVENT).orElseThrow().child("item", EVENT).orElseThrow();
            assertEquals("current", item.attributeOrEmpty("id"));
            assertEquals("Alice", item.child("nick", NICK).orElseThrow().text());
            alice.await(event(NICK), Fixture.WAIT).orElseThrow(); // the owner's own resource asked too
            assertEquals(List.of(), events(drain(bob2), NICK), "bob2's caps do not ask for the nick");
            assertEquals(List.of(), events(drain(carol), NICK), "carol is not subscribed to alice's presence");
            // a retraction is an event too; a resource that went unavailable hears nothing more
            bob2.send(el("presence", "jabber:client").withAttribute("type", "unavailable"));
            bob.send(el("presence", "jabber:client").withAttribute("type", "unavailable"));
            ping(bob);
            alice.request(iq("set", null, el("pubsub", PUBSUB).withChild(el("retract", PUBSUB).withAttribute("node", NICK)
                    .withChild(el("item", PUBSUB).withAttribute("id", "current")))), Fixture.WAIT);
            Element retract = alice.await(event(NICK), Fixture.WAIT).orElseThrow();
            assertEquals("current", retract.child("event", EVENT).orElseThrow().child("items", EVENT).orElseThrow()
                    .child("retract", EVENT).orElseThrow().attributeOrEmpty("id"));
            assertEquals(List.of(), events(drain(bob), NICK), "bob is unavailable");
        }
    }

    @Test
    void theLastItemGoesToAResourceOnceItsCapsAreLearntAndAKnownVerIsNotAskedAgain() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            alice.request(iq("set", null, publish(NICK, "current", nick("Alice"))), Fixture.WAIT);
            alice.request(iq("set", null, publish("urn:test:other", "x", nick("other"))), Fixture.WAIT);
            announce(bob, NICK);
            List<Element> got = drain(bob);
            assertEquals(1, events(got, NICK).size(), got.toString());
            assertEquals(List.of(), events(got, "urn:test:other"), "only what the caps ask for");
            // the same caps again (a status change): nothing is sent again, and nothing asked
            bob.send(capsPresence(ver(features(NICK))).withChild(el("status", "jabber:client").withText("away")));
            List<Element> again = drain(bob);
            assertEquals(List.of(), events(again, NICK));
            assertTrue(again.stream().noneMatch(e -> e.name().equals("iq")), again.toString());
            // another resource with a ver already learnt gets the last item without being asked
            XmppClient bob2 = f.login("bob", "b2", Chunking.byteByByte());
            bob2.send(capsPresence(ver(features(NICK))));
            List<Element> second = drain(bob2);
            assertTrue(second.stream().noneMatch(e -> e.name().equals("iq") && e.child("query", DISCO).isPresent()), second.toString());
            assertEquals(1, events(second, NICK).size(), second.toString());
        }
    }

    @Test
    void capsWhoseAnswerDoesNotHashToTheVerAreUsedButNotCached() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            alice.request(iq("set", null, publish(NICK, "current", nick("Alice"))), Fixture.WAIT);
            // bob claims a ver of no +notify, and answers with one: the answer counts for him alone
            announce(bob, features(), features(NICK));
            assertEquals(1, events(drain(bob), NICK).size());
            XmppClient bob2 = f.login("bob", "b2", Chunking.whole());
            announce(bob2, features(), features()); // asked again: the lie was not cached
            assertEquals(List.of(), events(drain(bob2), NICK));
        }
    }

    @Test
    void approvingASubscriptionSendsTheNewSubscriberTheLastItems() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            alice.sendPresence(0);
            announce(bob, NICK);
            alice.request(iq("set", null, publish(NICK, "current", nick("Alice"))), Fixture.WAIT);
            assertEquals(List.of(), events(drain(bob), NICK), "not subscribed yet");
            bob.sendSubscription(ALICE, "subscribe");
            alice.await(e -> e.attributeOrEmpty("type").equals("subscribe"), Fixture.WAIT).orElseThrow();
            alice.sendSubscription(BOB, "subscribed");
            Element got = bob.await(event(NICK), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org", got.attributeOrEmpty("from"));
        }
    }

    // ---------------------------------------------------------------- access models and publish-options

    @Test
    void accessModelsDecideWhoReadsAndWhoIsNotified() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            befriend(alice, bob);
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            announce(bob, "urn:test:presence", "urn:test:open", "urn:test:whitelist");
            for (String model : List.of("presence", "open", "whitelist")) {
                alice.request(iq("set", null, options(publish("urn:test:" + model, "1", nick(model)), PUBSUB + "#publish-options",
                        "pubsub#access_model", model)), Fixture.WAIT);
            }
            List<Element> bobs = drain(bob);
            assertEquals(1, events(bobs, "urn:test:presence").size());
            assertEquals(1, events(bobs, "urn:test:open").size());
            assertEquals(List.of(), events(bobs, "urn:test:whitelist"), "a whitelist node is the owner's alone");
            assertEquals(1, fetch(bob, ALICE, "urn:test:presence", null).size());
            assertEquals(1, fetch(bob, ALICE, "urn:test:open", null).size());
            assertError(error(bob, iq("get", ALICE, items("urn:test:whitelist", null))), "not-allowed", "closed-node");
            assertEquals(1, fetch(carol, ALICE, "urn:test:open", null).size(), "open: anyone");
            assertError(error(carol, iq("get", ALICE, items("urn:test:presence", null))), "not-authorized", "presence-subscription-required");
            assertEquals(1, fetch(alice, null, "urn:test:whitelist", null).size());
            // XEP-0060 §5.2: disco#items lists the nodes each may read, §5.5 a node's item ids
            assertEquals(List.of("urn:test:open", "urn:test:presence", "urn:test:whitelist"), nodes(alice, null));
            assertEquals(List.of("urn:test:open", "urn:test:presence"), nodes(bob, null));
            assertEquals(List.of("urn:test:open"), nodes(carol, null));
            assertEquals(List.of("1"), nodes(carol, "urn:test:open"));
            assertEquals(List.of(), nodes(carol, "urn:test:whitelist"));
            // XEP-0060 §5.4: a node's disco#info says leaf to those who may read it; others learn nothing
            Element info = bob.request(iq("get", ALICE, el("query", DISCO).withAttribute("node", "urn:test:presence")), Fixture.WAIT)
                    .child("query", DISCO).orElseThrow();
            assertEquals("urn:test:presence", info.attributeOrEmpty("node"));
            assertEquals("leaf", info.child("identity", DISCO).orElseThrow().attributeOrEmpty("type"), info.toString());
            for (String node : List.of("urn:test:presence", "urn:test:whitelist", "urn:test:none")) {
                assertError(error(carol, iq("get", ALICE, el("query", DISCO).withAttribute("node", node))), "item-not-found", null);
            }
        }
    }

    /** The node names (or, for a node, the item ids) alice's disco#items shows {@code c}. */
    static List<String> nodes(XmppClient c, String node) throws Exception {
        String items = "http://jabber.org/protocol/disco#items";
        Element q = el("query", items);
        Element r = c.request(iq("get", ALICE, node == null ? q : q.withAttribute("node", node)), Fixture.WAIT);
        return r.child("query", items).orElseThrow().children().stream()
                .map(e -> node == null ? e.attributeOrEmpty("node") : e.attributeOrEmpty("name")).toList();
    }

    @Test
    void publishOptionsThatDifferFromTheNodeFailUntilTheOwnerReconfiguresIt() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.request(iq("set", null, publish("urn:test:n", "1", nick("a"))), Fixture.WAIT); // default: presence, 1 item
            Element open = options(publish("urn:test:n", "2", nick("b")), PUBSUB + "#publish-options", "pubsub#access_model", "open");
            assertError(error(alice, iq("set", null, open)), "conflict", "precondition-not-met");
            Element unknown = options(publish("urn:test:n", "2", nick("b")), PUBSUB + "#publish-options", "pubsub#made_up", "1");
            assertError(error(alice, iq("set", null, unknown)), "conflict", "precondition-not-met");
            assertEquals(List.of("1"), fetch(alice, null, "urn:test:n", null).stream().map(e -> e.attributeOrEmpty("id")).toList(),
                    "a failed precondition publishes nothing");
            // the same options as the node's are met
            alice.request(iq("set", null, options(publish("urn:test:n", "2", nick("b")), PUBSUB + "#publish-options",
                    "pubsub#access_model", "presence", "pubsub#persist_items", "true")), Fixture.WAIT);
            // what a client does on precondition-not-met: fetch the configuration, submit the new one, publish again
            Element config = alice.request(iq("get", null, el("pubsub", OWNER).withChild(el("configure", OWNER).withAttribute("node", "urn:test:n"))),
                    Fixture.WAIT);
            assertTrue(config.toString().contains("pubsub#access_model"), config.toString());
            alice.request(iq("set", null, el("pubsub", OWNER).withChild(el("configure", OWNER).withAttribute("node", "urn:test:n")
                    .withChild(form(PUBSUB + "#node_config", "pubsub#access_model", "open", "pubsub#max_items", "max")))), Fixture.WAIT);
            alice.request(iq("set", null, options(publish("urn:test:n", "3", nick("c")), PUBSUB + "#publish-options",
                    "pubsub#access_model", "open", "pubsub#max_items", "max")), Fixture.WAIT);
            assertEquals(List.of("2", "3"), fetch(alice, null, "urn:test:n", null).stream().map(e -> e.attributeOrEmpty("id")).toList());
            Element badModel = el("pubsub", OWNER).withChild(el("configure", OWNER).withAttribute("node", "urn:test:n")
                    .withChild(form(PUBSUB + "#node_config", "pubsub#access_model", "authorize")));
            assertError(error(alice, iq("set", null, badModel)), "not-acceptable", "unsupported-access-model");
        }
    }

    @Test
    void createPurgeAndDeleteNodes() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            announce(alice, "urn:test:n");
            Element create = el("pubsub", PUBSUB).withChild(el("create", PUBSUB).withAttribute("node", "urn:test:n"))
                    .withChild(el("configure", PUBSUB).withChild(form(PUBSUB + "#node_config", "pubsub#max_items", "5")));
            alice.request(iq("set", null, create), Fixture.WAIT);
            assertEquals(List.of(), fetch(alice, null, "urn:test:n", null));
            assertError(error(alice, iq("set", null, create)), "conflict", null);
            for (int i = 1; i <= 3; i++) {
                alice.request(iq("set", null, publish("urn:test:n", "i" + i, nick("n" + i))), Fixture.WAIT);
            }
            assertEquals(3, fetch(alice, null, "urn:test:n", null).size(), "the created node's max_items 5 holds");
            drain(alice);
            alice.request(iq("set", null, el("pubsub", OWNER).withChild(el("purge", OWNER).withAttribute("node", "urn:test:n"))), Fixture.WAIT);
            assertEquals(List.of(), fetch(alice, null, "urn:test:n", null));
            alice.request(iq("set", null, el("pubsub", OWNER).withChild(el("delete", OWNER).withAttribute("node", "urn:test:n"))), Fixture.WAIT);
            List<Element> events = events(drain(alice), "urn:test:n");
            assertEquals(2, events.size(), events.toString());
            assertTrue(events.get(0).child("event", EVENT).orElseThrow().child("purge", EVENT).isPresent());
            assertTrue(events.get(1).child("event", EVENT).orElseThrow().child("delete", EVENT).isPresent());
            assertError(error(alice, iq("get", null, items("urn:test:n", null))), "item-not-found", null);
            assertError(error(alice, iq("set", null, el("pubsub", OWNER).withChild(el("delete", OWNER).withAttribute("node", "urn:test:n")))),
                    "item-not-found", null);
        }
    }

    // ---------------------------------------------------------------- limits, disk, disco

    @Test
    void limitsOnItemSizeNodesAndItemsPerNodeAreEnforced() throws Exception {
        try (Fixture f = new Fixture(b -> b.pepLimits(4, 200, 2))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            assertError(error(alice, iq("set", null, publish("urn:test:a", "1", nick("x".repeat(300))))), "not-acceptable", "payload-too-big");
            alice.request(iq("set", null, publish("urn:test:a", "1", nick("a"))), Fixture.WAIT);
            alice.request(iq("set", null, publish("urn:test:b", "1", nick("b"))), Fixture.WAIT);
            assertError(error(alice, iq("set", null, publish("urn:test:c", "1", nick("c")))), "policy-violation", "max-nodes-exceeded");
            assertError(error(alice, iq("get", null, items("urn:test:c", null))), "item-not-found", null);
            alice.request(iq("set", null, publish("urn:test:b", "2", nick("b"))), Fixture.WAIT); // an existing node still takes items
            Element tooMany = options(publish("urn:test:a", "2", nick("a")), PUBSUB + "#publish-options", "pubsub#max_items", "5");
            assertError(error(alice, iq("set", null, tooMany)), "policy-violation", "max-items-exceeded");
            alice.request(iq("set", null, el("pubsub", OWNER).withChild(el("configure", OWNER).withAttribute("node", "urn:test:a")
                    .withChild(form(PUBSUB + "#node_config", "pubsub#max_items", "max")))), Fixture.WAIT);
            for (int i = 2; i <= 6; i++) {
                alice.request(iq("set", null, publish("urn:test:a", Integer.toString(i), nick("a"))), Fixture.WAIT);
            }
            assertEquals(List.of("3", "4", "5", "6"), fetch(alice, null, "urn:test:a", null).stream().map(e -> e.attributeOrEmpty("id")).toList());
        }
    }

    @Test
    void nodesAndTheirConfigurationSurviveARestart() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try {
            try (Fixture f = new Fixture(dir)) {
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                alice.request(iq("set", null, options(publish("urn:test:n", "kept", nick("Alice")), PUBSUB + "#publish-options",
                        "pubsub#access_model", "open")), Fixture.WAIT);
            }
            try (Fixture f = new Fixture(dir)) {
                XmppClient carol = f.login("carol", "c", Chunking.whole());
                List<Element> items = fetch(carol, ALICE, "urn:test:n", null);
                assertEquals("Alice", items.get(0).child("nick", NICK).orElseThrow().text());
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                assertError(error(alice, iq("set", null, options(publish("urn:test:n", "2", nick("x")), PUBSUB + "#publish-options",
                        "pubsub#access_model", "presence"))), "conflict", "precondition-not-met");
            }
        } finally {
            deleteTree(dir);
        }
    }

    @Test
    void aPublishOrVcardThatCannotBeForcedToDiskIsAnErrorAndChangesNothing() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.request(iq("set", null, publish("urn:test:n", "old", nick("old"))), Fixture.WAIT);
            announce(alice, "urn:test:n");
            assertEquals(1, events(drain(alice), "urn:test:n").size(), "the last item, once the caps are learnt");
            try (dev.twine.core.testing.FsyncFailures failing = dev.twine.core.testing.FsyncFailures.under(f.dir.resolve("data"))) {
                assertError(error(alice, iq("set", null, publish("urn:test:n", "new", nick("new")))), "internal-server-error", null);
                assertError(error(alice, iq("set", null, publish("urn:test:other", "1", nick("x")))), "internal-server-error", null);
                assertError(error(alice, iq("set", null, el("vCard", "vcard-temp").withChild(el("FN", "vcard-temp").withText("A")))),
                        "internal-server-error", null);
                assertTrue(failing.failures() >= 3, "every write reached the injected failure");
            }
            assertEquals(List.of("old"), fetch(alice, null, "urn:test:n", null).stream().map(e -> e.attributeOrEmpty("id")).toList());
            assertError(error(alice, iq("get", null, items("urn:test:other", null))), "item-not-found", null);
            assertEquals(List.of(), events(drain(alice), "urn:test:n"), "what was not stored was not announced");
            assertEquals(List.of(), alice.request(iq("get", null, el("vCard", "vcard-temp")), Fixture.WAIT).child("vCard", "vcard-temp")
                    .orElseThrow().children());
        }
    }

    @Test
    void theAccountAdvertisesPepAndTheDomainVcardTemp() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element info = alice.request(iq("get", ALICE, el("query", DISCO)), Fixture.WAIT).child("query", DISCO).orElseThrow();
            assertTrue(info.children().stream().anyMatch(e -> e.name().equals("identity") && e.attributeOrEmpty("category").equals("pubsub")
                    && e.attributeOrEmpty("type").equals("pep")), info.toString());
            for (String feature : List.of("#publish", "#publish-options", "#access-whitelist", "#retrieve-items", "#retract-items",
                    "#delete-nodes", "#last-published", "#filtered-notifications")) {
                assertTrue(info.toString().contains("var='" + PUBSUB + feature + "'"), feature + " in " + info);
            }
            assertFalse(info.toString().contains("#subscribe'"), "explicit subscriptions are not offered: " + info);
            Element domain = alice.request(iq("get", Jid.parse("example.org"), el("query", DISCO)), Fixture.WAIT);
            assertTrue(domain.toString().contains("var='vcard-temp'"), domain.toString());
        }
    }

    // ---------------------------------------------------------------- advertised features, each shown to work

    /**
     * Shows that one feature an account's or the server's disco#info lists works, by using it on
     * {@code alice}'s own service (fresh node names each time); throws if it does not. For any
     * test that checks every advertised feature against an exercise.
     */
    static void exercise(Fixture f, XmppClient alice, String feature) throws Exception {
        String node = "urn:test:exercise:" + IDS.incrementAndGet();
        Element one = nick("one");
        switch (feature.startsWith(PUBSUB + "#") ? feature.substring(PUBSUB.length() + 1) : feature) {
            case "access-open", "access-presence", "access-whitelist", "publish-options" -> {
                String model = feature.endsWith("publish-options") ? "open" : feature.substring(feature.indexOf("access-") + 7);
                alice.request(iq("set", null, options(publish(node, "1", one), PUBSUB + "#publish-options", "pubsub#access_model", model)),
                        Fixture.WAIT);
                XmppClient carol = f.login("carol", "x" + IDS.incrementAndGet(), Chunking.whole());
                if (model.equals("open")) {
                    assertEquals(1, fetch(carol, ALICE, node, null).size());
                } else {
                    assertError(error(carol, iq("get", ALICE, items(node, null))), model.equals("whitelist") ? "not-allowed" : "not-authorized", null);
                }
                carol.close();
            }
            case "auto-create", "publish", "persistent-items", "retrieve-items", "item-ids" -> {
                alice.request(iq("set", null, publish(node, "the-id", one)), Fixture.WAIT);
                assertEquals("the-id", fetch(alice, null, node, null, "the-id").get(0).attributeOrEmpty("id"));
            }
            case "auto-subscribe", "presence-notifications", "filtered-notifications" -> {
                announce(alice, node);
                alice.request(iq("set", null, publish(node, "1", one)), Fixture.WAIT);
                alice.await(event(node), Fixture.WAIT).orElseThrow();
            }
            case "last-published" -> {
                alice.request(iq("set", null, publish(node, "1", one)), Fixture.WAIT);
                XmppClient other = f.login("alice", "x" + IDS.incrementAndGet(), Chunking.whole());
                announce(other, node);
                other.await(event(node), Fixture.WAIT).orElseThrow();
                other.close();
            }
            case "create-nodes", "create-and-configure", "config-node" -> {
                alice.request(iq("set", null, el("pubsub", PUBSUB).withChild(el("create", PUBSUB).withAttribute("node", node))
                        .withChild(el("configure", PUBSUB).withChild(form(PUBSUB + "#node_config", "pubsub#max_items", "2")))), Fixture.WAIT);
                Element config = alice.request(iq("get", null, el("pubsub", OWNER).withChild(el("configure", OWNER).withAttribute("node", node))),
                        Fixture.WAIT);
                assertTrue(config.toString().contains("<value>2</value>"), config.toString());
            }
            case "retract-items", "delete-items" -> {
                alice.request(iq("set", null, publish(node, "1", one)), Fixture.WAIT);
                alice.request(iq("set", null, el("pubsub", PUBSUB).withChild(el("retract", PUBSUB).withAttribute("node", node)
                        .withChild(el("item", PUBSUB).withAttribute("id", "1")))), Fixture.WAIT);
                assertEquals(List.of(), fetch(alice, null, node, null));
            }
            case "purge-nodes", "delete-nodes" -> {
                alice.request(iq("set", null, publish(node, "1", one)), Fixture.WAIT);
                String op = feature.endsWith("purge-nodes") ? "purge" : "delete";
                alice.request(iq("set", null, el("pubsub", OWNER).withChild(el(op, OWNER).withAttribute("node", node))), Fixture.WAIT);
                if (op.equals("purge")) {
                    assertEquals(List.of(), fetch(alice, null, node, null));
                } else {
                    assertError(error(alice, iq("get", null, items(node, null))), "item-not-found", null);
                }
            }
            case "vcard-temp" -> alice.request(iq("get", null, el("vCard", "vcard-temp")), Fixture.WAIT);
            default -> throw new AssertionError("no exercise for " + feature);
        }
    }

    @Test
    void everyPubSubFeatureTheAccountListsAndVcardTempWork() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendPresence(0);
            List<String> features = new ArrayList<>();
            for (String target : List.of("alice@example.org", "example.org")) {
                for (Element e : alice.request(iq("get", Jid.parse(target), el("query", DISCO)), Fixture.WAIT).child("query", DISCO).orElseThrow().children()) {
                    String var = e.attributeOrEmpty("var");
                    if (e.name().equals("feature") && (var.startsWith(PUBSUB) || var.equals("vcard-temp"))) {
                        features.add(var);
                    }
                }
            }
            assertTrue(features.size() > 10, features.toString());
            for (String feature : features) {
                exercise(f, alice, feature);
            }
        }
    }
}

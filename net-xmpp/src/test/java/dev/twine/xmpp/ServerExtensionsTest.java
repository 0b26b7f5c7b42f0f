package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** IQ handlers, interceptors and disco contributions registered on the builder, over in-memory streams. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerExtensionsTest {
    static final String KV = "urn:example:kv";
    static final Duration SHORT = Duration.ofMillis(300);

    static List<Chunking> chunkings() {
        return Chunking.standard();
    }

    /** A read-only key-value store: {@code <get key='K'/>} answers {@code <value>V</value>}. */
    static final IqHandler STORE = new IqHandler() {
        private final Map<String, String> values = Map.of("colour", "teal");

        @Override
        public Optional<Element> handle(IqRequest request) throws StanzaException {
            Element get = request.payload();
            if (!get.name().equals("get")) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "expected <get/>");
            }
            String v = values.get(get.attributeOrEmpty("key"));
            if (v == null) {
                throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such key");
            }
            return Optional.of(Element.of("value", KV).withText(v));
        }

        @Override
        public DiscoInfo disco() {
            return DiscoInfo.features(KV);
        }
    };

    static Element iq(String type, String to, Element payload) {
        Element iq = Element.of("iq", "jabber:client").withAttribute("type", type);
        return (to == null ? iq : iq.withAttribute("to", to)).withChild(payload);
    }

    static Element message(String to, String body) {
        return Element.of("message", "jabber:client").withAttribute("to", to).withAttribute("type", "chat")
                .withChild(Element.of("body", "jabber:client").withText(body));
    }

    static XmppException refused(XmppClient c, Element request) {
        return assertThrows(XmppException.class, () -> c.request(request, Fixture.WAIT));
    }

    @ParameterizedTest
    @MethodSource("chunkings")
    void userIqHandlerAnswersRefusesAndUnknownNamespacesStayUnavailable(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.GET, KV, STORE))) {
            XmppClient alice = f.login("alice", "a", chunking);
            Element result = alice.request(iq("get", "example.org", Element.of("get", KV).withAttribute("key", "colour")), Fixture.WAIT);
            assertEquals("example.org", result.attributeOrEmpty("from"));
            assertEquals("teal", result.child("value", KV).orElseThrow().text());
            assertEquals("item-not-found", refused(alice, iq("get", "example.org", Element.of("get", KV).withAttribute("key", "x"))).condition());
            assertEquals("bad-request", refused(alice, iq("get", "example.org", Element.of("put", KV))).condition());
            // registered for get only, and for the domain only
            assertEquals("service-unavailable", refused(alice, iq("set", "example.org", Element.of("get", KV))).condition());
            assertEquals("service-unavailable", refused(alice, iq("get", "bob@example.org", Element.of("get", KV))).condition());
            assertEquals("service-unavailable", refused(alice, iq("get", "example.org", Element.of("q", "urn:example:unknown"))).condition());
        }
    }

    @Test
    void errorIqCarriesTheConditionTypeAndText() throws Exception {
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.GET, KV, STORE))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.send(iq("get", "example.org", Element.of("get", KV).withAttribute("key", "x")).withAttribute("id", "e1"));
            Element err = alice.await(e -> e.attributeOrEmpty("id").equals("e1"), Fixture.WAIT).orElseThrow();
            assertEquals("error", err.attributeOrEmpty("type"));
            String xml = err.toXml();
            assertTrue(xml.contains("type='cancel'") && xml.contains("<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>")
                    && xml.contains(">no such key</text>"), xml);
        }
    }

    @Test
    void aRefusalCarriesItsApplicationConditionAfterTheDefinedOne() throws Exception {
        Element precondition = Element.of("precondition-not-met", "urn:example:errors");
        IqHandler refusing = request -> {
            throw new StanzaException(StanzaError.CONFLICT, precondition, "configured otherwise");
        };
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.SET, "urn:example:strict", refusing))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.send(iq("set", "example.org", Element.of("q", "urn:example:strict")).withAttribute("id", "strict"));
            Element reply = alice.await(e -> e.attributeOrEmpty("id").equals("strict"), Fixture.WAIT).orElseThrow();
            Element error = reply.child("error", "jabber:client").orElseThrow();
            List<String> names = error.children().stream().map(Element::name).toList();
            assertEquals(List.of("conflict", "text", "precondition-not-met"), names, error.toXml()); // RFC 6120 §8.3.2 order
            assertEquals("urn:example:errors", error.children().get(2).namespace());
        }
        assertThrows(IllegalArgumentException.class, () -> new StanzaException(StanzaError.CONFLICT,
                Element.of("conflict", "urn:ietf:params:xml:ns:xmpp-stanzas"), ""));
    }

    @Test
    void discoInfoListsWhatTheRegisteredHandlersDeclare() throws Exception {
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.GET, KV, STORE))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element info = alice.request(iq("get", "example.org", Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT)
                    .child("query", "http://jabber.org/protocol/disco#info").orElseThrow();
            List<String> features = info.children().stream().filter(c -> c.name().equals("feature"))
                    .map(c -> c.attributeOrEmpty("var")).toList();
            assertEquals(List.of("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "urn:xmpp:ping",
                    "jabber:iq:version", "jabber:iq:roster", KV, "urn:xmpp:carbons:2", "vcard-temp", "urn:xmpp:blocking", "msgoffline"), features);
            assertEquals(1, info.children().stream().filter(c -> c.name().equals("identity")).count(), info.toXml());
        }
    }

    @Test
    void withoutTheHandlerItsFeatureIsNotListed() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element info = alice.request(iq("get", "example.org", Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertFalse(info.toXml().contains(KV), info.toXml());
        }
    }

    @Test
    void aRegisteredHandlerReplacesTheBuiltIn() throws Exception {
        IqHandler version = r -> Optional.of(Element.of("query", "jabber:iq:version")
                .withChild(Element.of("name", "jabber:iq:version").withText("Mine")));
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.GET, "jabber:iq:version", version))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element v = alice.request(iq("get", "example.org", Element.of("query", "jabber:iq:version")), Fixture.WAIT);
            assertEquals("Mine", v.child("query", "jabber:iq:version").flatMap(q -> q.childText("name")).orElse(""));
        }
    }

    @Test
    void accountHandlerAnswersForExistingAccountsAndKnowsTheOwner() throws Exception {
        IqHandler card = r -> Optional.of(Element.of("card", "urn:example:card")
                .withAttribute("of", r.to().toString()).withAttribute("owner", String.valueOf(r.fromOwner()))
                .withAttribute("principal", r.principal().orElseThrow().name()));
        try (Fixture f = new Fixture(b -> b.accountIqHandler(IqType.GET, "urn:example:card", card))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element own = alice.request(iq("get", null, Element.of("card", "urn:example:card")), Fixture.WAIT);
            assertTrue(own.attribute("from").isEmpty(), own.toXml()); // RFC 6120 §10.3.3
            Element c = own.child("card", "urn:example:card").orElseThrow();
            assertEquals(List.of("alice@example.org", "true", "alice"),
                    List.of(c.attributeOrEmpty("of"), c.attributeOrEmpty("owner"), c.attributeOrEmpty("principal")));
            Element bobs = alice.request(iq("get", "bob@example.org", Element.of("card", "urn:example:card")), Fixture.WAIT);
            assertEquals("bob@example.org", bobs.attributeOrEmpty("from"));
            assertEquals("false", bobs.child("card", "urn:example:card").orElseThrow().attributeOrEmpty("owner"));
            assertEquals("service-unavailable", refused(alice, iq("get", "nobody@example.org", Element.of("card", "urn:example:card"))).condition());
            assertEquals("service-unavailable", refused(alice, iq("get", "example.org", Element.of("card", "urn:example:card"))).condition());
        }
    }

    @Test
    void aFailingHandlerIsAnInternalServerError() throws Exception {
        IqHandler broken = r -> {
            throw new IOException("disk gone");
        };
        try (Fixture f = new Fixture(b -> b.iqHandler(IqType.SET, KV, broken))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            assertEquals("internal-server-error", refused(alice, iq("set", "example.org", Element.of("put", KV))).condition());
            alice.request(iq("get", "example.org", Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT); // still served
        }
    }

    /** Drops "drop", upper-cases everything else. */
    static final StanzaInterceptor LOUD = s -> {
        Element m = s.stanza();
        String body = m.childText("body").orElse("");
        if (body.equals("drop")) {
            return Verdict.drop();
        }
        return Verdict.replace(m.withChildren(m.children().stream()
                .map(c -> c.name().equals("body") ? c.withText(body.toUpperCase(java.util.Locale.ROOT)) : c).toList()));
    };

    @ParameterizedTest
    @MethodSource("chunkings")
    void interceptorRewritesMessagesBeforeDeliveryAndCarbons(Chunking chunking) throws Exception {
        try (Fixture f = new Fixture(b -> b.messageInterceptor(LOUD))) {
            XmppClient desk = f.login("alice", "desk", chunking);
            XmppClient phone = f.login("alice", "phone", chunking);
            XmppClient bob = f.login("bob", "b", chunking);
            desk.request(iq("set", null, Element.of("enable", "urn:xmpp:carbons:2")), Fixture.WAIT);
            phone.send(message("bob@example.org/b", "hello"));
            Element got = bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
            assertEquals("HELLO", got.childText("body").orElse(""));
            assertEquals("alice@example.org/phone", got.attributeOrEmpty("from")); // stamped again
            Element copy = desk.await(e -> e.child("sent", "urn:xmpp:carbons:2").isPresent(), Fixture.WAIT).orElseThrow();
            assertTrue(copy.toXml().contains("HELLO") && !copy.toXml().contains("hello"), copy.toXml());
        }
    }

    @Test
    void droppedMessageIsNeitherDeliveredNorCopiedNorStored() throws Exception {
        try (Fixture f = new Fixture(b -> b.messageInterceptor(LOUD))) {
            XmppClient desk = f.login("alice", "desk", Chunking.whole());
            XmppClient phone = f.login("alice", "phone", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            desk.request(iq("set", null, Element.of("enable", "urn:xmpp:carbons:2")), Fixture.WAIT);
            phone.send(message("bob@example.org/b", "drop"));
            phone.send(message("carol@example.org", "drop")); // carol is offline
            phone.send(message("bob@example.org/b", "after"));
            assertEquals("AFTER", bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow().childText("body").orElse(""));
            assertEquals(1, desk.await(e -> e.child("sent", "urn:xmpp:carbons:2").isPresent(), Fixture.WAIT).stream()
                    .filter(e -> e.toXml().contains("AFTER")).count());
            assertTrue(Files.notExists(f.dir.resolve("data/offline/carol.xml")));
            assertTrue(phone.await(e -> e.name().equals("message"), SHORT).isEmpty()); // no error either
        }
    }

    @Test
    void interceptorsRunInRegistrationOrderUntilOneAnswersOrRefuses() throws Exception {
        StanzaInterceptor first = s -> s.stanza().childText("body").orElse("").equals("no")
                ? fail(new StanzaException(StanzaError.FORBIDDEN, "not that")) : append(s, "1");
        StanzaInterceptor second = s -> s.stanza().childText("body").orElse("").startsWith("ask")
                ? Verdict.answer(Element.of("message", "jabber:client").withChild(Element.of("body", "jabber:client").withText("answered")))
                : append(s, "2");
        try (Fixture f = new Fixture(b -> b.messageInterceptor(first).messageInterceptor(second))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            alice.send(message("bob@example.org/b", "x"));
            assertEquals("x12", bob.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow().childText("body").orElse(""));
            alice.send(message("bob@example.org/b", "ask"));
            Element answer = alice.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
            assertEquals(List.of("answered", "bob@example.org/b", "alice@example.org/a"),
                    List.of(answer.childText("body").orElse(""), answer.attributeOrEmpty("from"), answer.attributeOrEmpty("to")));
            alice.send(message("bob@example.org/b", "no"));
            Element error = alice.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
            assertEquals("error", error.attributeOrEmpty("type"));
            assertTrue(error.toXml().contains("<forbidden ") && error.toXml().contains("not that"), error.toXml());
            assertTrue(bob.await(e -> e.name().equals("message"), SHORT).isEmpty()); // "ask" and "no" went no further
        }
    }

    @Test
    void presenceInterceptorDropsSubscriptionRequests() throws Exception {
        StanzaInterceptor noSubscriptions = s -> s.stanza().attributeOrEmpty("type").equals("subscribe") ? Verdict.drop() : Verdict.pass();
        try (Fixture f = new Fixture(b -> b.presenceInterceptor(noSubscriptions))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            alice.sendSubscription(Jid.parse("bob@example.org"), "subscribe");
            alice.sendPresence(0);
            alice.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("alice@example.org/a"), Fixture.WAIT).orElseThrow();
            assertTrue(bob.await(e -> e.attributeOrEmpty("type").equals("subscribe"), SHORT).isEmpty());
            assertEquals(List.of(), alice.roster(Fixture.WAIT)); // not even the pending item: nothing was routed
        }
    }

    @Test
    void builderNamesTheMissingSetting(@TempDir Path dir) throws Exception {
        Path users = Files.createFile(dir.resolve("users"));
        IllegalStateException noDomain = assertThrows(IllegalStateException.class,
                () -> XmppServer.builder().users(UsersFile.load(users)).dataDirectory(dir).build());
        assertEquals("domain(...) is required", noDomain.getMessage());
        IllegalStateException noUsers = assertThrows(IllegalStateException.class,
                () -> XmppServer.builder().domain("example.org").dataDirectory(dir).build());
        assertEquals("users(...) is required", noUsers.getMessage());
        IllegalStateException noData = assertThrows(IllegalStateException.class,
                () -> XmppServer.builder().domain("example.org").users(UsersFile.load(users)).build());
        assertEquals("dataDirectory(...) is required", noData.getMessage());
    }

    private static Verdict append(InboundStanza s, String suffix) {
        Element m = s.stanza();
        String body = m.childText("body").orElse("");
        return Verdict.replace(m.withChildren(m.children().stream()
                .map(c -> c.name().equals("body") ? c.withText(body + suffix) : c).toList()));
    }

    private static Verdict fail(StanzaException e) throws StanzaException {
        throw e;
    }
}

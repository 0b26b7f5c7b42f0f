package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** XEP-0045 group chat at conference.example.org, over in-memory connections. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MucTest {
    static final String MUC = "http://jabber.org/protocol/muc";
    static final String USER = MUC + "#user";
    static final String ADMIN = MUC + "#admin";
    static final String OWNER = MUC + "#owner";
    static final String DATA = "jabber:x:data";
    static final String ROOM = "team@conference.example.org";
    static final Duration SHORT = Duration.ofMillis(300);

    /** A user logged in as NAME@example.org/FIRST-LETTER, reading whole chunks. */
    static XmppClient user(Fixture f, String name) throws Exception {
        return f.login(name, name.substring(0, 1), Chunking.whole());
    }

    static Element presence(String to) {
        return Element.of("presence", "jabber:client").withAttribute("to", to);
    }

    /** Joins and returns the self-presence (status 110), after which the subject comes. */
    static Element join(XmppClient c, String nick, Element... xChildren) throws Exception {
        Element x = Element.of("x", MUC);
        for (Element e : xChildren) {
            x = x.withChild(e);
        }
        c.send(presence(ROOM + "/" + nick).withChild(x));
        Element self = c.await(e -> e.name().equals("presence") && (hasStatus(e, 110) || e.attributeOrEmpty("type").equals("error")),
                Fixture.WAIT).orElseThrow();
        if (self.attributeOrEmpty("type").equals("error")) {
            return self;
        }
        c.await(e -> e.name().equals("message") && e.child("subject", "jabber:client").isPresent(), Fixture.WAIT).orElseThrow();
        return self;
    }

    static boolean hasStatus(Element p, int code) {
        return p.child("x", USER).map(x -> x.children().stream()
                .anyMatch(s -> s.name().equals("status") && s.attributeOrEmpty("code").equals(Integer.toString(code)))).orElse(false);
    }

    static Element item(Element p) {
        return p.child("x", USER).flatMap(x -> x.child("item", USER)).orElseThrow();
    }

    static String condition(Element error) {
        return error.child("error", "jabber:client").map(e -> e.children().get(0).name()).orElse("");
    }

    static void say(XmppClient c, String body) throws Exception {
        c.send(Element.of("message", "jabber:client").withAttribute("to", ROOM).withAttribute("type", "groupchat")
                .withChild(Element.of("body", "jabber:client").withText(body)));
    }

    static Element heard(XmppClient c, String body) throws Exception {
        return c.await(e -> e.name().equals("message") && e.childText("body").orElse("").equals(body), Fixture.WAIT).orElseThrow();
    }

    static Element iq(String type, String to, Element payload) {
        return Element.of("iq", "jabber:client").withAttribute("type", type).withAttribute("to", to).withChild(payload);
    }

    static Element adminItem(String attr, String value, String role) {
        return iq("set", ROOM, Element.of("query", ADMIN).withChild(Element.of("item", ADMIN).withAttribute(attr, value)
                .withAttribute(attr.equals("nick") ? "role" : "affiliation", role)));
    }

    static Element configure(String... varValue) {
        Element x = Element.of("x", DATA).withAttribute("type", "submit").withChild(Element.of("field", DATA).withAttribute("var", "FORM_TYPE")
                .withChild(Element.of("value", DATA).withText(MUC + "#roomconfig")));
        for (int i = 0; i < varValue.length; i += 2) {
            x = x.withChild(Element.of("field", DATA).withAttribute("var", varValue[i]).withChild(Element.of("value", DATA).withText(varValue[i + 1])));
        }
        return iq("set", ROOM, Element.of("query", OWNER).withChild(x));
    }

    @Test
    void theCreatorOwnsANewRoomAndLaterOccupantsSeeEachOtherAndEveryMessage() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = f.login("bob", "b", Chunking.byteByByte());
            XmppClient carol = f.login("carol", "c", Chunking.random(7));
            Element created = join(alice, "Alice");
            assertTrue(hasStatus(created, 201), created.toString());
            assertEquals("owner", item(created).attributeOrEmpty("affiliation"));
            assertEquals("moderator", item(created).attributeOrEmpty("role"));
            Element bobSelf = join(bob, "Bob");
            assertFalse(hasStatus(bobSelf, 201));
            assertEquals("participant", item(bobSelf).attributeOrEmpty("role"));
            // alice (a moderator) sees bob's real address in a semi-anonymous room; carol does not see alice's
            Element bobSeen = alice.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Bob"), Fixture.WAIT).orElseThrow();
            assertEquals("bob@example.org/b", item(bobSeen).attributeOrEmpty("jid"));
            carol.send(presence(ROOM + "/Carol").withChild(Element.of("x", MUC)));
            Element aliceSeen = carol.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Alice"), Fixture.WAIT).orElseThrow();
            assertTrue(item(aliceSeen).attribute("jid").isEmpty(), aliceSeen.toString());
            carol.await(e -> hasStatus(e, 110), Fixture.WAIT).orElseThrow();
            say(bob, "hello room");
            for (XmppClient c : List.of(alice, bob, carol)) {
                Element m = heard(c, "hello room");
                assertEquals(ROOM + "/Bob", m.attributeOrEmpty("from"));
                assertEquals("groupchat", m.attributeOrEmpty("type"));
            }
            // disco: the service lists the room, the room describes itself
            Element items = alice.request(iq("get", "conference.example.org", Element.of("query", "http://jabber.org/protocol/disco#items")), Fixture.WAIT);
            assertTrue(items.toString().contains("jid='" + ROOM + "'"), items.toString());
            Element info = alice.request(iq("get", ROOM, Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertTrue(info.toString().contains("muc_temporary") && info.toString().contains("muc_open"), info.toString());
            Element domainItems = alice.request(iq("get", "example.org", Element.of("query", "http://jabber.org/protocol/disco#items")), Fixture.WAIT);
            assertTrue(domainItems.toString().contains("conference.example.org"), domainItems.toString());
        }
    }

    @Test
    void aNewcomerGetsTheHistoryItAskedForWithDelayStampsThenTheSubject() throws Exception {
        ManualClock clock = ManualClock.at(Instant.parse("2026-01-01T10:00:00Z"));
        try (Fixture f = new Fixture(b -> b.clock(clock))) {
            XmppClient alice = user(f, "alice");
            join(alice, "Alice");
            for (int i = 1; i <= 5; i++) {
                say(alice, "m" + i);
                heard(alice, "m" + i);
                clock.advance(Duration.ofMinutes(1));
            }
            XmppClient bob = user(f, "bob");
            join(bob, "Bob", Element.of("history", MUC).withAttribute("maxstanzas", "2"));
            // join() consumed up to the subject; the history came before it
            Element m4 = heard(bob, "m4");
            Element m5 = heard(bob, "m5");
            assertEquals("2026-01-01T10:03:00Z", m4.child("delay", "urn:xmpp:delay").orElseThrow().attributeOrEmpty("stamp"));
            assertEquals(ROOM + "/Alice", m5.attributeOrEmpty("from"));
            assertTrue(bob.await(e -> e.childText("body").orElse("").equals("m3"), SHORT).isEmpty());
            XmppClient carol = user(f, "carol");
            join(carol, "Carol", Element.of("history", MUC).withAttribute("seconds", "150"));
            heard(carol, "m4");
            assertTrue(carol.await(e -> e.childText("body").orElse("").equals("m2"), SHORT).isEmpty());
            XmppClient alice2 = f.login("alice", "phone", Chunking.whole());
            join(alice2, "Alice2", Element.of("history", MUC).withAttribute("maxchars", "0"));
            assertTrue(alice2.await(e -> e.childText("body").isPresent(), SHORT).isEmpty());
        }
    }

    @Test
    void nickConflictsAreRefusedAndANickChangeIsAnnouncedWith303() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            join(alice, "Alice");
            Element refused = join(bob, "Alice");
            assertEquals("conflict", condition(refused));
            assertEquals(ROOM + "/Alice", refused.attributeOrEmpty("from"));
            join(bob, "Bob");
            bob.send(presence(ROOM + "/Alice"));
            assertEquals("conflict", condition(bob.await(e -> e.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow()));
            bob.send(presence(ROOM + "/Robert"));
            Element gone = alice.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Bob") && hasStatus(e, 303), Fixture.WAIT).orElseThrow();
            assertEquals("unavailable", gone.attributeOrEmpty("type"));
            assertEquals("Robert", item(gone).attributeOrEmpty("nick"));
            alice.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Robert"), Fixture.WAIT).orElseThrow();
            say(bob, "renamed");
            assertEquals(ROOM + "/Robert", heard(alice, "renamed").attributeOrEmpty("from"));
        }
    }

    @Test
    void privateMessagesGoThroughTheRoomAndOnlyOccupantsMaySpeak() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            XmppClient carol = user(f, "carol");
            join(alice, "Alice");
            join(bob, "Bob");
            alice.sendMessage(Jid.parse(ROOM + "/Bob"), "psst");
            Element pm = heard(bob, "psst");
            assertEquals(ROOM + "/Alice", pm.attributeOrEmpty("from"));
            assertEquals("chat", pm.attributeOrEmpty("type"));
            alice.sendMessage(Jid.parse(ROOM + "/Nobody"), "hello?");
            assertEquals("item-not-found", condition(alice.await(e -> e.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow()));
            say(carol, "let me in");
            assertEquals("not-acceptable", condition(carol.await(e -> e.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow()));
            assertTrue(bob.await(e -> e.childText("body").orElse("").equals("let me in"), SHORT).isEmpty());
            // XEP-0410 self-ping: joined answers, not joined is not-acceptable
            bob.request(iq("get", ROOM + "/Bob", Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            XmppException e = assertThrows(XmppException.class,
                    () -> carol.request(iq("get", ROOM + "/Carol", Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT));
            assertEquals("not-acceptable", e.condition());
        }
    }

    @Test
    void leavingIsAnnouncedAndTheLastOneOutEndsATemporaryRoom() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            join(alice, "Alice");
            join(bob, "Bob");
            bob.close(); // a dropped session leaves the room: the server sends its unavailable presence
            Element left = alice.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Bob") && e.attributeOrEmpty("type").equals("unavailable"),
                    Fixture.WAIT).orElseThrow();
            assertEquals("none", item(left).attributeOrEmpty("role"));
            alice.send(presence(ROOM + "/Alice").withAttribute("type", "unavailable"));
            alice.await(e -> e.attributeOrEmpty("type").equals("unavailable") && hasStatus(e, 110), Fixture.WAIT).orElseThrow();
            XmppException gone = assertThrows(XmppException.class,
                    () -> alice.request(iq("get", ROOM, Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT));
            assertEquals("item-not-found", gone.condition());
        }
    }

    @Test
    void aModeratorKicksAnOwnerBansAndABannedUserCannotComeBack() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            XmppClient carol = user(f, "carol");
            join(alice, "Alice");
            join(bob, "Bob");
            join(carol, "Carol");
            XmppException refused = assertThrows(XmppException.class, () -> bob.request(adminItem("nick", "Carol", "none"), Fixture.WAIT));
            assertEquals("forbidden", refused.condition()); // a participant kicks no one
            alice.request(adminItem("nick", "Carol", "none"), Fixture.WAIT);
            Element kicked = carol.await(e -> hasStatus(e, 307), Fixture.WAIT).orElseThrow();
            assertEquals("unavailable", kicked.attributeOrEmpty("type"));
            assertTrue(hasStatus(kicked, 110));
            assertEquals("Alice", item(kicked).child("actor", USER).orElseThrow().attributeOrEmpty("nick"));
            bob.await(e -> e.attributeOrEmpty("from").equals(ROOM + "/Carol") && hasStatus(e, 307), Fixture.WAIT).orElseThrow();
            alice.request(adminItem("jid", "bob@example.org", "outcast"), Fixture.WAIT);
            assertTrue(hasStatus(bob.await(e -> e.attributeOrEmpty("type").equals("unavailable"), Fixture.WAIT).orElseThrow(), 301));
            assertEquals("forbidden", condition(join(bob, "Bob")));
            Element outcasts = alice.request(iq("get", ROOM, Element.of("query", ADMIN).withChild(Element.of("item", ADMIN)
                    .withAttribute("affiliation", "outcast"))), Fixture.WAIT);
            assertTrue(outcasts.toString().contains("jid='bob@example.org'"), outcasts.toString());
            XmppException lastOwner = assertThrows(XmppException.class, () -> alice.request(adminItem("jid", "alice@example.org", "admin"), Fixture.WAIT));
            assertEquals("conflict", lastOwner.condition());
        }
    }

    @Test
    void membersOnlyPasswordAndModeratedRoomsKeepOthersOutOrQuiet() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            XmppClient carol = user(f, "carol");
            join(alice, "Alice");
            Element form = alice.request(iq("get", ROOM, Element.of("query", OWNER)), Fixture.WAIT);
            assertTrue(form.toString().contains("muc#roomconfig_membersonly"), form.toString());
            alice.request(configure("muc#roomconfig_membersonly", "1"), Fixture.WAIT);
            assertEquals("registration-required", condition(join(bob, "Bob")));
            bob.sendPresence(0); // available, so the invitation to the bare JID reaches this session
            // a mediated invitation from the owner makes bob a member
            alice.send(Element.of("message", "jabber:client").withAttribute("to", ROOM)
                    .withChild(Element.of("x", USER).withChild(Element.of("invite", USER).withAttribute("to", "bob@example.org"))));
            Element invite = bob.await(e -> e.child("x", USER).flatMap(x -> x.child("invite", USER)).isPresent(), Fixture.WAIT).orElseThrow();
            assertEquals(ROOM, invite.attributeOrEmpty("from"));
            assertEquals("member", item(join(bob, "Bob")).attributeOrEmpty("affiliation"));
            alice.request(configure("muc#roomconfig_membersonly", "0", "muc#roomconfig_passwordprotectedroom", "1",
                    "muc#roomconfig_roomsecret", "s3cret", "muc#roomconfig_moderatedroom", "1"), Fixture.WAIT);
            assertEquals("not-authorized", condition(join(carol, "Carol")));
            Element visitor = join(carol, "Carol", Element.of("password", MUC).withText("s3cret"));
            assertEquals("visitor", item(visitor).attributeOrEmpty("role"));
            say(carol, "can you hear me");
            assertEquals("forbidden", condition(carol.await(e -> e.name().equals("message") && e.attributeOrEmpty("type").equals("error"),
                    Fixture.WAIT).orElseThrow()));
            alice.request(adminItem("nick", "Carol", "participant"), Fixture.WAIT); // voice
            carol.await(e -> e.name().equals("presence") && item(e).attributeOrEmpty("role").equals("participant"), Fixture.WAIT).orElseThrow();
            say(carol, "now I can");
            heard(alice, "now I can");
            XmppException notOwner = assertThrows(XmppException.class, () -> bob.request(iq("get", ROOM, Element.of("query", OWNER)), Fixture.WAIT));
            assertEquals("forbidden", notOwner.condition());
        }
    }

    @Test
    void aPersistentRoomItsSubjectAndAffiliationsSurviveARestart() throws Exception {
        java.nio.file.Path dir = Files.createTempDirectory("twine-xmpp-");
        try (Fixture f = new Fixture(dir)) {
            XmppClient alice = user(f, "alice");
            join(alice, "Alice");
            alice.request(configure("muc#roomconfig_persistentroom", "1", "muc#roomconfig_roomname", "The Team"), Fixture.WAIT);
            alice.request(adminItem("jid", "bob@example.org", "member"), Fixture.WAIT);
            alice.send(Element.of("message", "jabber:client").withAttribute("to", ROOM).withAttribute("type", "groupchat")
                    .withChild(Element.of("subject", "jabber:client").withText("plans")));
            alice.await(e -> e.childText("subject").orElse("").equals("plans"), Fixture.WAIT).orElseThrow();
            alice.send(presence(ROOM + "/Alice").withAttribute("type", "unavailable"));
            alice.await(e -> e.attributeOrEmpty("type").equals("unavailable"), Fixture.WAIT).orElseThrow();
        }
        assertTrue(Files.exists(dir.resolve("data/muc/team.xml")));
        try (Fixture f = new Fixture(dir)) {
            XmppClient bob = user(f, "bob");
            Element info = bob.request(iq("get", ROOM, Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertTrue(info.toString().contains("The Team") && info.toString().contains("muc_persistent"), info.toString());
            bob.send(presence(ROOM + "/Bob").withChild(Element.of("x", MUC)));
            Element self = bob.await(e -> hasStatus(e, 110), Fixture.WAIT).orElseThrow();
            assertEquals("member", item(self).attributeOrEmpty("affiliation"));
            assertFalse(hasStatus(self, 201));
            Element subject = bob.await(e -> e.child("subject", "jabber:client").isPresent(), Fixture.WAIT).orElseThrow();
            assertEquals("plans", subject.childText("subject").orElseThrow());
            XmppClient alice = user(f, "alice");
            alice.request(iq("set", ROOM, Element.of("query", OWNER).withChild(Element.of("destroy", OWNER))), Fixture.WAIT);
            bob.await(e -> e.attributeOrEmpty("type").equals("unavailable")
                    && e.child("x", USER).flatMap(x -> x.child("destroy", USER)).isPresent(), Fixture.WAIT).orElseThrow();
        } finally {
            assertFalse(Files.exists(dir.resolve("data/muc/team.xml")));
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void limitsOnRoomsOccupantsAndHistoryAreStanzaErrors() throws Exception {
        try (Fixture f = new Fixture(b -> b.groupChatLimits(1, 2, 3))) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            XmppClient carol = user(f, "carol");
            join(alice, "Alice");
            join(bob, "Bob");
            assertEquals("service-unavailable", condition(join(carol, "Carol")));
            carol.send(presence("other@conference.example.org/Carol"));
            assertEquals("resource-constraint", condition(carol.await(e -> e.attributeOrEmpty("type").equals("error"), Fixture.WAIT).orElseThrow()));
            XmppException tooLong = assertThrows(XmppException.class, () -> alice.request(configure("muc#maxhistoryfetch", "4"), Fixture.WAIT));
            assertEquals("not-acceptable", tooLong.condition());
            for (int i = 1; i <= 5; i++) {
                say(alice, "n" + i);
                heard(alice, "n" + i);
            }
            bob.send(presence(ROOM + "/Bob").withAttribute("type", "unavailable"));
            bob.await(e -> e.attributeOrEmpty("type").equals("unavailable"), Fixture.WAIT).orElseThrow();
            join(bob, "Bob");
            // the room kept n3..n5 only (bob heard n1..n5 live before, without delay stamps)
            Predicate<Element> delayed = e -> e.child("delay", "urn:xmpp:delay").isPresent();
            assertTrue(bob.await(delayed.and(e -> e.childText("body").orElse("").equals("n3")), Fixture.WAIT).isPresent());
            assertTrue(bob.await(delayed.and(e -> e.childText("body").orElse("").equals("n2")), SHORT).isEmpty());
        }
    }

    @Test
    void aRoomsAffiliationListIsBoundedAndAChangePastItChangesNothing() throws Exception {
        try (Fixture f = new Fixture(b -> b.groupChatAffiliationLimit(3))) {
            XmppClient alice = user(f, "alice");
            join(alice, "Alice"); // alice owns it: one affiliation
            alice.request(adminItem("jid", "bob@example.org", "member"), Fixture.WAIT);
            alice.request(adminItem("jid", "carol@example.org", "outcast"), Fixture.WAIT);
            XmppException full = assertThrows(XmppException.class,
                    () -> alice.request(adminItem("jid", "dave@example.org", "member"), Fixture.WAIT));
            assertEquals("resource-constraint", full.condition());
            Element members = alice.request(iq("get", ROOM, Element.of("query", ADMIN)
                    .withChild(Element.of("item", ADMIN).withAttribute("affiliation", "member"))), Fixture.WAIT);
            assertEquals(1, members.child("query", ADMIN).orElseThrow().children().size(), members.toXml());
            // changing one already listed, or taking one away, is fine at the limit
            alice.request(adminItem("jid", "bob@example.org", "admin"), Fixture.WAIT);
            alice.request(adminItem("jid", "carol@example.org", "none"), Fixture.WAIT);
            alice.request(adminItem("jid", "dave@example.org", "member"), Fixture.WAIT);
        }
    }

    @Test
    void roomMessagesCarryTheRoomsStanzaIdAndItsArchivePagesThemToThoseWhoMayJoin() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = user(f, "alice");
            XmppClient bob = user(f, "bob");
            join(alice, "Alice");
            for (int i = 1; i <= 3; i++) {
                say(alice, "a" + i);
            }
            Element third = heard(alice, "a3");
            Element sid = third.child("stanza-id", "urn:xmpp:sid:0").orElseThrow();
            assertEquals(ROOM, sid.attributeOrEmpty("by"));
            Element q = Element.of("query", "urn:xmpp:mam:2").withAttribute("queryid", "r").withChild(Element.of("set", MamTest.RSM)
                    .withChild(Element.of("max", MamTest.RSM).withText("2")).withChild(Element.of("before", MamTest.RSM)));
            Element fin = bob.request(iq("set", ROOM, q), Fixture.WAIT).child("fin", "urn:xmpp:mam:2").orElseThrow();
            assertEquals("3", fin.child("set", MamTest.RSM).flatMap(s -> s.childText("count")).orElseThrow());
            Element last = bob.await(e -> e.child("result", "urn:xmpp:mam:2").isPresent()
                    && e.toString().contains("a3"), Duration.ZERO).orElseThrow();
            assertEquals(sid.attributeOrEmpty("id"), last.child("result", "urn:xmpp:mam:2").orElseThrow().attributeOrEmpty("id"));
            assertEquals(ROOM, last.attributeOrEmpty("from"));
            alice.request(configure("muc#roomconfig_membersonly", "1"), Fixture.WAIT);
            XmppException e = assertThrows(XmppException.class, () -> bob.request(iq("set", ROOM, q), Fixture.WAIT));
            assertEquals("forbidden", e.condition());
        }
    }

    @Test
    void withoutGroupChatTheConferenceDomainIsNotServed() throws Exception {
        try (Fixture f = new Fixture(XmppServer.Builder::withoutGroupChat)) {
            XmppClient alice = user(f, "alice");
            XmppException e = assertThrows(XmppException.class,
                    () -> alice.request(iq("get", "conference.example.org", Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT));
            assertEquals("remote-server-not-found", e.condition());
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** XEP-0313 archives of one-to-one chats, with XEP-0059 paging and XEP-0359 stanza ids, over in-memory connections. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MamTest {
    static final String MAM = "urn:xmpp:mam:2";
    static final String RSM = "http://jabber.org/protocol/rsm";

    /** A page: the archived messages (bodies and ids) and the {@code <fin/>}. */
    record Page(List<String> bodies, List<String> ids, Element fin) {
        boolean complete() {
            return fin.attributeOrEmpty("complete").equals("true");
        }

        String count() {
            return fin.child("set", RSM).flatMap(s -> s.childText("count")).orElse("");
        }
    }

    static Page query(XmppClient c, Element rsm, String... form) throws Exception {
        Element q = Element.of("query", MAM).withAttribute("queryid", "q1");
        if (form.length > 0) {
            Element x = Element.of("x", "jabber:x:data").withAttribute("type", "submit").withChild(Element.of("field", "jabber:x:data")
                    .withAttribute("var", "FORM_TYPE").withChild(Element.of("value", "jabber:x:data").withText(MAM)));
            for (int i = 0; i < form.length; i += 2) {
                x = x.withChild(Element.of("field", "jabber:x:data").withAttribute("var", form[i])
                        .withChild(Element.of("value", "jabber:x:data").withText(form[i + 1])));
            }
            q = q.withChild(x);
        }
        if (rsm != null) {
            q = q.withChild(rsm);
        }
        Element result = c.request(Element.of("iq", "jabber:client").withAttribute("type", "set").withChild(q), Fixture.WAIT);
        List<String> bodies = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (var m = c.receive(Duration.ZERO); m.isPresent(); m = c.receive(Duration.ZERO)) {
            Element r = m.get().child("result", MAM).orElse(null);
            if (r == null) {
                continue;
            }
            assertEquals("q1", r.attributeOrEmpty("queryid"));
            ids.add(r.attributeOrEmpty("id"));
            Element fwd = r.child("forwarded", "urn:xmpp:forward:0").orElseThrow();
            assertTrue(fwd.child("delay", "urn:xmpp:delay").isPresent(), fwd.toString());
            bodies.add(fwd.child("message", "jabber:client").orElseThrow().childText("body").orElseThrow());
        }
        return new Page(bodies, ids, result.child("fin", MAM).orElseThrow());
    }

    static Element rsm(int max, String kind, String id) {
        Element set = Element.of("set", RSM).withChild(Element.of("max", RSM).withText(Integer.toString(max)));
        return kind == null ? set : set.withChild(Element.of(kind, RSM).withText(id));
    }

    static void chat(XmppClient from, XmppClient to, String prefix, int n) throws Exception {
        for (int i = 1; i <= n; i++) {
            from.sendMessage(to.jid().bare(), prefix + i);
        }
        String last = prefix + n;
        to.await(e -> e.childText("body").orElse("").equals(last), Fixture.WAIT).orElseThrow();
    }

    @Test
    void anEmptyArchiveIsOneCompletePageOfNothing() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            Element info = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "alice@example.org")
                    .withChild(Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertTrue(info.toString().contains("var='urn:xmpp:mam:2'") && info.toString().contains("var='urn:xmpp:sid:0'"), info.toString());
            Element domain = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("query", "http://jabber.org/protocol/disco#info")), Fixture.WAIT);
            assertTrue(!domain.toString().contains("urn:xmpp:mam:2"), "the domain keeps no archive: " + domain);
            Page p = query(alice, null);
            assertEquals(List.of(), p.bodies());
            assertTrue(p.complete());
            assertEquals("0", p.count());
            Page before = query(alice, rsm(10, "before", ""));
            assertTrue(before.complete() && before.bodies().isEmpty());
        }
    }

    @Test
    void bothSidesArchiveAChatAndTheRecipientsCopyCarriesItsStanzaId() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.byteByByte());
            bob.sendPresence(0);
            alice.sendMessage(Jid.parse("bob@example.org"), "hi bob");
            Element got = bob.await(e -> e.childText("body").orElse("").equals("hi bob"), Fixture.WAIT).orElseThrow();
            Element sid = got.child("stanza-id", "urn:xmpp:sid:0").orElseThrow();
            assertEquals("bob@example.org", sid.attributeOrEmpty("by"));
            Page bobs = query(bob, null);
            assertEquals(List.of("hi bob"), bobs.bodies());
            assertEquals(List.of(sid.attributeOrEmpty("id")), bobs.ids());
            assertEquals(List.of("hi bob"), query(alice, null, "with", "bob@example.org").bodies());
            assertEquals(List.of(), query(alice, null, "with", "carol@example.org").bodies());
            // another user's archive is not theirs to read
            XmppException e = assertThrows(XmppException.class, () -> alice.request(Element.of("iq", "jabber:client")
                    .withAttribute("type", "set").withAttribute("to", "bob@example.org").withChild(Element.of("query", MAM)), Fixture.WAIT));
            assertEquals("forbidden", e.condition());
        }
    }

    @Test
    void pagesForwardEndExactlyOnTheBoundaryAndBackwardFromAnEmptyBefore() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            chat(alice, bob, "m", 10);
            Page first = query(bob, rsm(5, null, null));
            assertEquals(List.of("m1", "m2", "m3", "m4", "m5"), first.bodies());
            assertTrue(!first.complete());
            assertEquals("10", first.count());
            assertEquals("0", first.fin().child("set", RSM).flatMap(s -> s.child("first", RSM)).orElseThrow().attributeOrEmpty("index"));
            Page second = query(bob, rsm(5, "after", first.ids().get(4)));
            assertEquals(List.of("m6", "m7", "m8", "m9", "m10"), second.bodies());
            assertTrue(second.complete(), "the page that ends on the last message is the last");
            Page beyond = query(bob, rsm(5, "after", second.ids().get(4)));
            assertTrue(beyond.bodies().isEmpty() && beyond.complete());
            Page last = query(bob, rsm(3, "before", ""));
            assertEquals(List.of("m8", "m9", "m10"), last.bodies());
            assertTrue(!last.complete());
            Page earlier = query(bob, rsm(3, "before", last.ids().get(0)));
            assertEquals(List.of("m5", "m6", "m7"), earlier.bodies());
            Page start = query(bob, rsm(5, "before", first.ids().get(1)));
            assertEquals(List.of("m1"), start.bodies());
            assertTrue(start.complete());
            for (String kind : List.of("after", "before")) {
                XmppException e = assertThrows(XmppException.class, () -> query(bob, rsm(5, kind, "zzzzzz")));
                assertEquals("item-not-found", e.condition());
            }
        }
    }

    @Test
    void filtersByTimeAndTheRecipientOfflineGetsTheSameIdFromStorage() throws Exception {
        ManualClock clock = ManualClock.at(Instant.parse("2026-03-01T09:00:00Z"));
        try (Fixture f = new Fixture(b -> b.clock(clock))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org"), "early");
            // the answer to a ping sent after it says the server has archived it, at 09:00
            alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            clock.advance(Duration.ofHours(1));
            alice.sendMessage(Jid.parse("bob@example.org"), "late");
            alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.sendPresence(0);
            Element late = bob.await(e -> e.childText("body").orElse("").equals("late"), Fixture.WAIT).orElseThrow();
            Page all = query(bob, null);
            assertEquals(List.of("early", "late"), all.bodies(), "once each, though delivered from offline storage");
            assertEquals(all.ids().get(1), late.child("stanza-id", "urn:xmpp:sid:0").orElseThrow().attributeOrEmpty("id"));
            assertEquals(List.of("late"), query(bob, null, "start", "2026-03-01T09:30:00Z").bodies());
            assertEquals(List.of("early"), query(bob, null, "end", "2026-03-01T09:30:00Z").bodies());
            XmppException bad = assertThrows(XmppException.class, () -> query(bob, null, "start", "yesterday"));
            assertEquals("bad-request", bad.condition());
        }
    }

    @Test
    void preferencesNeverStopArchivingAndSurviveARestart() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try {
            try (Fixture f = new Fixture(dir)) {
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                Element prefs = Element.of("prefs", MAM).withAttribute("default", "always")
                        .withChild(Element.of("never", MAM).withChild(Element.of("jid", MAM).withText("alice@example.org")));
                bob.request(Element.of("iq", "jabber:client").withAttribute("type", "set").withChild(prefs), Fixture.WAIT);
            }
            try (Fixture f = new Fixture(dir)) {
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                bob.sendPresence(0);
                XmppClient carol = f.login("carol", "c", Chunking.whole());
                alice.sendMessage(Jid.parse("bob@example.org"), "not kept");
                carol.sendMessage(Jid.parse("bob@example.org"), "kept");
                bob.await(e -> e.childText("body").orElse("").equals("kept"), Fixture.WAIT).orElseThrow();
                bob.await(e -> e.childText("body").orElse("").equals("not kept"), Fixture.WAIT).orElseThrow();
                assertEquals(List.of("kept"), query(bob, null).bodies());
                assertEquals(List.of("not kept"), query(alice, null).bodies(), "alice's own archive keeps what she sent");
                Element got = bob.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withChild(Element.of("prefs", MAM)), Fixture.WAIT);
                assertTrue(got.toString().contains("alice@example.org"), got.toString());
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void theArchiveKeepsOnlyItsLimitAcrossARestartAndItsFileStaysBounded() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try {
            try (Fixture f = new Fixture(dir, b -> b.archiveLimit(4))) {
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                bob.sendPresence(0);
                chat(alice, bob, "r", 30);
                assertEquals(List.of("r27", "r28", "r29", "r30"), query(bob, null).bodies());
            }
            long lines = Files.readAllLines(dir.resolve("data/mam/bob.log")).size();
            assertTrue(lines <= 5, lines + " lines on disk for a limit of 4");
            try (Fixture f = new Fixture(dir, b -> b.archiveLimit(4))) {
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                assertEquals(List.of("r27", "r28", "r29", "r30"), query(bob, null).bodies());
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aPageWithALineThatIsNotOneMessageFailsRatherThanShiftingTheOthers() throws Exception {
        Path dir = Files.createTempDirectory("twine-xmpp-");
        try {
            List<String> ids;
            try (Fixture f = new Fixture(dir)) {
                XmppClient alice = f.login("alice", "a", Chunking.whole());
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                bob.sendPresence(0);
                chat(alice, bob, "m", 5);
                ids = query(bob, null).ids();
            }
            // the second line's message becomes two: a page holding it cannot say which is which
            Path log = dir.resolve("data/mam/bob.log");
            List<String> lines = new ArrayList<>(Files.readAllLines(log));
            String two = "<message xmlns='jabber:client'><body>x</body></message><message xmlns='jabber:client'><body>y</body></message>";
            String line = lines.get(1);
            lines.set(1, line.substring(0, line.lastIndexOf('\t') + 1)
                    + java.util.Base64.getEncoder().encodeToString(two.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            Files.write(log, lines);
            try (Fixture f = new Fixture(dir)) {
                XmppClient bob = f.login("bob", "b", Chunking.whole());
                XmppException e = assertThrows(XmppException.class, () -> query(bob, rsm(3, null, null)));
                assertEquals("internal-server-error", e.condition());
                assertEquals(List.of("m3", "m4", "m5"), query(bob, rsm(3, "after", ids.get(1))).bodies());
            }
        } finally {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * XEP-0198 §5 resumption over in-memory connections: a dropped stream's session waits detached,
 * a new stream resumes it and gets what was not acknowledged, and an unknown, expired or evicted
 * session fails so the client binds afresh. A manual clock drives the expiry.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResumptionTest {
    private static final String SM = "urn:xmpp:sm:3";
    private static final Pattern ID = Pattern.compile("<enabled xmlns='urn:xmpp:sm:3' id='([0-9a-f]+)' resume='true' max='(\\d+)'/>");

    /** SASL PLAIN on a new raw stream; returns after the post-authentication features. */
    private static Connection authenticate(Fixture f, String user) throws Exception {
        Connection c = f.raw(Chunking.whole());
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        String plain = Base64.getEncoder().encodeToString(("\0" + user + "\0secret-" + user).getBytes());
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
        Fixture.readUntil(c, "</success>");
        Fixture.write(c, Fixture.header());
        String features = Fixture.readUntil(c, "</stream:features>");
        assertTrue(features.contains("<sm xmlns='urn:xmpp:sm:3'/>"), features);
        return c;
    }

    private static void bind(Connection c, String resource) throws Exception {
        Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + resource
                + "</resource></bind></iq>");
        Fixture.readUntil(c, "</iq>");
    }

    /** Binds, enables resumable stream management and sends initial presence; returns the resumption id. */
    private static String loginResumable(Connection c, String resource) throws Exception {
        bind(c, resource);
        Fixture.write(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
        Matcher m = ID.matcher(Fixture.readUntil(c, "/>"));
        assertTrue(m.find(), "no resumable <enabled/>");
        Fixture.write(c, "<presence/>");
        return m.group(1);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Fixture.WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "gave up waiting for " + what);
            Thread.sleep(2);
        }
    }

    @Test
    void enableWithResumeGivesAnIdAndTheShorterOfBothMaxima() throws Exception {
        try (Fixture f = new Fixture(b -> b.resumeTimeout(Duration.ofSeconds(120)))) {
            Connection c = authenticate(f, "alice");
            bind(c, "r");
            Fixture.write(c, "<enable xmlns='urn:xmpp:sm:3' resume='true' max='60'/>");
            Matcher m = ID.matcher(Fixture.readUntil(c, "/>"));
            assertTrue(m.find());
            assertEquals("60", m.group(2));
            Connection d = authenticate(f, "bob");
            bind(d, "r");
            Fixture.write(d, "<enable xmlns='urn:xmpp:sm:3' resume='true' max='600'/>");
            Matcher n = ID.matcher(Fixture.readUntil(d, "/>"));
            assertTrue(n.find());
            assertEquals("120", n.group(2));
            assertFalse(m.group(1).equals(n.group(1)));
        }
    }

    @Test
    void resumptionOffMeansEnabledWithoutId() throws Exception {
        try (Fixture f = new Fixture(b -> b.resumeTimeout(Duration.ZERO))) {
            Connection c = authenticate(f, "alice");
            bind(c, "r");
            Fixture.write(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            assertTrue(Fixture.readUntil(c, "/>").contains("<enabled xmlns='urn:xmpp:sm:3'/>"));
        }
    }

    @Test
    void droppedStreamIsResumedAndUnacknowledgedStanzasAreSentAgain() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection bob = authenticate(f, "bob");
            String id = loginResumable(bob, "phone");
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "one");
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "two");
            Fixture.readUntil(bob, "two</body>");
            bob.close(); // no </stream:stream>: the connection just drops
            await(() -> f.server.detachedSessionCount() == 1, "bob's session to detach");
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "three"); // while bob is away
            assertEquals(2, f.server.sessionCount()); // bob is still there for everyone else

            Connection again = authenticate(f, "bob");
            // bob's client had handled his own presence and "one" only
            Fixture.write(again, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='2'/>");
            String out = Fixture.readUntil(again, "three</body>"); // the archive stamps a stanza-id after the body
            // the server had handled one stanza of bob's (his presence)
            assertTrue(out.startsWith("<resumed xmlns='urn:xmpp:sm:3' h='1' previd='" + id + "'/>"), out);
            assertFalse(out.contains(">one<"), out);
            assertTrue(out.indexOf(">two<") < out.indexOf(">three<"), out);
            await(() -> f.server.detachedSessionCount() == 0, "the old connection's wait to end");

            // the resumed stream is bound as before: messages and acks keep working
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "four");
            Fixture.readUntil(again, "four</body>");
            Fixture.write(again, "<r xmlns='urn:xmpp:sm:3'/>");
            assertTrue(Fixture.readUntil(again, "/>").contains("<a xmlns='urn:xmpp:sm:3' h='1'/>"));
        }
    }

    @Test
    void resumingWhileTheOldStreamIsStillOpenTakesItOver() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection bob = authenticate(f, "bob");
            String id = loginResumable(bob, "phone");
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "unacked");
            Fixture.readUntil(bob, "unacked</body>");
            // the server has not seen the old connection drop yet
            Connection again = authenticate(f, "bob");
            Fixture.write(again, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
            assertTrue(Fixture.readUntil(again, "unacked</body>").startsWith("<resumed xmlns='urn:xmpp:sm:3' h='1'"));
            assertTrue(Fixture.readToEnd(bob).contains("<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "after");
            Fixture.readUntil(again, "after</body>");
            assertEquals(2, f.server.sessionCount());
        }
    }

    @Test
    void unknownIdFailsWithItemNotFoundAndTheClientBindsNormally() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = authenticate(f, "alice");
            Fixture.write(c, "<resume xmlns='urn:xmpp:sm:3' previd='0123456789abcdef' h='0'/>");
            String out = Fixture.readUntil(c, "</failed>");
            assertTrue(out.contains("<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"), out);
            bind(c, "r");
            assertEquals(1, f.server.sessionCount());
        }
    }

    @Test
    void anotherUserCannotResumeASession() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection bob = authenticate(f, "bob");
            String id = loginResumable(bob, "phone");
            bob.close();
            await(() -> f.server.detachedSessionCount() == 1, "bob's session to detach");
            Connection carol = authenticate(f, "carol");
            Fixture.write(carol, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
            assertTrue(Fixture.readUntil(carol, "</failed>").contains("<item-not-found"));
            assertEquals(1, f.server.detachedSessionCount());
        }
    }

    @Test
    void expiredSessionEndsUnacknowledgedMessagesGoOfflineAndItCannotBeResumed() throws Exception {
        ManualClock clock = ManualClock.create();
        try (Fixture f = new Fixture(b -> b.clock(clock).resumeTimeout(Duration.ofSeconds(60)))) {
            Connection bob = authenticate(f, "bob");
            String id = loginResumable(bob, "phone");
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "never acked");
            Fixture.readUntil(bob, "never acked</body>");
            bob.close();
            await(() -> f.server.detachedSessionCount() == 1, "bob's session to detach");
            clock.advance(Duration.ofSeconds(59));
            assertEquals(2, f.server.sessionCount());
            clock.advance(Duration.ofSeconds(2));
            await(() -> f.server.sessionCount() == 1, "bob's session to end");
            assertEquals(0, f.server.detachedSessionCount());
            await(() -> java.nio.file.Files.exists(f.dir.resolve("data/offline/bob.xml")), "the offline store file");

            Connection late = authenticate(f, "bob");
            Fixture.write(late, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
            assertTrue(Fixture.readUntil(late, "</failed>").contains("<item-not-found"));
            bind(late, "laptop");
            Fixture.write(late, "<presence/>");
            String out = Fixture.readUntil(late, "never acked</body>");
            assertTrue(out.contains("<delay xmlns='urn:xmpp:delay'"), out); // from offline storage
        }
    }

    @Test
    void expiredSessionIsAnnouncedUnavailableAndItsMessagesGoToTheOtherResource() throws Exception {
        ManualClock clock = ManualClock.create();
        try (Fixture f = new Fixture(b -> b.clock(clock).resumeTimeout(Duration.ofSeconds(30)))) {
            XmppClient laptop = f.login("bob", "laptop", Chunking.whole());
            laptop.sendPresence(0);
            Connection phone = authenticate(f, "bob");
            loginResumable(phone, "phone");
            laptop.await(e -> e.name().equals("presence") && e.attributeOrEmpty("from").equals("bob@example.org/phone"),
                    Fixture.WAIT).orElseThrow();
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "for the phone");
            Fixture.readUntil(phone, "for the phone</body>");
            phone.close();
            await(() -> f.server.detachedSessionCount() == 1, "the phone's session to detach");
            clock.advance(Duration.ofSeconds(31));
            // RFC 6121 §4.5.2: the user's other resources (and contacts) see the resource go
            Element gone = laptop.await(e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals("unavailable"),
                    Fixture.WAIT).orElseThrow();
            assertEquals("bob@example.org/phone", gone.attributeOrEmpty("from"));
            // RFC 6121 §8.5.3.2.1: a chat message for a resource that went away goes to the bare JID
            Element m = laptop.await(e -> e.childText("body").orElse("").equals("for the phone"), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org/a", m.attributeOrEmpty("from"));
        }
    }

    @Test
    void stoppingTheServerEndsDetachedSessionsAndKeepsTheirMessages() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection bob = authenticate(f, "bob");
            loginResumable(bob, "phone");
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "keep me");
            Fixture.readUntil(bob, "keep me</body>");
            bob.close();
            await(() -> f.server.detachedSessionCount() == 1, "bob's session to detach");
            f.server.close(); // 300 s of resumption left, but the server is stopping
            await(() -> f.server.sessionCount() == 1, "bob's session to end");
            assertEquals(0, f.server.detachedSessionCount());
            await(() -> java.nio.file.Files.exists(f.dir.resolve("data/offline/bob.xml")), "the offline store file");
            XmppClient later = f.login("bob", "laptop", Chunking.whole());
            later.sendPresence(0);
            Element m = later.await(e -> e.childText("body").orElse("").equals("keep me"), Fixture.WAIT).orElseThrow();
            assertTrue(m.child("delay", "urn:xmpp:delay").isPresent()); // from offline storage
        }
    }

    @Test
    void detachedSessionsAreBoundedAndTheOldestEndsFirst() throws Exception {
        try (Fixture f = new Fixture(b -> b.maxDetachedSessions(1))) {
            Connection first = authenticate(f, "alice");
            String firstId = loginResumable(first, "one");
            Connection second = authenticate(f, "alice");
            String secondId = loginResumable(second, "two");
            first.close();
            await(() -> f.server.detachedSessionCount() == 1, "the first session to detach");
            second.close();
            await(() -> f.server.sessionCount() == 1, "the first session to end");
            assertEquals(1, f.server.detachedSessionCount());

            Connection a = authenticate(f, "alice");
            Fixture.write(a, "<resume xmlns='urn:xmpp:sm:3' previd='" + firstId + "' h='0'/>");
            assertTrue(Fixture.readUntil(a, "</failed>").contains("<item-not-found"));
            Connection b = authenticate(f, "alice");
            Fixture.write(b, "<resume xmlns='urn:xmpp:sm:3' previd='" + secondId + "' h='0'/>");
            assertTrue(Fixture.readUntil(b, "/>").startsWith("<resumed "));
        }
    }

    @Test
    void tooManyUnacknowledgedStanzasEndTheStreamAndNothingIsLost() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection bob = authenticate(f, "bob");
            loginResumable(bob, "phone");
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            int n = 520; // more than the 500 the server keeps per session
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    Fixture.readToEnd(bob); // bob reads but never acks
                } catch (Exception ignored) {
                    // the stream ends
                }
            });
            for (int i = 0; i < n; i++) {
                alice.sendMessage(Jid.parse("bob@example.org/phone"), "m" + i);
            }
            await(() -> f.server.sessionCount() == 1, "bob's session to end");
            reader.join();
            // the server has routed all of alice's messages once it answers her ping
            alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            assertEquals(0, f.server.detachedSessionCount()); // it cannot be resumed

            // every message reaches bob's next session: from offline storage, or directly if it
            // was still being handed on when he came back
            XmppClient later = f.login("bob", "laptop", Chunking.whole());
            later.sendPresence(0);
            java.util.Set<String> missing = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) {
                missing.add("m" + i);
            }
            while (!missing.isEmpty()) {
                Element m = later.await(e -> e.name().equals("message"), Fixture.WAIT).orElseThrow();
                missing.remove(m.childText("body").orElse(""));
            }
        }
    }

    @Test
    void ackForMoreThanWasSentIsAStreamError() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = authenticate(f, "alice");
            loginResumable(c, "r"); // the server has sent one stanza since: alice's own presence
            Fixture.readUntil(c, "<presence");
            Fixture.write(c, "<a xmlns='" + SM + "' h='2'/>");
            String out = Fixture.readToEnd(c);
            assertTrue(out.contains("<undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), out);
        }
    }

    @Test
    void repeatedAckChangesNothingAndAnOutOfRangeHIsAStreamError() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = authenticate(f, "alice");
            loginResumable(c, "r");
            Fixture.readUntil(c, "<presence");
            Fixture.write(c, "<a xmlns='" + SM + "' h='1'/><a xmlns='" + SM + "' h='1'/><r xmlns='" + SM + "'/>");
            assertTrue(Fixture.readUntil(c, "/>").contains("<a xmlns='urn:xmpp:sm:3' h='1'/>"));
            Fixture.write(c, "<a xmlns='" + SM + "' h='4294967296'/>"); // h is an unsigned 32-bit count
            assertTrue(Fixture.readToEnd(c).contains("<undefined-condition"));
        }
    }

    @Test
    void resumeAfterBindingAndEnableBeforeBindingAreUnexpected() throws Exception {
        try (Fixture f = new Fixture()) {
            Connection c = authenticate(f, "alice");
            Fixture.write(c, "<enable xmlns='" + SM + "' resume='true'/>");
            assertTrue(Fixture.readUntil(c, "</failed>").contains("<unexpected-request"));
            bind(c, "r");
            Fixture.write(c, "<resume xmlns='" + SM + "' previd='00' h='0'/>");
            assertTrue(Fixture.readUntil(c, "</failed>").contains("<unexpected-request"));
        }
    }

    @Test
    void failedResumeOfATimedOutSessionCarriesItsH() throws Exception {
        ManualClock clock = ManualClock.create();
        try (Fixture f = new Fixture(b -> b.clock(clock).resumeTimeout(Duration.ofSeconds(60)))) {
            Connection bob = authenticate(f, "bob");
            String id = loginResumable(bob, "phone"); // handled: bob's presence
            Fixture.write(bob, "<message to='alice@example.org'><body>one</body></message><r xmlns='urn:xmpp:sm:3'/>");
            assertTrue(Fixture.readUntil(bob, "h='2'/>").contains("<a xmlns='urn:xmpp:sm:3' h='2'/>"));
            bob.close();
            await(() -> f.server.detachedSessionCount() == 1, "bob's session to detach");
            clock.advance(Duration.ofSeconds(61));
            await(() -> f.server.sessionCount() == 0, "bob's session to end");

            Connection late = authenticate(f, "bob");
            Fixture.write(late, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
            String out = Fixture.readUntil(late, "</failed>");
            // XEP-0198 §5: the client learns that both its stanzas arrived, and need not send them again
            assertTrue(out.contains("<failed xmlns='urn:xmpp:sm:3' h='2'><item-not-found"), out);
            // another user asking about the same id learns nothing
            Connection carol = authenticate(f, "carol");
            Fixture.write(carol, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
            String other = Fixture.readUntil(carol, "</failed>");
            assertTrue(other.contains("<failed xmlns='urn:xmpp:sm:3'><item-not-found"), other);
        }
    }

    @Test
    void enabledCarriesTheConfiguredLocationOnlyWhenResumable() throws Exception {
        try (Fixture f = new Fixture(b -> b.resumeLocation("node2.example.org:5222"))) {
            Connection c = authenticate(f, "alice");
            bind(c, "r");
            Fixture.write(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            String enabled = Fixture.readUntil(c, "/>");
            assertTrue(enabled.contains(" resume='true' max='300' location='node2.example.org:5222'/>"), enabled);
            Connection d = authenticate(f, "bob");
            bind(d, "r");
            Fixture.write(d, "<enable xmlns='urn:xmpp:sm:3'/>");
            assertTrue(Fixture.readUntil(d, "/>").contains("<enabled xmlns='urn:xmpp:sm:3'/>"));
        }
        try (Fixture f = new Fixture()) {
            Connection c = authenticate(f, "alice");
            bind(c, "r");
            Fixture.write(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            assertTrue(!Fixture.readUntil(c, "/>").contains("location="));
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> XmppServer.builder().resumeLocation("node2 'x'"));
    }
}

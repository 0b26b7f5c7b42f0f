package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 10, finding 7: routing never blocks one user on another. A recipient that stops reading
 * fills its own bounded queue and is closed; its sender goes on at once, and no message is lost.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SlowRecipientTest {
    private static final int MESSAGES = 60;
    private static final Pattern BODY = Pattern.compile("m-(\\d+)-x");

    /** Logs bob in on a raw stream and binds resource r; from then on the test never reads it. */
    static void bindRaw(Connection c, String user) throws Exception {
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        Fixture.write(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                + Base64.getEncoder().encodeToString(("\0" + user + "\0secret-" + user).getBytes(StandardCharsets.UTF_8)) + "</auth>");
        assertTrue(Fixture.readUntil(c, "</success>").contains("<success"));
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        Fixture.write(c, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
        assertTrue(Fixture.readUntil(c, "</iq>").contains("bob@example.org/r"));
    }

    @Test
    void aResumableRecipientThatStopsReadingIsEndedNotKeptAndItsUnackedMessagesGoOffline() throws Exception {
        try (Fixture f = new Fixture(b -> b.writeTimeout(Duration.ZERO).outboundQueue(10, 1 << 20))) {
            MemoryConnections.Served bob = f.served(Chunking.whole());
            bindRaw(bob.client(), "bob");
            Fixture.write(bob.client(), "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
            assertTrue(Fixture.readUntil(bob.client(), "/>").contains("<enabled"));
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            String pad = "x".repeat(8000);
            for (int i = 0; i < MESSAGES; i++) {
                alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/r")
                        .withAttribute("type", "chat").withChild(Element.of("body", "jabber:client").withText("m-" + i + "-" + pad)));
            }
            Element pong = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            assertEquals("result", pong.attributeOrEmpty("type"));
            Fixture.readToEnd(bob.client());
            assertTrue(bob.awaitHandler(Fixture.WAIT).isEmpty(), "bob's session ended without an error");
            assertEquals(0, f.server.detachedSessionCount(), "a client that did not read is not kept for resumption");

            // XEP-0198: bob acknowledged nothing, so every message, read from the pipe or not, is offline
            XmppClient bob2 = f.login("bob", "r2", Chunking.whole());
            bob2.sendPresence(0);
            Set<Integer> offline = new TreeSet<>();
            long end = System.nanoTime() + Fixture.WAIT.toNanos();
            while (offline.size() < MESSAGES && System.nanoTime() < end) {
                var e = bob2.receive(Duration.ofMillis(200));
                if (e.isPresent() && e.get().name().equals("message")) {
                    Matcher mm = BODY.matcher(e.get().childText("body").orElse(""));
                    if (mm.find()) {
                        offline.add(Integer.parseInt(mm.group(1)));
                    }
                }
            }
            assertEquals(MESSAGES, offline.size(), "unacknowledged messages delivered offline");
        }
    }

    @Test
    void aRecipientThatStopsReadingNeverStallsItsSenderAndLosesNoMessage() throws Exception {
        // no write timeout at all: only the queue bound can end the stuck recipient
        try (Fixture f = new Fixture(b -> b.writeTimeout(Duration.ZERO).outboundQueue(10, 1 << 20))) {
            MemoryConnections.Served bob = f.served(Chunking.whole());
            bindRaw(bob.client(), "bob");
            // from here on bob reads nothing: the in-memory pipe holds 256 KiB, then writes to it block
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            String pad = "x".repeat(8000);
            for (int i = 0; i < MESSAGES; i++) {
                alice.send(Element.of("message", "jabber:client").withAttribute("to", "bob@example.org/r")
                        .withAttribute("type", "chat").withChild(Element.of("body", "jabber:client").withText("m-" + i + "-" + pad)));
            }
            // alice's own stream still answers her: nothing she sent waited on bob's socket
            Element pong = alice.request(Element.of("iq", "jabber:client").withAttribute("type", "get").withAttribute("to", "example.org")
                    .withChild(Element.of("ping", "urn:xmpp:ping")), Fixture.WAIT);
            assertEquals("result", pong.attributeOrEmpty("type"));

            // bob's stream was closed by the server: what it had written is readable, then the end
            String got = Fixture.readToEnd(bob.client());
            assertTrue(bob.awaitHandler(Fixture.WAIT).isEmpty(), "bob's session ended without an error");
            Set<Integer> seen = new TreeSet<>();
            Matcher m = BODY.matcher(got);
            while (m.find()) {
                seen.add(Integer.parseInt(m.group(1)));
            }
            int readRaw = seen.size();
            assertTrue(readRaw < MESSAGES, "bob cannot have read everything: " + readRaw);

            // every message bob did not get is waiting offline (RFC 6121 §8.5.3.2.1, §8.5.2.2.2)
            XmppClient bob2 = f.login("bob", "r2", Chunking.whole());
            bob2.sendPresence(0);
            long end = System.nanoTime() + Fixture.WAIT.toNanos();
            while (seen.size() < MESSAGES && System.nanoTime() < end) {
                var e = bob2.receive(Duration.ofMillis(200));
                if (e.isPresent() && e.get().name().equals("message")) {
                    Matcher mm = BODY.matcher(e.get().childText("body").orElse(""));
                    if (mm.find()) {
                        seen.add(Integer.parseInt(mm.group(1)));
                    }
                }
            }
            Set<Integer> missing = new TreeSet<>();
            for (int i = 0; i < MESSAGES; i++) {
                if (!seen.contains(i)) {
                    missing.add(i);
                }
            }
            assertEquals(Set.of(), missing, "neither read by bob nor delivered offline; raw read " + readRaw
                    + ", ends with " + got.substring(Math.max(0, got.length() - 200)));
        }
    }
}

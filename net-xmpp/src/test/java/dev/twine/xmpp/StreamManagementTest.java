package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** XEP-0198 acks without resumption: counting both ways, and unacked messages rerouted when a client vanishes. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamManagementTest {
    private static final String SM = "urn:xmpp:sm:3";

    @Test
    void serverCountsHandledStanzasAndAnswersAckRequests() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "a", Chunking.byteByByte());
            alice.send(Element.of("enable", SM));
            assertTrue(alice.await(e -> e.is("enabled", SM), Fixture.WAIT).isPresent());
            for (int i = 0; i < 3; i++) {
                alice.sendMessage(alice.jid(), "n" + i);
            }
            alice.send(Element.of("r", SM));
            Element a = alice.await(e -> e.is("a", SM), Fixture.WAIT).orElseThrow();
            assertEquals("3", a.attributeOrEmpty("h"));
        }
    }

    @Test
    void unacknowledgedMessageOfAVanishedClientGoesToOfflineStorage() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "phone", Chunking.whole());
            bob.send(Element.of("enable", SM));
            bob.await(e -> e.is("enabled", SM), Fixture.WAIT).orElseThrow();
            bob.sendPresence(0);
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org"), "did you get this?");
            assertTrue(bob.await(e -> e.childText("body").orElse("").equals("did you get this?"), Fixture.WAIT).isPresent());
            // bob never acks, and his connection drops without </stream:stream>
            bob.abort();
            long end = System.nanoTime() + Fixture.WAIT.toNanos();
            while (f.server.sessionCount() > 1 && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            XmppClient again = f.login("bob", "laptop", Chunking.whole());
            again.sendPresence(0);
            Element m = again.await(e -> e.childText("body").orElse("").equals("did you get this?"), Fixture.WAIT).orElseThrow();
            assertEquals("alice@example.org/a", m.attributeOrEmpty("from"));
        }
    }

    @Test
    void acknowledgedMessagesAreNotRedelivered() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient bob = f.login("bob", "phone", Chunking.whole());
            bob.send(Element.of("enable", SM));
            bob.await(e -> e.is("enabled", SM), Fixture.WAIT).orElseThrow();
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            alice.sendMessage(Jid.parse("bob@example.org/phone"), "got it");
            bob.await(e -> e.childText("body").orElse("").equals("got it"), Fixture.WAIT).orElseThrow();
            bob.send(Element.of("a", SM).withAttribute("h", "1"));
            bob.send(Element.of("r", SM));
            bob.await(e -> e.is("a", SM), Fixture.WAIT).orElseThrow(); // the server has read our ack
            bob.abort();
            long end = System.nanoTime() + Fixture.WAIT.toNanos();
            while (f.server.sessionCount() > 1 && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            XmppClient again = f.login("bob", "laptop", Chunking.whole());
            again.sendPresence(0);
            assertTrue(again.await(e -> e.childText("body").orElse("").equals("got it"), java.time.Duration.ofMillis(500)).isEmpty());
        }
    }
}

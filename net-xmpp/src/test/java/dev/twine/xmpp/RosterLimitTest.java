package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 10, finding 9: a roster cannot grow past the server's limit, by roster sets or by subscription requests. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RosterLimitTest {
    @Test
    void aRosterSetPastTheLimitIsResourceConstraintAndChangesNothing() throws Exception {
        try (Fixture f = new Fixture(b -> b.rosterLimit(3))) {
            XmppClient alice = f.login("alice", "a", Chunking.whole());
            for (int i = 0; i < 3; i++) {
                alice.rosterSet(Jid.parse("c" + i + "@example.net"), "C" + i, List.of(), Fixture.WAIT);
            }
            XmppException e = assertThrows(XmppException.class,
                    () -> alice.rosterSet(Jid.parse("c3@example.net"), "C3", List.of(), Fixture.WAIT));
            assertEquals("resource-constraint", e.condition());
            assertEquals(3, alice.roster(Fixture.WAIT).size());
            // an item already there can still be changed
            alice.rosterSet(Jid.parse("c0@example.net"), "renamed", List.of(), Fixture.WAIT);
            assertTrue(alice.roster(Fixture.WAIT).stream().anyMatch(r -> r.name().equals("renamed")));
        }
    }

    @Test
    void aSubscriptionRequestToAFullRosterIsRefusedAndNotStored() throws Exception {
        try (Fixture f = new Fixture(b -> b.rosterLimit(2))) {
            XmppClient bob = f.login("bob", "b", Chunking.whole());
            bob.rosterSet(Jid.parse("x@example.net"), "X", List.of(), Fixture.WAIT);
            bob.rosterSet(Jid.parse("y@example.net"), "Y", List.of(), Fixture.WAIT);
            bob.sendPresence(0);
            XmppClient carol = f.login("carol", "c", Chunking.whole());
            carol.sendSubscription(Jid.parse("bob@example.org"), "subscribe");
            Element err = carol.await(e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals("error"), Fixture.WAIT)
                    .orElseThrow();
            assertTrue(err.toXml().contains("resource-constraint"), err.toXml());
            assertTrue(bob.await(e -> e.name().equals("presence") && e.attributeOrEmpty("type").equals("subscribe"), ImTest.SHORT)
                    .isEmpty(), "bob must not be asked: the request was not stored");
            assertEquals(2, bob.roster(Fixture.WAIT).size());
        }
    }
}

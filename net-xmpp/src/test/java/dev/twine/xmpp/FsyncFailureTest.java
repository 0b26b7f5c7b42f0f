package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.FsyncFailures;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A failing {@code fsync} (issue 16's fault injection where {@code kill -9} cannot reach): with
 * {@link FsyncFailures} making every force under the data directory throw, a message to an
 * offline user comes back to its sender as an {@code internal-server-error} message error and
 * a roster change as an {@code internal-server-error} IQ error; nothing is reported stored: the
 * offline user finds no message at the next login, and the roster is as before.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FsyncFailureTest {
    private static final Element PING = Element.of("iq", "jabber:client").withAttribute("type", "get")
            .withAttribute("to", "example.org").withChild(Element.of("ping", "urn:xmpp:ping"));

    @Test
    void offlineStorageAndRosterAnswerAnErrorWhenTheDataCannotBeForced() throws Exception {
        try (Fixture f = new Fixture()) {
            XmppClient alice = f.login("alice", "r", Chunking.whole());
            try (FsyncFailures failing = FsyncFailures.under(f.dir.resolve("data"))) {
                alice.sendMessage(ImTest.BOB, "never acknowledged");
                Element error = alice.await(e -> e.name().equals("message") && e.attributeOrEmpty("type").equals("error"), Fixture.WAIT)
                        .orElseThrow(() -> new AssertionError("no error for the message that could not be stored"));
                assertTrue(error.toXml().contains("internal-server-error"), error.toXml());
                XmppException refused = org.junit.jupiter.api.Assertions.assertThrows(XmppException.class,
                        () -> alice.rosterSet(ImTest.BOB, "Bob", List.of(), Fixture.WAIT));
                assertEquals("internal-server-error", refused.condition());
                assertTrue(failing.failures() >= 2, "both writes reached the injected failure");
            }
            assertFalse(Files.exists(f.dir.resolve("data/offline/bob.xml")), "an offline message file was left");
            assertEquals(List.of(), alice.roster(Fixture.WAIT), "the refused roster change is not there");
            XmppClient bob = f.login("bob", "r", Chunking.whole());
            bob.sendPresence(0);
            bob.request(PING, Fixture.WAIT); // offline messages go out at the available presence, before this result
            for (Optional<Element> e; (e = bob.receive(Duration.ofMillis(200))).isPresent(); ) {
                assertFalse(e.get().toXml().contains("never acknowledged"), "bob got the refused message: " + e.get().toXml());
            }
        }
    }
}

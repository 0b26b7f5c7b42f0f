package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The tickets example against swaks: a ticket for tickets@, and 550 5.1.1 for anyone else. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MailToTicketsTest {

    @Test
    void swaksOpensATicketAndIsRefusedForAnotherRecipient() throws Exception {
        String swaks = ExamplePeers.require("/usr/bin/swaks");
        List<String> tickets = new CopyOnWriteArrayList<>();
        try (Service server = MailToTickets.start("tcp:0:interface=127.0.0.1", tickets::add)) {
            String at = "127.0.0.1:" + server.bindings().get(0).port();
            ExamplePeers.Run sent = ExamplePeers.run(List.of(swaks, "--server", at, "--from", "alice@example.org",
                    "--to", "tickets@tickets.test", "--header", "Subject: Printer on fire", "--body", "It smokes."),
                    null, Duration.ofSeconds(60));
            assertEquals(0, sent.exit(), sent.toString());
            assertEquals(List.of("ticket from alice@example.org: Printer on fire"), tickets);

            ExamplePeers.Run refused = ExamplePeers.run(List.of(swaks, "--server", at, "--from", "alice@example.org",
                    "--to", "bob@tickets.test", "--header", "Subject: hello"), null, Duration.ofSeconds(60));
            assertNotEquals(0, refused.exit(), refused.toString());
            assertTrue(refused.out().contains("<** 550 5.1.1 <bob@tickets.test>: no such mailbox"), refused.toString());
            assertEquals(1, tickets.size(), "no ticket for a refused message");
        }
    }
}

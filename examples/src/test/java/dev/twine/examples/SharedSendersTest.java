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

/** The shared-senders example against swaks: alice sends as support@, and not as ceo@. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedSendersTest {

    private static List<String> swaks(String swaks, String at, String from) {
        return List.of(swaks, "--server", at, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret",
                "--from", from, "--to", "someone@example.org", "--header", "From: " + from);
    }

    @Test
    void swaksSendsAsASharedAddressAndIsRefusedForOneNotGranted() throws Exception {
        String swaks = ExamplePeers.require("/usr/bin/swaks");
        List<String> sent = new CopyOnWriteArrayList<>();
        try (Service server = SharedSenders.start("tcp:0:interface=127.0.0.1", sent::add)) {
            String at = "127.0.0.1:" + server.bindings().get(0).port();
            ExamplePeers.Run shared = ExamplePeers.run(swaks(swaks, at, "support@team.test"), null, Duration.ofSeconds(60));
            assertEquals(0, shared.exit(), shared.toString());
            ExamplePeers.Run own = ExamplePeers.run(swaks(swaks, at, "alice@team.test"), null, Duration.ofSeconds(60));
            assertEquals(0, own.exit(), own.toString());
            assertEquals(List.of("from support@team.test by alice to someone@example.org",
                    "from alice@team.test by alice to someone@example.org"), sent);

            ExamplePeers.Run refused = ExamplePeers.run(swaks(swaks, at, "ceo@team.test"), null, Duration.ofSeconds(60));
            assertNotEquals(0, refused.exit(), refused.toString());
            assertTrue(refused.out().contains("<** 553 5.7.1 <ceo@team.test>: Sender address rejected: not owned by user alice"),
                    refused.toString());
            assertEquals(2, sent.size(), "nothing sent as ceo@");
        }
    }
}

package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.testing.Chunking;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 10 (SASL guessing, with the shared auth policy): a stream is closed after the policy's
 * failures (RFC 6120 §6.4.5, {@code <policy-violation/>}), and an address that keeps guessing is
 * refused with {@code <temporary-auth-failure/>} even when it finally sends the right password.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SaslPolicyTest {
    /** No delays (the core's tests cover them), 3 failures per stream, 5 per address in 10 minutes. */
    private static AuthPolicy policy() {
        return AuthPolicy.builder().failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO).maxFailuresPerConnection(3)
                .addressPenalty(5, Duration.ofMinutes(10), Duration.ofMinutes(5))
                .userPenalty(0, Duration.ZERO, Duration.ZERO).build();
    }

    private static String plain(String user, String password) {
        return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                + Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8)) + "</auth>";
    }

    private static Connection open(Fixture f) throws Exception {
        Connection c = f.raw(Chunking.whole());
        Fixture.write(c, Fixture.header());
        Fixture.readUntil(c, "</stream:features>");
        return c;
    }

    @Test
    void threeFailuresCloseTheStreamAndAGuessingAddressIsRefusedEvenWithTheRightPassword() throws Exception {
        try (Fixture f = new Fixture(b -> b.authPolicy(policy()))) {
            Connection first = open(f);
            for (int i = 0; i < 2; i++) {
                Fixture.write(first, plain("alice", "guess-" + i));
                assertTrue(Fixture.readUntil(first, "</failure>").contains("<not-authorized/>"));
            }
            Fixture.write(first, plain("alice", "guess-2"));
            String end = Fixture.readToEnd(first);
            assertTrue(end.contains("<not-authorized/></failure>"), end);
            assertTrue(end.contains("<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), end);

            // two more from the same address make five: the address is penalised
            Connection second = open(f);
            for (int i = 3; i < 5; i++) {
                Fixture.write(second, plain("alice", "guess-" + i));
                assertTrue(Fixture.readUntil(second, "</failure>").contains("<not-authorized/>"));
            }
            Fixture.write(second, plain("alice", "secret-alice"));
            String refused = Fixture.readUntil(second, "</failure>");
            assertTrue(refused.contains("<temporary-auth-failure/>"), refused);
            assertFalse(refused.contains("<success"), refused);
        }
    }

    @Test
    void aFailureThenTheRightPasswordLogsIn() throws Exception {
        try (Fixture f = new Fixture(b -> b.authPolicy(policy()))) {
            Connection c = open(f);
            Fixture.write(c, plain("alice", "typo"));
            assertTrue(Fixture.readUntil(c, "</failure>").contains("<not-authorized/>"));
            Fixture.write(c, plain("alice", "secret-alice"));
            assertTrue(Fixture.readUntil(c, "</success>").contains("<success"));
        }
    }
}

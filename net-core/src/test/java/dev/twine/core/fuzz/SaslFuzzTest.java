package dev.twine.core.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.core.auth.StoredSecret;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * SASL PLAIN, LOGIN and SCRAM (RFC 4616, RFC 5802) server sides on arbitrary client responses
 * (issue 16), as every protocol drives them. If a client sends anything, then each step returns
 * a challenge or throws {@link AuthenticationException} (the documented refusal, answered as a
 * failed login), nothing else; an exchange that completes names a known user, and a PLAIN or
 * LOGIN exchange completes only with that user's password among the client's bytes.
 */
class SaslFuzzTest {
    private static final Map<String, StoredSecret> USERS = Map.of(
            "alice", new StoredSecret.Plain("secret"),
            "carol", StoredSecret.Scram.derive("scram-secret", new byte[] {7, 7, 7, 7}, 4096));
    private static final Portal PORTAL = Portal.builder().users(name -> Optional.ofNullable(USERS.get(name))).build();

    @FuzzTest(maxDuration = "10m")
    void eachStepChallengesOrRefuses(FuzzedDataProvider data) {
        List<String> mechanisms = PORTAL.saslMechanisms();
        SaslExchange exchange = PORTAL.sasl(data.pickValue(mechanisms));
        StringBuilder sent = new StringBuilder();
        for (int step = 0; step < 4 && !exchange.isComplete(); step++) {
            byte[] response = data.consumeBytes(300);
            sent.append(new String(response, java.nio.charset.StandardCharsets.UTF_8)).append('\n');
            try {
                assertNotNull(exchange.evaluate(response));
            } catch (AuthenticationException refused) {
                return;
            }
        }
        if (exchange.isComplete()) {
            String user = exchange.principal().name();
            StoredSecret secret = USERS.get(user);
            assertNotNull(secret, "completed for an unknown user " + user);
            assertEquals(user, exchange.username().orElseThrow());
            if (secret instanceof StoredSecret.Plain plain && !exchange.mechanism().startsWith("SCRAM")) {
                assertEquals(true, sent.toString().contains(plain.password()), "logged in without the password");
            }
        }
    }
}

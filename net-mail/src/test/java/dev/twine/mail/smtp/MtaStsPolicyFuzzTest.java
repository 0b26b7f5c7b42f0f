package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * MTA-STS policy parsing (RFC 8461 §3.2) on arbitrary text: what any recipient domain's policy
 * host serves (up to 64 KiB), read before the relay queue sends there. If a host serves anything,
 * then it parses to a policy or fails with an {@link IOException} (the domain then has none), and
 * never another exception; a policy has a mode, a {@code max_age} of at most a year, and at least
 * one {@code mx} pattern unless its mode is none.
 */
class MtaStsPolicyFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void anyPolicyTextParsesOrIsAnIOException(byte[] input) {
        try {
            MtaSts.Policy p = MtaSts.parse("id1", new String(input, StandardCharsets.UTF_8), Instant.EPOCH);
            assertTrue(p.mode() != null && p.maxAge().toSeconds() <= 31_557_600, p::toString);
            assertTrue(p.mode() == MtaSts.Mode.NONE || !p.mx().isEmpty(), p::toString);
        } catch (IOException noPolicy) {
            // malformed: the domain has no usable policy
        }
    }
}

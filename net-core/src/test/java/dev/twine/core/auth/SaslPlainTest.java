package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SaslPlainTest {

    private final Map<String, StoredSecret> users = Map.of(
            "alice", new StoredSecret.Plain("secret"),
            "carol", StoredSecret.Scram.derive("scram-secret", new byte[] {7, 7, 7, 7}, 4096),
            "dave", new StoredSecret.Plain("pass word"));

    private final Portal portal = Portal.builder()
            .users(name -> Optional.ofNullable(users.get(name)))
            .build();

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void acceptsCorrectPasswordWithoutAuthzid() throws Exception {
        SaslExchange exchange = portal.sasl("PLAIN");
        assertArrayEquals(new byte[0], exchange.evaluate(bytes("\0alice\0secret")));
        assertTrue(exchange.isComplete());
        assertEquals(new Principal("alice", "PLAIN"), exchange.principal());
    }

    @Test
    void acceptsAuthzidEqualToAuthcid() throws Exception {
        SaslExchange exchange = portal.sasl("PLAIN");
        exchange.evaluate(bytes("alice\0alice\0secret"));
        assertEquals("alice", exchange.principal().name());
    }

    @Test
    void acceptsCorrectPasswordAgainstScramSecret() throws Exception {
        SaslExchange exchange = portal.sasl("PLAIN");
        exchange.evaluate(bytes("\0carol\0scram-secret"));
        assertEquals(new Principal("carol", "PLAIN"), exchange.principal());
    }

    @Test
    void rejectsWrongPasswordAgainstEitherKindOfSecret() {
        for (String message : new String[] {"\0alice\0Secret", "\0alice\0secre", "\0carol\0scram-secreT"}) {
            SaslExchange exchange = portal.sasl("PLAIN");
            AuthenticationException e = assertThrows(AuthenticationException.class,
                    () -> exchange.evaluate(bytes(message)));
            assertEquals("authentication failed", e.getMessage());
            assertFalse(exchange.isComplete());
            assertThrows(IllegalStateException.class, exchange::principal);
            assertThrows(IllegalStateException.class, () -> exchange.evaluate(bytes("\0alice\0secret")),
                    "a failed exchange cannot be retried");
        }
    }

    @Test
    void rejectsUnknownUserWithSameMessageAsWrongPassword() {
        AuthenticationException unknown = assertThrows(AuthenticationException.class,
                () -> portal.sasl("PLAIN").evaluate(bytes("\0mallory\0secret")));
        AuthenticationException wrong = assertThrows(AuthenticationException.class,
                () -> portal.sasl("PLAIN").evaluate(bytes("\0alice\0wrong")));
        assertEquals(wrong.getMessage(), unknown.getMessage());
    }

    @Test
    void rejectsAuthzidDifferentFromAuthcidEvenWithRightPassword() {
        SaslExchange exchange = portal.sasl("PLAIN");
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> exchange.evaluate(bytes("carol\0alice\0secret")));
        assertTrue(e.getMessage().contains("authorization identity"), e.getMessage());
        assertFalse(exchange.isComplete());
    }

    @Test
    void rejectsMalformedMessages() {
        byte[][] bad = {
            bytes("alice\0secret"), // one NUL
            bytes("alicesecret"), // no NUL
            bytes("\0\0secret"), // empty authcid
            bytes("\0alice\0"), // empty passwd
            bytes("\0alice\0sec\0ret"), // three NULs
            {0, 'a', 0, (byte) 0xFF}, // passwd not UTF-8
        };
        for (byte[] message : bad) {
            SaslExchange exchange = portal.sasl("PLAIN");
            AuthenticationException e = assertThrows(AuthenticationException.class,
                    () -> exchange.evaluate(message));
            assertTrue(e.getMessage().startsWith("malformed PLAIN message"), e.getMessage());
        }
    }

    @Test
    void answersMissingInitialResponseWithEmptyChallengeOnce() throws Exception {
        SaslExchange exchange = portal.sasl("PLAIN");
        assertArrayEquals(new byte[0], exchange.evaluate(new byte[0]));
        assertFalse(exchange.isComplete());
        exchange.evaluate(bytes("\0alice\0secret"));
        assertTrue(exchange.isComplete());

        SaslExchange twice = portal.sasl("PLAIN");
        twice.evaluate(new byte[0]);
        assertThrows(AuthenticationException.class, () -> twice.evaluate(new byte[0]));
    }

    @Test
    void mapsNonAsciiSpaceInPasswordBySaslPrep() throws Exception {
        // RFC 4013 §2.1: U+00A0 NO-BREAK SPACE maps to U+0020.
        SaslExchange exchange = portal.sasl("PLAIN");
        exchange.evaluate(bytes("\0dave\0pass\u00A0word"));
        assertEquals("dave", exchange.principal().name());
    }

    @Test
    void refusesInputAfterCompletion() throws Exception {
        SaslExchange exchange = portal.sasl("PLAIN");
        exchange.evaluate(bytes("\0alice\0secret"));
        assertThrows(IllegalStateException.class, () -> exchange.evaluate(new byte[0]));
    }

    @Test
    void mechanismNameIsMatchedIgnoringCase() {
        assertEquals("PLAIN", portal.sasl("plain").mechanism());
    }
}

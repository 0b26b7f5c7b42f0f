package dev.twine.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PortalTest {

    private static final UserStore USERS = name -> Optional.ofNullable(Map.<String, StoredSecret>of(
            "alice", new StoredSecret.Plain("secret"),
            "carol", StoredSecret.Scram.derive("scram-secret", new byte[] {1, 2, 3}, 4096)).get(name));

    private static PublicKey newKey() throws Exception {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic();
    }

    @Test
    void authenticatesPasswordAgainstUserStore() throws Exception {
        Portal portal = Portal.builder().users(USERS).build();
        assertEquals(new Principal("alice", "password"),
                portal.authenticate(new UsernamePassword("alice", "secret")));
        assertEquals(new Principal("carol", "password"),
                portal.authenticate(new UsernamePassword("carol", "scram-secret")));
    }

    @Test
    void rejectsWrongPasswordAndUnknownUserWithSameMessage() {
        Portal portal = Portal.builder().users(USERS).build();
        String wrong = assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new UsernamePassword("alice", "nope"))).getMessage();
        String wrongScram = assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new UsernamePassword("carol", "nope"))).getMessage();
        String unknown = assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new UsernamePassword("mallory", "nope"))).getMessage();
        assertEquals("authentication failed", wrong);
        assertEquals(wrong, wrongScram);
        assertEquals(wrong, unknown);
    }

    @Test
    void rejectsEmptyPasswordEvenIfStored() {
        Portal portal = Portal.builder()
                .users(name -> Optional.of(new StoredSecret.Plain("")))
                .build();
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new UsernamePassword("x", "")));
    }

    @Test
    void everyPasswordCheckCostsExactlyOneDerivation() throws Exception {
        // The timing equaliser: known or unknown user, plain or SCRAM secret, right or wrong
        // password, a password SASLprep refuses - each costs one Hi().
        Portal portal = Portal.builder().users(USERS).build();
        List<UsernamePassword> attempts = List.of(
                new UsernamePassword("alice", "secret"),
                new UsernamePassword("alice", "wrong"),
                new UsernamePassword("carol", "scram-secret"),
                new UsernamePassword("carol", "wrong"),
                new UsernamePassword("mallory", "secret"),
                new UsernamePassword("alice", "bell\u0007"));
        for (UsernamePassword attempt : attempts) {
            long before = portal.derivations.sum();
            try {
                portal.authenticate(attempt);
            } catch (AuthenticationException expected) {
                // both outcomes count
            }
            assertEquals(1, portal.derivations.sum() - before, attempt.toString());
        }
    }

    @Test
    void asksCustomCheckerForCredentialsItHandles() throws Exception {
        Checker guest = c -> c instanceof UsernamePassword up && up.username().equals("guest")
                ? Optional.of(new Principal("guest", "guest-pass"))
                : Optional.empty();
        Portal portal = Portal.builder().checker(guest).users(USERS).build();
        assertEquals(new Principal("guest", "guest-pass"),
                portal.authenticate(new UsernamePassword("guest", "anything")));
        assertEquals("alice", portal.authenticate(new UsernamePassword("alice", "secret")).name());
    }

    @Test
    void asksCheckersInBuilderOrderAndStopsAtFirstThatHandles() throws Exception {
        List<String> asked = new ArrayList<>();
        Checker declines = c -> {
            asked.add("declines");
            return Optional.empty();
        };
        Checker rejects = c -> {
            asked.add("rejects");
            throw new AuthenticationException();
        };
        Checker accepts = c -> {
            asked.add("accepts");
            return Optional.of(new Principal(c.username(), "custom"));
        };
        Portal portal = Portal.builder().checker(declines).checker(rejects).checker(accepts).build();
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new UsernamePassword("u", "p")));
        assertEquals(List.of("declines", "rejects"), asked);

        asked.clear();
        Portal reordered = Portal.builder().checker(declines).checker(accepts).checker(rejects).build();
        assertEquals("custom", reordered.authenticate(new UsernamePassword("u", "p")).mechanism());
        assertEquals(List.of("declines", "accepts"), asked);
    }

    @Test
    void builtInPasswordCheckerDecidesBeforeLaterCheckers() {
        List<String> asked = new ArrayList<>();
        Checker later = c -> {
            asked.add("later");
            return Optional.of(new Principal(c.username(), "custom"));
        };
        Portal portal = Portal.builder().users(USERS).checker(later).build();
        assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new UsernamePassword("mallory", "x")));
        assertEquals(List.of(), asked, "the password checker handles UsernamePassword and rejected it");
    }

    @Test
    void failsWhenNoCheckerHandlesCredentials() throws Exception {
        Portal portal = Portal.builder().users(USERS).build();
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new PublicKeyCredentials("alice", newKey())));
        assertEquals("authentication failed", e.getMessage());
    }

    @Test
    void customCheckerSeesSaslPlainLogins() throws Exception {
        Checker guest = c -> c instanceof UsernamePassword up && up.username().equals("guest")
                ? Optional.of(new Principal("guest", "x"))
                : Optional.empty();
        Portal portal = Portal.builder().checker(guest).users(USERS).build();
        SaslExchange exchange = portal.sasl("PLAIN");
        exchange.evaluate("\0guest\0whatever".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(new Principal("guest", "PLAIN"), exchange.principal());
    }

    @Test
    void authenticatesAuthorizedPublicKeyOnly() throws Exception {
        PublicKey aliceKey = newKey();
        PublicKey otherKey = newKey();
        PublicKeyStore keys = (user, key) -> user.equals("alice") && key.equals(aliceKey);
        Portal portal = Portal.builder().users(USERS).publicKeys(keys).build();

        assertEquals(new Principal("alice", "publickey"),
                portal.authenticate(new PublicKeyCredentials("alice", aliceKey)));
        assertEquals("authentication failed", assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new PublicKeyCredentials("alice", otherKey))).getMessage());
        assertThrows(AuthenticationException.class,
                () -> portal.authenticate(new PublicKeyCredentials("bob", aliceKey)));
        // The key store does not take part in password logins.
        assertEquals("alice", portal.authenticate(new UsernamePassword("alice", "secret")).name());
    }

    @Test
    void theClientAddressReachesAStoreThatRestrictsKeysByAddress() throws Exception {
        PublicKey aliceKey = newKey();
        java.net.InetAddress office = java.net.InetAddress.getByName("192.0.2.7");
        PublicKeyStore keys = new PublicKeyStore() {
            @Override
            public boolean isAuthorized(String user, PublicKey key) {
                return false; // only the address-aware check may admit
            }

            @Override
            public boolean isAuthorized(String user, PublicKey key, java.net.InetAddress client) {
                return key.equals(aliceKey) && office.equals(client);
            }
        };
        Portal portal = Portal.builder().publicKeys(keys).build();
        assertEquals("alice", portal.authenticate(new PublicKeyCredentials("alice", aliceKey, office)).name());
        assertThrows(AuthenticationException.class, () -> portal.authenticate(
                new PublicKeyCredentials("alice", aliceKey, java.net.InetAddress.getByName("198.51.100.1"))));
        assertThrows(AuthenticationException.class, () -> portal.authenticate(new PublicKeyCredentials("alice", aliceKey)));
    }

    @Test
    void listsSaslMechanismsOnlyWithUserStore() throws Exception {
        assertEquals(List.of("SCRAM-SHA-256", "PLAIN"), Portal.builder().users(USERS).build().saslMechanisms());
        PublicKey key = newKey();
        Portal keysOnly = Portal.builder().publicKeys((u, k) -> k.equals(key)).build();
        assertEquals(List.of(), keysOnly.saslMechanisms());
        assertThrows(IllegalArgumentException.class, () -> keysOnly.sasl("PLAIN"));
    }

    @Test
    void rejectsUnknownSaslMechanism() {
        Portal portal = Portal.builder().users(USERS).build();
        assertThrows(IllegalArgumentException.class, () -> portal.sasl("CRAM-MD5"));
        assertThrows(IllegalArgumentException.class, () -> portal.sasl("SCRAM-SHA-256-PLUS"));
    }

    @Test
    void builderRefusesEmptyPortalAndSecondUserStore() {
        assertThrows(IllegalStateException.class, () -> Portal.builder().build());
        assertThrows(IllegalStateException.class, () -> Portal.builder().users(USERS).users(USERS));
        assertThrows(IllegalStateException.class,
                () -> Portal.builder().publicKeys((u, k) -> false).publicKeys((u, k) -> false));
    }
}

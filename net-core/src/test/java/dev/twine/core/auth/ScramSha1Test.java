package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SCRAM-SHA-1 (RFC 5802), which XMPP requires (RFC 6120 §13.8), through the portal. */
class ScramSha1Test {

    // RFC 5802 §5, the SCRAM-SHA-1 example exchange.
    private static final String RFC_SALT = "QSXCR+Q6sek8bf92";
    private static final String RFC_SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j";
    private static final String RFC_CLIENT_FIRST = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
    private static final String RFC_SERVER_FIRST =
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    private static final String RFC_CLIENT_FINAL =
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
    private static final String RFC_SERVER_FINAL = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

    private final Map<String, List<StoredSecret>> users = new HashMap<>();

    private Portal portal() {
        UserStore store = new UserStore() {
            @Override
            public java.util.Optional<StoredSecret> find(String name) {
                return secrets(name).stream().findFirst();
            }

            @Override
            public List<StoredSecret> secrets(String name) {
                return users.getOrDefault(name, List.of());
            }
        };
        return Portal.builder().users(store).serverNonces(() -> RFC_SERVER_NONCE).build();
    }

    private static StoredSecret.Scram rfcKeys(String password) {
        return StoredSecret.Scram.derive(StoredSecret.Scram.SHA_1, password, Base64.getDecoder().decode(RFC_SALT), 4096);
    }

    @Test
    void replaysRfc5802ExampleByteForByte() throws Exception {
        users.put("user", List.of(StoredSecret.Scram.derive("other", new byte[] {1}, 4096), rfcKeys("pencil")));
        SaslExchange exchange = portal().sasl("scram-sha-1");
        assertEquals("SCRAM-SHA-1", exchange.mechanism());
        assertEquals(RFC_SERVER_FIRST, new String(exchange.evaluate(RFC_CLIENT_FIRST.getBytes(UTF_8)), UTF_8));
        assertEquals(RFC_SERVER_FINAL, new String(exchange.evaluate(RFC_CLIENT_FINAL.getBytes(UTF_8)), UTF_8));
        assertEquals(new Principal("user", "SCRAM-SHA-1"), exchange.principal());
    }

    @Test
    void wrongPasswordAndSha256OnlyUsersFailAtTheLastStepLikeUnknownUsers() throws Exception {
        users.put("user", List.of(rfcKeys("pencil2")));
        assertFinalStepFails();
        users.put("user", List.of(StoredSecret.Scram.derive("pencil", Base64.getDecoder().decode(RFC_SALT), 4096)));
        assertFinalStepFails();
        users.clear();
        assertFinalStepFails();
    }

    private void assertFinalStepFails() throws Exception {
        SaslExchange exchange = portal().sasl("SCRAM-SHA-1");
        String first = new String(exchange.evaluate(RFC_CLIENT_FIRST.getBytes(UTF_8)), UTF_8);
        assertTrue(first.startsWith("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s="), first);
        assertThrows(AuthenticationException.class, () -> exchange.evaluate(RFC_CLIENT_FINAL.getBytes(UTF_8)));
    }

    @Test
    void plainSecretsServeScramSha1WithKeysDerivedOnTheFly() throws Exception {
        users.put("carol", List.of(new StoredSecret.Plain("hunter2")));
        SaslExchange exchange = portal().sasl("SCRAM-SHA-1");
        ScramClient client = ScramClient.sha1("carol", "hunter2", "abc");
        byte[] first = exchange.evaluate(client.clientFirst());
        byte[] last = exchange.evaluate(client.clientFinal(first));
        assertEquals(client.expectedServerFinal(), new String(last, UTF_8));
        assertEquals("carol", exchange.principal().name());
    }

    @Test
    void keysOfTheWrongLengthForTheirHashAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new StoredSecret.Scram("SCRAM-SHA-1", 4096, new byte[] {1}, new byte[32], new byte[32]));
        assertThrows(IllegalArgumentException.class,
                () -> new StoredSecret.Scram("SCRAM-MD5", 4096, new byte[] {1}, new byte[16], new byte[16]));
    }
}

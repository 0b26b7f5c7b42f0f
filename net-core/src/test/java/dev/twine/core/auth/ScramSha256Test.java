package dev.twine.core.auth;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ScramSha256Test {

    // RFC 7677 §3, the SCRAM-SHA-256 example exchange.
    private static final String RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private static final String RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    private static final String RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private static final String RFC_CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    private static final String RFC_SERVER_FIRST =
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private static final String RFC_CLIENT_FINAL =
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                    + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    private final Map<String, StoredSecret> users = new HashMap<>();

    private Portal portal(String serverNonce) {
        return Portal.builder()
                .users(name -> Optional.ofNullable(users.get(name)))
                .serverNonces(() -> serverNonce)
                .build();
    }

    private static StoredSecret.Scram rfcUserSecret() {
        return StoredSecret.Scram.derive("pencil", Base64.getDecoder().decode(RFC_SALT), 4096);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, UTF_8);
    }

    @Test
    void replaysRfc7677ExampleByteForByte() throws Exception {
        users.put("user", rfcUserSecret());
        SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");

        assertEquals(RFC_SERVER_FIRST, text(exchange.evaluate(bytes(RFC_CLIENT_FIRST))));
        assertFalse(exchange.isComplete());
        assertEquals(RFC_SERVER_FINAL, text(exchange.evaluate(bytes(RFC_CLIENT_FINAL))));
        assertTrue(exchange.isComplete());
        assertEquals(new Principal("user", "SCRAM-SHA-256"), exchange.principal());
    }

    @Test
    void testClientReproducesRfc7677ProofSoItCanBeTrusted() throws Exception {
        ScramClient client = new ScramClient("user", "pencil", RFC_CLIENT_NONCE);
        assertEquals(RFC_CLIENT_FIRST, text(client.clientFirst()));
        assertEquals(RFC_CLIENT_FINAL, text(client.clientFinal(bytes(RFC_SERVER_FIRST))));
        assertEquals(RFC_SERVER_FINAL, client.expectedServerFinal());
    }

    @Test
    void rejectsRfc7677ProofWhenStoredPasswordDiffers() throws Exception {
        users.put("user", StoredSecret.Scram.derive("pencil2", Base64.getDecoder().decode(RFC_SALT), 4096));
        SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
        assertEquals(RFC_SERVER_FIRST, text(exchange.evaluate(bytes(RFC_CLIENT_FIRST))));
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> exchange.evaluate(bytes(RFC_CLIENT_FINAL)));
        assertEquals("authentication failed", e.getMessage());
        assertFalse(exchange.isComplete());
    }

    @Test
    void completesExchangeWithRandomServerNonce() throws Exception {
        users.put("alice", StoredSecret.Scram.derive("correct horse", new byte[] {1, 2, 3, 4}, 4096));
        Portal portal = Portal.builder().users(name -> Optional.ofNullable(users.get(name))).build();
        ScramClient client = new ScramClient("alice", "correct horse", "clientnonce123");
        SaslExchange exchange = portal.sasl("SCRAM-SHA-256");

        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        assertTrue(text(serverFirst).startsWith("r=clientnonce123"));
        assertTrue(text(serverFirst).length() > "r=clientnonce123".length() + 20, "server adds its own nonce");
        byte[] serverFinal = exchange.evaluate(client.clientFinal(serverFirst));

        assertEquals(client.expectedServerFinal(), text(serverFinal));
        assertEquals("alice", exchange.principal().name());
    }

    @Test
    void wrongPasswordFailsOnlyAtClientFinal() throws Exception {
        users.put("alice", StoredSecret.Scram.derive("right", new byte[] {9, 9, 9}, 4096));
        SaslExchange exchange = portal("servernonce").sasl("SCRAM-SHA-256");
        ScramClient client = new ScramClient("alice", "wrong", "cn");

        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        assertEquals("r=cnservernonce,s=CQkJ,i=4096", text(serverFirst));
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> exchange.evaluate(client.clientFinal(serverFirst)));
        assertEquals("authentication failed", e.getMessage());
        assertThrows(IllegalStateException.class, exchange::principal);
        assertThrows(IllegalStateException.class, () -> exchange.evaluate(new byte[0]));
    }

    @Test
    void unknownUserGetsPlausibleChallengeAndFailsLikeWrongPassword() throws Exception {
        users.put("alice", StoredSecret.Scram.derive("right", new byte[16], 4096));
        Portal portal = portal("servernonce");

        SaslExchange unknown = portal.sasl("SCRAM-SHA-256");
        ScramClient client = new ScramClient("mallory", "guess", "cn");
        String serverFirst = text(unknown.evaluate(client.clientFirst()));
        String[] attributes = serverFirst.split(",");
        assertEquals("r=cnservernonce", attributes[0]);
        assertEquals(16, Base64.getDecoder().decode(attributes[1].substring(2)).length,
                "decoy salt has the length of a real one");
        assertEquals("i=4096", attributes[2]);
        AuthenticationException unknownFailure = assertThrows(AuthenticationException.class,
                () -> unknown.evaluate(client.clientFinal(bytes(serverFirst))));

        SaslExchange wrong = portal.sasl("SCRAM-SHA-256");
        ScramClient wrongClient = new ScramClient("alice", "guess", "cn");
        byte[] aliceFirst = wrong.evaluate(wrongClient.clientFirst());
        AuthenticationException wrongFailure = assertThrows(AuthenticationException.class,
                () -> wrong.evaluate(wrongClient.clientFinal(aliceFirst)));

        assertEquals(wrongFailure.getMessage(), unknownFailure.getMessage());
    }

    @Test
    void decoySaltIsStablePerUnknownUserAndDiffersBetweenUsers() throws Exception {
        Portal portal = portal("sn");
        String first = text(portal.sasl("SCRAM-SHA-256").evaluate(bytes("n,,n=ghost,r=a")));
        String again = text(portal.sasl("SCRAM-SHA-256").evaluate(bytes("n,,n=ghost,r=a")));
        String other = text(portal.sasl("SCRAM-SHA-256").evaluate(bytes("n,,n=phantom,r=a")));
        assertEquals(first, again, "a changing salt would reveal that the user does not exist");
        assertNotEquals(first, other);
    }

    @Test
    void authenticatesUserWhoseStoredSecretIsPlain() throws Exception {
        users.put("bob", new StoredSecret.Plain("hunter2"));
        Portal portal = portal("sn");
        ScramClient client = new ScramClient("bob", "hunter2", "cn");
        SaslExchange exchange = portal.sasl("SCRAM-SHA-256");
        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        String serverFinal = text(exchange.evaluate(client.clientFinal(serverFirst)));
        assertEquals(client.expectedServerFinal(), serverFinal);
        assertEquals(new Principal("bob", "SCRAM-SHA-256"), exchange.principal());

        // The derived salt is stable, so a client may cache its SaltedPassword.
        assertEquals(text(serverFirst), text(portal.sasl("SCRAM-SHA-256").evaluate(client.clientFirst())));
    }

    @Test
    void unescapesCommaAndEqualsInUserName() throws Exception {
        users.put("a,b=c", StoredSecret.Scram.derive("pw", new byte[] {1}, 4096));
        ScramClient client = new ScramClient("a=2Cb=3Dc", "pw", "cn");
        SaslExchange exchange = portal("sn").sasl("SCRAM-SHA-256");
        byte[] serverFirst = exchange.evaluate(client.clientFirst());
        String serverFinal = text(exchange.evaluate(client.clientFinal(serverFirst)));
        assertEquals(client.expectedServerFinal(), serverFinal);
        assertEquals("a,b=c", exchange.principal().name());
    }

    @Test
    void acceptsAuthzidEqualToUserAndFlagY() throws Exception {
        users.put("alice", StoredSecret.Scram.derive("pw", new byte[] {1}, 4096));
        for (String header : new String[] {"n,a=alice,", "y,,"}) {
            ScramClient client = new ScramClient(header, "alice", "pw", "cn");
            SaslExchange exchange = portal("sn").sasl("SCRAM-SHA-256");
            byte[] serverFirst = exchange.evaluate(client.clientFirst());
            String serverFinal = text(exchange.evaluate(client.clientFinal(serverFirst)));
            assertEquals(client.expectedServerFinal(), serverFinal, header);
        }
    }

    @Test
    void answersMissingInitialResponseWithEmptyChallengeOnce() throws Exception {
        users.put("user", rfcUserSecret());
        SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
        assertArrayEquals(new byte[0], exchange.evaluate(new byte[0]));
        assertEquals(RFC_SERVER_FIRST, text(exchange.evaluate(bytes(RFC_CLIENT_FIRST))));
        assertEquals(RFC_SERVER_FINAL, text(exchange.evaluate(bytes(RFC_CLIENT_FINAL))));

        SaslExchange twice = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
        twice.evaluate(new byte[0]);
        assertThrows(AuthenticationException.class, () -> twice.evaluate(new byte[0]));
    }

    @Test
    void rejectsMalformedOrUnsupportedClientFirstMessages() throws Exception {
        users.put("user", rfcUserSecret());
        String[] bad = {
            "p=tls-unique,,n=user,r=abc", // channel binding requested (RFC 5802 §6)
            "x,,n=user,r=abc", // bad cbind flag
            "n,,m=ext,n=user,r=abc", // mandatory extension (RFC 5802 §5.1)
            "n,,n=us=2Xer,r=abc", // bad escape
            "n,,n=us=er,r=abc", // bare "="
            "n,,r=abc,n=user", // wrong order
            "n,,n=user", // no nonce
            "n,,n=user,r=", // empty nonce
            "n,,n=,r=abc", // empty user name
            "n,,n=user,r=a b", // space is not printable (RFC 5802 §7)
            "n,,n=user,r=abc,", // empty extension
            "n,,n=user,r=abc,1=x", // extension name not ALPHA
            "n,b=user,n=user,r=abc", // authzid field not a=
            "n,a=other,n=user,r=abc", // authzid differs from user
            "n,n=user,r=abc", // GS2 header incomplete
            "",
        };
        for (String message : bad) {
            SaslExchange exchange = portal("sn").sasl("SCRAM-SHA-256");
            if (message.isEmpty()) {
                exchange.evaluate(new byte[0]);
            }
            assertThrows(AuthenticationException.class, () -> exchange.evaluate(bytes(message)), message);
            assertThrows(IllegalStateException.class, () -> exchange.evaluate(bytes(RFC_CLIENT_FIRST)),
                    "a failed exchange takes no more input: " + message);
        }
    }

    @Test
    void rejectsClientFirstThatIsNotUtf8() {
        SaslExchange exchange = portal("sn").sasl("SCRAM-SHA-256");
        byte[] message = {'n', ',', ',', 'n', '=', (byte) 0xC3, ',', 'r', '=', 'a'};
        AuthenticationException e = assertThrows(AuthenticationException.class, () -> exchange.evaluate(message));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void rejectsMalformedOrMismatchedClientFinalMessages() throws Exception {
        users.put("user", rfcUserSecret());
        String nonce = "r=" + RFC_CLIENT_NONCE + RFC_SERVER_NONCE;
        String proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        String[] bad = {
            "c=eSws," + nonce + "," + proof, // channel binding data of "y,," after "n,,"
            "c=biws,r=" + RFC_CLIENT_NONCE + "," + proof, // nonce without the server part
            "c=biws," + nonce, // no proof
            "c=biws," + nonce + ",p=!!!", // proof not base64
            "c=biws," + nonce + ",p=AAAA", // proof of the wrong length
            nonce + ",c=biws," + proof, // wrong order
            "c=biws," + nonce + ",x," + proof, // malformed extension
            "c=***," + nonce + "," + proof, // channel binding not base64
        };
        for (String message : bad) {
            SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
            exchange.evaluate(bytes(RFC_CLIENT_FIRST));
            assertThrows(AuthenticationException.class, () -> exchange.evaluate(bytes(message)), message);
            assertFalse(exchange.isComplete(), message);
        }
    }

    @Test
    void refusesFurtherInputAfterCompletion() throws Exception {
        users.put("user", rfcUserSecret());
        SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
        exchange.evaluate(bytes(RFC_CLIENT_FIRST));
        exchange.evaluate(bytes(RFC_CLIENT_FINAL));
        assertThrows(IllegalStateException.class, () -> exchange.evaluate(new byte[0]));
        assertEquals("user", exchange.principal().name());
    }

    @Test
    void principalIsUnavailableBeforeCompletion() throws Exception {
        users.put("user", rfcUserSecret());
        SaslExchange exchange = portal(RFC_SERVER_NONCE).sasl("SCRAM-SHA-256");
        assertThrows(IllegalStateException.class, exchange::principal);
        exchange.evaluate(bytes(RFC_CLIENT_FIRST));
        assertThrows(IllegalStateException.class, exchange::principal);
    }
}

package dev.twine.mail.smtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SMTP AUTH runs every mechanism the portal offers through the core SASL driver: SCRAM-SHA-256
 * (RFC 5802, RFC 7677) as RFC 4954 carries it, the server's final message in a last 334
 * challenge that the client answers empty.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpScramTest {
    @TempDir
    Path dir;

    private static final Base64.Encoder B64 = Base64.getEncoder();

    @Test
    void scramSha256LogsInAndTheServerProvesItKnowsTheKey() throws Exception {
        for (Chunking chunking : Chunking.standard()) {
            assertEquals("235 2.7.0 Authentication successful", login("secret", chunking), chunking.toString());
        }
    }

    @Test
    void aWrongPasswordFailsWith535() throws Exception {
        assertEquals("535 5.7.8 Authentication credentials invalid", login("wrong", Chunking.whole()));
    }

    /** A SCRAM-SHA-256 client exchange for alice; the server's last reply. */
    private String login(String password, Chunking chunking) throws Exception {
        SmtpServer server = SmtpTestSupport.server(dir).role(SmtpServer.Role.SUBMISSION).allowPlainAuth(true).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), chunking)) {
            LineReader in = LineReader.of(s.client(), 1000);
            in.readLine();
            send(s.client(), "EHLO c");
            String l;
            while ((l = in.readLine()).startsWith("250-")) {
                // the extensions
            }
            assertEquals("250 AUTH SCRAM-SHA-256 PLAIN LOGIN", l);
            String nonce = "rOprNGfwEbeRWgbNEkqO";
            String first = "n=alice,r=" + nonce;
            send(s.client(), "AUTH SCRAM-SHA-256 " + b64("n,," + first));
            String serverFirst = challenge(in.readLine());
            Map<String, String> f = attributes(serverFirst);
            assertTrue(f.get("r").startsWith(nonce), serverFirst);
            byte[] salted = hi(password, Base64.getDecoder().decode(f.get("s")), Integer.parseInt(f.get("i")));
            byte[] clientKey = hmac(salted, "Client Key");
            String withoutProof = "c=" + b64("n,,") + ",r=" + f.get("r");
            String authMessage = first + "," + serverFirst + "," + withoutProof;
            byte[] signature = hmac(MessageDigest.getInstance("SHA-256").digest(clientKey), authMessage);
            byte[] proof = clientKey.clone();
            for (int i = 0; i < proof.length; i++) {
                proof[i] ^= signature[i];
            }
            send(s.client(), b64(withoutProof + ",p=" + B64.encodeToString(proof)));
            String next = in.readLine();
            if (!next.startsWith("535 ")) {
                String serverSignature = B64.encodeToString(hmac(hmac(salted, "Server Key"), authMessage));
                assertEquals("v=" + serverSignature, challenge(next), "RFC 5802 §3: the server proves itself too");
                send(s.client(), "");
                next = in.readLine();
            }
            return next;
        }
    }

    private static String challenge(String line) {
        assertTrue(line.startsWith("334 "), line);
        return new String(Base64.getDecoder().decode(line.substring(4)), StandardCharsets.UTF_8);
    }

    private static Map<String, String> attributes(String message) {
        Map<String, String> m = new HashMap<>();
        for (String part : message.split(",")) {
            m.put(part.substring(0, 1), part.substring(2));
        }
        return m;
    }

    private static byte[] hi(String password, byte[] salt, int iterations) throws Exception {
        return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
    }

    private static byte[] hmac(byte[] key, String text) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String b64(String s) {
        return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(Connection c, String line) throws Exception {
        c.output().write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        c.flush();
    }
}

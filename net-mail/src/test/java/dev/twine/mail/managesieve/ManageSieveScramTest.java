package dev.twine.mail.managesieve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveScripts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SCRAM-SHA-256 over ManageSieve: the server's final message comes in {@code OK (SASL "...")} (RFC 5804 §2.1). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ManageSieveScramTest {
    @TempDir
    Path dir;

    @Test
    void scramLogsInAndTheServerSignatureComesWithTheOk() throws Exception {
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        ManageSieveServer server = ManageSieveServer.builder().portal(Portal.builder().users(UsersFile.load(users)).build())
                .scripts(SieveScripts.builder().maildir(Maildir.open(dir.resolve("mail"))).build()).build();
        for (Chunking chunking : Chunking.standard()) {
            try (MemoryConnections.Served s = MemoryConnections.serve(server.handler(), chunking)) {
                LineReader in = LineReader.of(s.client(), 4096);
                while (!in.readLine().startsWith("OK")) {
                    // the capabilities
                }
                String first = "n=alice,r=fyko+d2lbbFgONRv9qkxdawL";
                send(s.client(), "AUTHENTICATE \"SCRAM-SHA-256\" \"" + b64("n,," + first) + "\"");
                String serverFirst = unquote(in.readLine());
                String nonce = serverFirst.split(",")[0].substring(2);
                byte[] salt = Base64.getDecoder().decode(serverFirst.split(",")[1].substring(2));
                int iterations = Integer.parseInt(serverFirst.split(",")[2].substring(2));
                byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                        .generateSecret(new PBEKeySpec("secret".toCharArray(), salt, iterations, 256)).getEncoded();
                String withoutProof = "c=" + b64("n,,") + ",r=" + nonce;
                String authMessage = first + "," + serverFirst + "," + withoutProof;
                byte[] clientKey = hmac(salted, "Client Key");
                byte[] signature = hmac(MessageDigest.getInstance("SHA-256").digest(clientKey), authMessage);
                for (int i = 0; i < clientKey.length; i++) {
                    signature[i] ^= clientKey[i];
                }
                send(s.client(), "\"" + b64(withoutProof + ",p=" + Base64.getEncoder().encodeToString(signature)) + "\"");
                String ok = in.readLine();
                String expected = "v=" + Base64.getEncoder().encodeToString(hmac(hmac(salted, "Server Key"), authMessage));
                assertEquals("OK (SASL \"" + b64(expected) + "\") \"Logged in.\"", ok, chunking.toString());
                send(s.client(), "LOGOUT");
                assertTrue(in.readLine().startsWith("OK"));
            }
        }
    }

    private static String unquote(String line) {
        assertTrue(line.startsWith("\"") && line.endsWith("\""), line);
        return new String(Base64.getDecoder().decode(line.substring(1, line.length() - 1)), StandardCharsets.UTF_8);
    }

    private static byte[] hmac(byte[] key, String text) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(Connection c, String line) throws Exception {
        c.output().write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        c.flush();
    }
}

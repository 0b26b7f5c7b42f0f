package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/** The SCRAM-SHA-256 primitives of RFC 5802 §2.2 and §3, with H = SHA-256 (RFC 7677). */
final class ScramKeys {

    /** Output length of SHA-256 and HMAC-SHA-256. */
    static final int HASH_LENGTH = 32;

    /**
     * Iteration count for new secrets, for SCRAM against plain secrets and for unknown users.
     * RFC 7677 §4 asks for at least 4096, Dovecot refuses fewer and generates 4096 by default.
     * Twine computes one Hi() for every PLAIN login attempt, including attempts for unknown users,
     * so a larger count multiplies the CPU an unauthenticated client can make the server spend.
     */
    static final int DEFAULT_ITERATIONS = 4096;

    /** Length of new salts, as Dovecot and RFC 7677's example use. */
    static final int SALT_LENGTH = 16;

    private static final byte[] CLIENT_KEY = "Client Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_KEY = "Server Key".getBytes(StandardCharsets.US_ASCII);

    private ScramKeys() {
    }

    /**
     * Hi(str, salt, i) of RFC 5802 §2.2, which is PBKDF2 (RFC 8018) with HMAC-SHA-256 and
     * dkLen = 32. Computed by hand so that the octets of {@code str} are exactly the UTF-8 of the
     * prepared password, whatever a JCE provider would do with a char[].
     */
    static byte[] hi(byte[] str, byte[] salt, int iterations) {
        Mac mac = hmac(str);
        mac.update(salt);
        mac.update(new byte[] {0, 0, 0, 1}); // INT(1)
        byte[] u = mac.doFinal();
        byte[] result = u.clone();
        try {
            for (int i = 1; i < iterations; i++) {
                mac.update(u);
                mac.doFinal(u, 0);
                for (int j = 0; j < result.length; j++) {
                    result[j] ^= u[j];
                }
            }
        } catch (ShortBufferException e) {
            throw new AssertionError("HMAC-SHA-256 output is 32 bytes", e);
        }
        return result;
    }

    /** Derives StoredKey and ServerKey from an already prepared, UTF-8 encoded password. */
    static StoredSecret.Scram derive(byte[] preparedPassword, byte[] salt, int iterations) {
        byte[] saltedPassword = hi(preparedPassword, salt, iterations);
        byte[] clientKey = hmac(saltedPassword, CLIENT_KEY);
        byte[] storedKey = sha256(clientKey);
        byte[] serverKey = hmac(saltedPassword, SERVER_KEY);
        return new StoredSecret.Scram(iterations, salt, storedKey, serverKey);
    }

    static byte[] hmac(byte[] key, byte[] data) {
        return hmac(key).doFinal(data);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    static byte[] xor(byte[] a, byte[] b) {
        byte[] r = new byte[a.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = (byte) (a[i] ^ b[i]);
        }
        return r;
    }

    static String base64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static Mac hmac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has HmacSHA256", e);
        }
    }
}

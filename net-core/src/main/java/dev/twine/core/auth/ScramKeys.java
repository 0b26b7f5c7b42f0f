package dev.twine.core.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;

/**
 * The SCRAM primitives of RFC 5802 §2.2 and §3 for either hash, and the keys of one user for one
 * hash without copies (the public records copy their arrays; the login path does not need to).
 */
record ScramKeys(ScramHash hash, int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {

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

    /**
     * Hi(str, salt, i) of RFC 5802 §2.2, which is PBKDF2 (RFC 8018) with HMAC-H and dkLen the
     * hash length. Computed by hand so that the octets of {@code str} are exactly the UTF-8 of the
     * prepared password, whatever a JCE provider would do with a char[].
     */
    static byte[] hi(ScramHash hash, byte[] str, byte[] salt, int iterations) {
        Mac mac = hash.hmac(str);
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
            throw new AssertionError("HMAC output is " + hash.length + " bytes", e);
        }
        return result;
    }

    /** Derives StoredKey and ServerKey from an already prepared, UTF-8 encoded password. */
    static ScramKeys derive(ScramHash hash, byte[] preparedPassword, byte[] salt, int iterations) {
        byte[] saltedPassword = hi(hash, preparedPassword, salt, iterations);
        byte[] clientKey = hash.hmac(saltedPassword, CLIENT_KEY);
        byte[] storedKey = hash.hash(clientKey);
        byte[] serverKey = hash.hmac(saltedPassword, SERVER_KEY);
        return new ScramKeys(hash, iterations, salt, storedKey, serverKey);
    }

    /** These keys as the public record. */
    StoredSecret.Scram secret() {
        return new StoredSecret.Scram(hash.mechanism, iterations, salt, storedKey, serverKey);
    }

    /** SHA-256, the digest password checks compare. */
    static byte[] sha256(byte[] data) {
        return ScramHash.SHA_256.hash(data);
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
}

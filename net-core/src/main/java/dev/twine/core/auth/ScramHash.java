package dev.twine.core.auth;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The hash functions SCRAM is run with: H and HMAC of RFC 5802 §2.2. */
enum ScramHash {
    /** SCRAM-SHA-1 (RFC 5802): the one RFC 6120 §13.8 makes mandatory for XMPP. */
    SHA_1("SCRAM-SHA-1", "SHA-1", "HmacSHA1", 20),
    /** SCRAM-SHA-256 (RFC 7677). */
    SHA_256("SCRAM-SHA-256", "SHA-256", "HmacSHA256", 32);

    /** The SASL mechanism name, which is also the Dovecot password scheme. */
    final String mechanism;
    /** Output length of H and HMAC, in bytes: the length of StoredKey, ServerKey and proofs. */
    final int length;
    private final String digest;
    private final String mac;

    ScramHash(String mechanism, String digest, String mac, int length) {
        this.mechanism = mechanism;
        this.digest = digest;
        this.mac = mac;
        this.length = length;
    }

    byte[] hash(byte[] data) {
        try {
            return MessageDigest.getInstance(digest).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has " + digest, e);
        }
    }

    Mac hmac(byte[] key) {
        try {
            Mac m = Mac.getInstance(mac);
            m.init(new SecretKeySpec(key, mac));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has " + mac, e);
        }
    }

    byte[] hmac(byte[] key, byte[] data) {
        return hmac(key).doFinal(data);
    }
}

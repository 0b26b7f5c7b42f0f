package dev.twine.mail.auth;

/**
 * A DKIM signing algorithm: the {@code a=} tag of a signature and the {@code k=} tag of its key
 * record.
 */
public enum DkimAlgorithm {
    /** RSA with SHA-256 (RFC 6376 §3.3.1); Twine makes 2048-bit keys and accepts 1024 bits or more (RFC 8301). */
    RSA_SHA256("rsa-sha256", "rsa"),
    /** Ed25519 over the SHA-256 hash of the signed data (RFC 8463). */
    ED25519_SHA256("ed25519-sha256", "ed25519");

    private final String tag;
    private final String keyType;

    DkimAlgorithm(String tag, String keyType) {
        this.tag = tag;
        this.keyType = keyType;
    }

    /** The {@code a=} value: {@code rsa-sha256} or {@code ed25519-sha256}. */
    public String tag() {
        return tag;
    }

    /** The key record's {@code k=} value: {@code rsa} or {@code ed25519}. */
    public String keyType() {
        return keyType;
    }

    /** The algorithm named by an {@code a=} value, or null. */
    static DkimAlgorithm ofTag(String tag) {
        for (DkimAlgorithm a : values()) {
            if (a.tag.equalsIgnoreCase(tag)) {
                return a;
            }
        }
        return null;
    }
}

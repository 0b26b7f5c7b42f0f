package dev.twine.mail.auth;

import java.util.Objects;

/**
 * The result of verifying one {@code DKIM-Signature} field.
 *
 * @param result {@link AuthResult#PASS}; {@link AuthResult#FAIL} for a body hash or signature
 *     that does not verify, or an expired signature; {@link AuthResult#NEUTRAL} for a signature
 *     field that cannot be processed (a missing or bad tag, an unknown algorithm, {@code From}
 *     not signed); {@link AuthResult#PERMERROR} for a key record that is missing, revoked, bad,
 *     of the wrong type or an RSA key under 1024 bits; {@link AuthResult#TEMPERROR} when the key
 *     could not be looked up
 * @param domain the signing domain {@code d=}, lower case, empty if the field had none
 * @param selector the selector {@code s=}, empty if none
 * @param algorithm the {@code a=} value as given, empty if none
 * @param signaturePrefix the first 8 characters of {@code b=} (RFC 6008 {@code header.b}), empty if none
 * @param reason why it did not pass, empty for a pass
 */
public record DkimResult(AuthResult result, String domain, String selector, String algorithm, String signaturePrefix,
        String reason) {
    /** Checks that nothing is null. */
    public DkimResult {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(signaturePrefix, "signaturePrefix");
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * The method's entry in an {@code Authentication-Results} field (RFC 8601 §2.7.1, RFC 6008):
     * {@code dkim=pass header.d=example.org header.s=mail header.a=rsa-sha256 header.b=AbCdEfGh}.
     */
    public String resultsEntry() {
        StringBuilder sb = new StringBuilder("dkim=").append(result.token());
        if (!reason.isEmpty()) {
            sb.append(" reason=\"").append(reason.replace("\\", "").replace("\"", "'")).append('"');
        }
        if (!domain.isEmpty()) {
            sb.append(" header.d=").append(domain);
        }
        if (!selector.isEmpty()) {
            sb.append(" header.s=").append(selector);
        }
        if (!algorithm.isEmpty()) {
            sb.append(" header.a=").append(algorithm);
        }
        if (!signaturePrefix.isEmpty()) {
            sb.append(" header.b=").append(signaturePrefix);
        }
        return sb.toString();
    }
}

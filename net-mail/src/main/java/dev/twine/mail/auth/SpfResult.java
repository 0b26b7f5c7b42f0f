package dev.twine.mail.auth;

import java.util.Objects;

/**
 * The outcome of an SPF check (RFC 7208 §2.6) of one identity.
 *
 * @param result {@link AuthResult#NONE} (no SPF record, or no domain to check),
 *     {@link AuthResult#NEUTRAL} ({@code ?}, or nothing matched), {@link AuthResult#PASS},
 *     {@link AuthResult#FAIL} ({@code -}), {@link AuthResult#SOFTFAIL} ({@code ~}),
 *     {@link AuthResult#TEMPERROR} (a DNS failure or the time limit) or
 *     {@link AuthResult#PERMERROR} (a bad record, a processing limit passed)
 * @param identity {@code mailfrom} or {@code helo}: which identity was checked (RFC 7208 §2.3, §2.4)
 * @param checked the identity as checked: the MAIL FROM address ({@code postmaster@} the HELO
 *     name for the null sender), or the HELO name
 * @param domain the domain whose record was evaluated, lower case (empty when there was none to check)
 * @param explanation for a {@code fail}, the domain's explanation ({@code exp=}, RFC 7208 §6.2)
 *     or a default one; else empty
 * @param reason what decided the result, for logs and the {@code Authentication-Results} field
 */
public record SpfResult(AuthResult result, String identity, String checked, String domain, String explanation,
        String reason) {
    /** Checks that nothing is null and that the result is one SPF has. */
    public SpfResult {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(checked, "checked");
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(explanation, "explanation");
        Objects.requireNonNull(reason, "reason");
        if (!identity.equals("mailfrom") && !identity.equals("helo")) {
            throw new IllegalArgumentException("identity is mailfrom or helo: " + identity);
        }
    }

    /**
     * The method's entry in an {@code Authentication-Results} field (RFC 8601 §2.7.2), which
     * stands in for a {@code Received-SPF} field: {@code spf=pass smtp.mailfrom=user@example.org}
     * or {@code spf=none smtp.helo=mail.example.net}.
     */
    public String resultsEntry() {
        StringBuilder sb = new StringBuilder("spf=").append(result.token());
        if (!reason.isEmpty()) {
            sb.append(" reason=\"").append(reason.replace("\\", "").replace("\"", "'")).append('"');
        }
        if (!checked.isEmpty()) {
            sb.append(" smtp.").append(identity).append('=').append(checked);
        }
        return sb.toString();
    }
}

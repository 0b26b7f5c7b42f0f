package dev.twine.mail.auth;

import java.util.Objects;

/**
 * The outcome of a DMARC evaluation (RFC 7489 §6.6) of one message.
 *
 * @param result {@link AuthResult#PASS} (SPF or DKIM passed for an aligned domain),
 *     {@link AuthResult#FAIL}, {@link AuthResult#NONE} (no policy published, or no single
 *     {@code From:} domain), {@link AuthResult#TEMPERROR} (the policy could not be looked up) or
 *     {@link AuthResult#PERMERROR} (the policy record is bad)
 * @param fromDomain the author domain ({@code From:}), lower case; empty when there is none
 * @param policy what the domain owner asks for a failing message: {@code p=}, or {@code sp=}
 *     for a subdomain whose policy came from its organizational domain; {@link Dmarc.Policy#NONE}
 *     when there is no policy
 * @param disposition what is to be done with this message: {@link Dmarc.Policy#NONE} unless it
 *     failed; for a failure the policy, one step milder when {@code pct=} left it out of the
 *     sample (RFC 7489 §6.6.4)
 * @param reason what decided the result, for logs and the {@code Authentication-Results} field
 */
public record DmarcResult(AuthResult result, String fromDomain, Dmarc.Policy policy, Dmarc.Policy disposition,
        String reason) {
    /** Checks that nothing is null. */
    public DmarcResult {
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(fromDomain, "fromDomain");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(disposition, "disposition");
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * The method's entry in an {@code Authentication-Results} field (RFC 7489 §11.2):
     * {@code dmarc=fail (p=reject dis=reject) header.from=example.com}.
     */
    public String resultsEntry() {
        StringBuilder sb = new StringBuilder("dmarc=").append(result.token());
        if (result == AuthResult.PASS || result == AuthResult.FAIL) {
            sb.append(" (p=").append(policy.token()).append(" dis=").append(disposition.token()).append(')');
        }
        if (!reason.isEmpty()) {
            sb.append(" reason=\"").append(reason.replace("\\", "").replace("\"", "'")).append('"');
        }
        if (!fromDomain.isEmpty()) {
            sb.append(" header.from=").append(fromDomain);
        }
        return sb.toString();
    }
}

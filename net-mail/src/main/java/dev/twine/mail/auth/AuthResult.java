package dev.twine.mail.auth;

import java.util.Locale;

/**
 * The result of one message authentication check, with the names RFC 8601 §2.7 registers for
 * DKIM, SPF and DMARC, as they appear in an {@code Authentication-Results} header field.
 * Which values a check returns is documented by the check.
 */
public enum AuthResult {
    /** No check could be made: no signature, no SPF record, no DMARC record. */
    NONE,
    /** The check passed. */
    PASS,
    /** The check failed: a bad signature, an address the SPF record refuses, a DMARC failure. */
    FAIL,
    /** SPF only ({@code ~all}): probably not authorised, but the domain does not say so firmly. */
    SOFTFAIL,
    /** Nothing asserted ({@code ?all}), or (DKIM) a signature that could not be processed. */
    NEUTRAL,
    /** A transient failure, usually DNS: trying later may give a final result. */
    TEMPERROR,
    /** A permanent error in the published records: a later try gives the same. */
    PERMERROR;

    /** The name as written in {@code Authentication-Results}: {@code pass}, {@code temperror}. */
    public String token() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package dev.twine.mail.smtp;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Thrown by {@link MailDelivery#deliver} when the message reached some recipients and not others:
 * the recipients named here did not get it, every other recipient of the envelope did.
 *
 * <p>An LMTP server answers each recipient with its own reply (RFC 2033 §4.2): {@code 250} for the
 * others, the one here for these. An SMTP server has one reply for the whole message and sends
 * {@link #reply()}, the first failure's, so that the client tries again later.
 */
public final class PartialDeliveryException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Map<String, Reply> failures;

    /**
     * Makes the exception.
     *
     * @param failures for each recipient that did not get the message, by its address as given at
     *     {@code RCPT TO}, the 4xx or 5xx reply it is to get; in recipient order, at least one
     * @throws IllegalArgumentException if {@code failures} is empty or holds a reply below 400
     */
    public PartialDeliveryException(Map<String, Reply> failures) {
        super("not delivered to " + failures);
        if (failures.isEmpty()) {
            throw new IllegalArgumentException("a partial delivery has at least one failure");
        }
        for (Reply r : failures.values()) {
            if (r.code() < 400) {
                throw new IllegalArgumentException("a failure is a 4xx or 5xx reply: " + r);
            }
        }
        this.failures = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(failures));
    }

    /** Each failed recipient's address and reply, in recipient order. */
    public Map<String, Reply> failures() {
        return failures;
    }

    /** The reply for a protocol with one reply per message: the first failure's. */
    public Reply reply() {
        return failures.values().iterator().next();
    }
}

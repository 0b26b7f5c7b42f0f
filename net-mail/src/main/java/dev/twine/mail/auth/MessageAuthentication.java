package dev.twine.mail.auth;

import dev.twine.mail.smtp.MailDelivery;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The checks made on mail arriving from the Internet (the port 25 role), and their record: one
 * {@code Authentication-Results} field (RFC 8601) at the top of every message, naming this
 * server ({@linkplain Builder#authservId the authserv-id}) and each check's result; any
 * {@code Authentication-Results} field already in the message that claims the same authserv-id
 * is a forgery (RFC 8601 §5) and is removed. Today the checks are DKIM's
 * ({@link DkimVerifier}): one {@code dkim=} entry per signature, {@code dkim=none} when there is
 * none.
 *
 * <pre>{@code
 * MessageAuthentication checks = MessageAuthentication.builder().authservId("mx.example.org")
 *         .dkim(DkimVerifier.builder().resolver(resolver).build()).build();
 * SmtpServer mx = SmtpServer.builder().domain("example.org").delivery(checks.over(maildirDelivery))
 *         .listen("tcp:25").build();
 * }</pre>
 *
 * <p>Nothing is refused for a result: the checks only record (a filter or the mail client
 * decides). {@link #over} reads each message whole into memory (the server's size limit bounds
 * it) and blocks for the DNS lookups the checks make. Thread-safe.
 */
public final class MessageAuthentication {
    private final String authservId;
    private final DkimVerifier dkim;

    private MessageAuthentication(Builder b) {
        this.authservId = b.authservId;
        this.dkim = b.dkim;
    }

    /** A builder; {@link Builder#authservId} and {@link Builder#dkim} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The {@code Authentication-Results} field for {@code message}, ending in CRLF:
     * {@code Authentication-Results: mx.example.org;\r\n\tdkim=pass header.d=...}.
     *
     * @throws InterruptedException if interrupted during a lookup
     */
    public String resultsField(byte[] message) throws InterruptedException {
        List<String> entries = new ArrayList<>();
        List<DkimResult> signatures = dkim.verify(message);
        if (signatures.isEmpty()) {
            entries.add("dkim=none");
        }
        signatures.forEach(r -> entries.add(r.resultsEntry()));
        return "Authentication-Results: " + authservId + ";\r\n\t" + String.join(";\r\n\t", entries) + "\r\n";
    }

    /**
     * {@code message} as it should be stored: the new {@code Authentication-Results} field in
     * front, forged ones (our authserv-id) removed.
     *
     * @throws InterruptedException if interrupted during a lookup
     */
    public byte[] apply(byte[] message) throws InterruptedException {
        String field = resultsField(message);
        return MessageText.parse(message).rewrite(field,
                f -> f.name().equals("authentication-results") && authservId.equalsIgnoreCase(authservIdOf(f.value())));
    }

    /** The authserv-id an {@code Authentication-Results} value names: its first token, comments skipped. */
    static String authservIdOf(String value) {
        String v = value.replaceAll("\\([^()]*\\)", " ").strip();
        int end = 0;
        while (end < v.length() && v.charAt(end) != ';' && !Character.isWhitespace(v.charAt(end))) {
            end++;
        }
        return v.substring(0, end).toLowerCase(Locale.ROOT);
    }

    /**
     * A delivery that {@linkplain #apply applies} the checks to each message, then hands it to
     * {@code delivery}. Errors are {@code delivery}'s own; the checks themselves never fail a
     * message (a DNS failure is a {@code temperror} result).
     */
    public <T> MailDelivery<T> over(MailDelivery<T> delivery) {
        return WrappedDelivery.rewriting(delivery, (envelope, message) -> apply(message));
    }

    /** A configuration. */
    public static final class Builder {
        private String authservId;
        private DkimVerifier dkim;

        private Builder() {}

        /** The name this server signs its results with (RFC 8601 §2.5): usually its host name. */
        public Builder authservId(String id) {
            String v = Objects.requireNonNull(id, "id").strip();
            if (!v.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
                throw new IllegalArgumentException("not a host name for an authserv-id: " + id);
            }
            this.authservId = v.toLowerCase(Locale.ROOT);
            return this;
        }

        /** The DKIM verifier. */
        public Builder dkim(DkimVerifier verifier) {
            this.dkim = Objects.requireNonNull(verifier, "verifier");
            return this;
        }

        /**
         * The checks.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public MessageAuthentication build() {
            if (authservId == null) {
                throw new IllegalStateException("authservId(...) is required");
            }
            if (dkim == null) {
                throw new IllegalStateException("dkim(...) is required");
            }
            return new MessageAuthentication(this);
        }
    }
}

package dev.twine.mail.sieve;

import java.util.List;

/**
 * The message and envelope a Sieve script looks at. A deliverer implements it over what it has
 * (the SMTP envelope and the stored message); {@link SieveScript#evaluate} calls it on the
 * delivering thread and only for what the script tests.
 */
public interface SieveMessage {

    /**
     * The envelope sender (RFC 5228 §5.4 {@code "from"}), without angle brackets.
     *
     * @return the reverse path, empty for the null sender {@code <>}
     */
    String envelopeFrom();

    /**
     * The envelope recipient this delivery is for ({@code "to"}).
     *
     * @return the forward path, without angle brackets
     */
    String envelopeTo();

    /**
     * Every value of a header field, in order, unfolded and with RFC 2047 encoded words decoded
     * (RFC 5228 §2.7.2).
     *
     * @param name the field name, matched without regard to case
     * @return the values; empty if the message has no such field
     */
    List<String> header(String name);

    /**
     * The message's size in octets (§5.9).
     *
     * @return the size
     */
    long size();

    /**
     * The text of the message's body for the {@code body} test (RFC 5173 {@code :text}): the
     * text parts decoded to characters, the others left out.
     *
     * @return the body text
     */
    String bodyText();

    /**
     * The message as a deliverer has it: its bytes (header, blank line, body) and its envelope.
     * The header is parsed here; the body only when the {@code body} test asks for it (text parts
     * decoded with their charsets, the first MiB of text at most).
     *
     * @param envelopeFrom the reverse path, empty for {@code <>}
     * @param envelopeTo the recipient the delivery is for
     * @param message the message's bytes, not copied: they must not change while it is used
     * @return the message
     */
    static SieveMessage of(String envelopeFrom, String envelopeTo, byte[] message) {
        return new RawMessage(java.util.Objects.requireNonNull(envelopeFrom, "envelopeFrom"),
                java.util.Objects.requireNonNull(envelopeTo, "envelopeTo"), java.util.Objects.requireNonNull(message, "message"));
    }
}

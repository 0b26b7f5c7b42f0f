package dev.twine.xmpp;

import java.util.Objects;

/**
 * Thrown by an {@link IqHandler} or a {@link StanzaInterceptor} to refuse a stanza: the server
 * answers its sender with an error stanza (RFC 6120 §8.3.1) carrying the {@linkplain #error()
 * condition} and, if not empty, the {@linkplain #text() text}, and the stanza goes no further.
 */
public final class StanzaException extends Exception {
    private final StanzaError error;
    private final String text;

    /**
     * @param error the defined condition sent back
     * @param text a human-readable explanation sent in the error's {@code <text/>} (RFC 6120
     *     §8.3.2), or empty for none
     */
    public StanzaException(StanzaError error, String text) {
        super(Objects.requireNonNull(error, "error").condition() + (text.isEmpty() ? "" : ": " + text));
        this.error = error;
        this.text = text;
    }

    /** A refusal with no explanation. */
    public StanzaException(StanzaError error) {
        this(error, "");
    }

    /** The condition sent back. */
    public StanzaError error() {
        return error;
    }

    /** The explanation sent back, or empty. */
    public String text() {
        return text;
    }
}

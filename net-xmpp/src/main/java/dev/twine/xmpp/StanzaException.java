package dev.twine.xmpp;

import java.util.Objects;
import java.util.Optional;

/**
 * Thrown by an {@link IqHandler} or a {@link StanzaInterceptor} to refuse a stanza: the server
 * answers its sender with an error stanza (RFC 6120 §8.3.1) carrying the {@linkplain #error()
 * condition} and, if not empty, the {@linkplain #text() text}, and the stanza goes no further. An
 * {@linkplain #application() application-specific condition} (RFC 6120 §8.3.2), such as XEP-0060's
 * {@code <precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/>}, goes with it.
 */
public final class StanzaException extends Exception {
    private final StanzaError error;
    private final String text;
    private final Element application;

    /**
     * @param error the defined condition sent back
     * @param text a human-readable explanation sent in the error's {@code <text/>} (RFC 6120
     *     §8.3.2), or empty for none
     */
    public StanzaException(StanzaError error, String text) {
        super(Objects.requireNonNull(error, "error").condition() + (text.isEmpty() ? "" : ": " + text));
        this.error = error;
        this.text = text;
        this.application = null;
    }

    /**
     * A refusal with an application-specific condition (RFC 6120 §8.3.2): an element in the
     * application's namespace, sent inside {@code <error/>} after the defined condition.
     *
     * @param error the defined condition sent back
     * @param application the application's condition, {@code <payload-too-big xmlns='http://jabber.org/protocol/pubsub#errors'/>}
     * @param text an explanation, or empty for none
     * @throws IllegalArgumentException if the element is in the stanza error namespace
     */
    public StanzaException(StanzaError error, Element application, String text) {
        super(Objects.requireNonNull(error, "error").condition() + " (" + Objects.requireNonNull(application, "application").name() + ")"
                + (text.isEmpty() ? "" : ": " + text));
        if (application.namespace().equals("urn:ietf:params:xml:ns:xmpp-stanzas")) {
            throw new IllegalArgumentException("an application condition has a namespace of its own (RFC 6120 §8.3.2)");
        }
        this.error = error;
        this.text = text;
        this.application = application;
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

    /** The application-specific condition sent with the defined one, if any. */
    public Optional<Element> application() {
        return Optional.ofNullable(application);
    }
}

package dev.twine.xmpp;

import java.io.IOException;

/**
 * An XMPP-level failure seen by {@link XmppClient}: a stream error, a failed negotiation step or
 * an IQ error reply. The condition is the RFC 6120 defined condition's element name.
 */
public final class XmppException extends IOException {
    private final String condition;

    /**
     * @param condition the defined condition ({@code not-authorized}, {@code service-unavailable})
     * @param message what failed
     */
    public XmppException(String condition, String message) {
        super(message + " (" + condition + ")");
        this.condition = condition;
    }

    /** The defined condition's element name. */
    public String condition() {
        return condition;
    }
}

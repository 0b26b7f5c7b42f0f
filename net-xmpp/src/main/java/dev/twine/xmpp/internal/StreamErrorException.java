package dev.twine.xmpp.internal;

/**
 * A condition that ends the XML stream with a stream error (RFC 6120 §4.9.3): the session sends
 * {@code <stream:error>} with this condition and closes that stream only.
 */
public final class StreamErrorException extends Exception {
    private final String condition;

    /**
     * @param condition the defined condition's element name, {@code policy-violation}
     * @param text a human-readable explanation (may be empty)
     */
    public StreamErrorException(String condition, String text) {
        super(condition + (text.isEmpty() ? "" : ": " + text));
        this.condition = condition;
    }

    /** The defined condition's element name. */
    public String condition() {
        return condition;
    }

    /** The explanation given at construction. */
    public String text() {
        String m = getMessage();
        int i = m.indexOf(": ");
        return i < 0 ? "" : m.substring(i + 2);
    }
}

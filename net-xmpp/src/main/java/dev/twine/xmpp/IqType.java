package dev.twine.xmpp;

/** The two kinds of IQ request (RFC 6120 §8.2.3): an {@link IqHandler} is registered for one. */
public enum IqType {
    /** {@code type='get'}: asks for information. */
    GET,
    /** {@code type='set'}: provides data or asks for a change. */
    SET;

    /** The attribute value, {@code get} or {@code set}. */
    public String attribute() {
        return this == GET ? "get" : "set";
    }
}

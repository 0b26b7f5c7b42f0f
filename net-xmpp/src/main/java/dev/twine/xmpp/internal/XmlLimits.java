package dev.twine.xmpp.internal;

/**
 * Hard limits on what one peer may send on one stream (RFC 6120 §13.12: a server has to protect
 * itself from resource exhaustion). Exceeding one is a {@code policy-violation} stream error.
 *
 * @param maxStanzaBytes bytes read from the network for one top-level element; RFC 6120 §13.12
 *     asks servers to accept at least 10,000
 * @param maxDepth element nesting inside one stanza (the stanza itself is depth 1)
 * @param maxAttributes attributes (namespace declarations included) on one element
 */
public record XmlLimits(int maxStanzaBytes, int maxDepth, int maxAttributes) {
    /** 256 KiB stanzas (Prosody's default), depth 32, 64 attributes. */
    public static final XmlLimits DEFAULT = new XmlLimits(256 * 1024, 32, 64);

    /** Checks the limits are positive. */
    public XmlLimits {
        if (maxStanzaBytes < 10_000 || maxDepth < 4 || maxAttributes < 4) {
            throw new IllegalArgumentException("XML limits too small");
        }
    }
}

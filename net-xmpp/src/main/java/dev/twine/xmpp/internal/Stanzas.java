package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;

/** Builders for the error and control elements RFC 6120 defines. */
final class Stanzas {
    static final String STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";
    static final String STREAMS_NS = "urn:ietf:params:xml:ns:xmpp-streams";
    static final String SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";
    static final String TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
    static final String BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind";
    static final String SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session";

    private Stanzas() {}

    /** The error type RFC 6120 §8.3.3 suggests for each defined condition. */
    static String errorType(String condition) {
        for (StanzaError e : StanzaError.values()) {
            if (e.condition().equals(condition)) {
                return e.type();
            }
        }
        return "cancel";
    }

    /**
     * The error reply to a stanza (RFC 6120 §8.3.1): same name and id, addresses swapped, type
     * error, the original payload kept, plus the {@code <error/>}.
     */
    static Element error(Element stanza, String condition, String ns) {
        return error(stanza, condition, "", ns);
    }

    /** As {@link #error(Element, String, String)}, with a {@code <text/>} unless {@code text} is empty (§8.3.2). */
    static Element error(Element stanza, String condition, String text, String ns) {
        return error(stanza, condition, text, null, ns);
    }

    /** As {@link #error(Element, String, String, String)}, with an application-specific condition unless null (§8.3.2). */
    static Element error(Element stanza, String condition, String text, Element application, String ns) {
        Element e = Element.of(stanza.name(), ns).withChildren(
                stanza.name().equals("iq") ? stanza.children() : java.util.List.of());
        Element out = e.withAttribute("type", "error");
        if (stanza.attribute("id").isPresent()) {
            out = out.withAttribute("id", stanza.attributeOrEmpty("id"));
        }
        if (stanza.attribute("from").isPresent()) {
            out = out.withAttribute("to", stanza.attributeOrEmpty("from"));
        }
        if (stanza.attribute("to").isPresent()) {
            out = out.withAttribute("from", stanza.attributeOrEmpty("to"));
        }
        Element error = Element.of("error", ns).withAttribute("type", errorType(condition))
                .withChild(Element.of(condition, STANZAS_NS));
        if (!text.isEmpty()) {
            error = error.withChild(Element.of("text", STANZAS_NS).withText(text));
        }
        if (application != null) {
            error = error.withChild(application);
        }
        return out.withChild(error);
    }

    /** An IQ result for a request, optionally with a payload. */
    static Element result(Element iq, Jid from, Element payload) {
        Element r = Element.of("iq", iq.namespace()).withAttribute("type", "result")
                .withAttribute("id", iq.attributeOrEmpty("id"));
        if (iq.attribute("from").isPresent()) {
            r = r.withAttribute("to", iq.attributeOrEmpty("from"));
        }
        if (from != null) {
            r = r.withAttribute("from", from.toString());
        }
        return payload == null ? r : r.withChild(payload);
    }

    /** {@code <stream:error>} text followed by the closing tag (RFC 6120 §4.9). */
    static String streamError(String condition, String text) {
        StringBuilder sb = new StringBuilder("<stream:error><").append(condition).append(" xmlns='").append(STREAMS_NS).append("'/>");
        if (!text.isEmpty()) {
            sb.append("<text xmlns='").append(STREAMS_NS).append("'>");
            Element.escape(sb, text, false);
            sb.append("</text>");
        }
        return sb.append("</stream:error></stream:stream>").toString();
    }

    /** Parses an address attribute, or returns null if it is absent. */
    static Jid jidOrNull(Element stanza, String attribute) {
        String s = stanza.attributeOrEmpty(attribute);
        return s.isEmpty() ? null : Jid.parse(s);
    }
}

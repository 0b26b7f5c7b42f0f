package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.XmppException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The component's end of one XEP-0114 stream ("jabber:component:accept"), the counterpart of
 * {@link ComponentSession}: the header naming the component's domain, the handshake
 * ({@code hex(SHA-1(streamId + secret))}, XEP-0114 §3), then stanzas in both directions.
 * {@code XmppComponent} owns the threads and the handler; this class only reads and writes XML.
 *
 * <p>Reading is for one thread. Writing is not locked here: the caller serialises writes.
 */
public final class ComponentStream {
    /** The stanza namespace of component streams. */
    public static final String NS = ComponentSession.NS;

    private final Connection conn;
    private final XmlReader reader;

    private ComponentStream(Connection conn, XmlReader reader) {
        this.conn = conn;
        this.reader = reader;
    }

    /**
     * Opens the stream for {@code domain} and performs the handshake, on the calling thread,
     * each read bounded by the connection's read timeout.
     *
     * @return the stream, ready for stanzas
     * @throws XmppException if the server answers with a stream error ({@code not-authorized}
     *     for a wrong secret, {@code host-unknown} for a domain it does not serve,
     *     {@code conflict} when the domain is connected already) or breaks the protocol
     * @throws IOException if the connection fails or ends
     */
    public static ComponentStream open(Connection conn, String domain, String secret, XmlLimits limits) throws IOException {
        write(conn, "<?xml version='1.0'?><stream:stream xmlns='" + NS + "' xmlns:stream='" + XmlReader.STREAMS
                + "' to='" + escape(domain) + "'>");
        XmlReader reader = new XmlReader(conn.input(), limits);
        ComponentStream stream = new ComponentStream(conn, reader);
        Element header;
        try {
            header = reader.readHeader();
        } catch (StreamErrorException e) {
            throw new XmppException(e.condition(), "bad stream header from the server: " + e.text());
        }
        String id = header.attributeOrEmpty("id");
        if (id.isEmpty()) {
            // Prosody and Twine send an empty or no id before a stream error (an unknown host):
            // read on to report the error rather than a missing id
            Element next = stream.nextOrFail(domain);
            throw new XmppException("invalid-id", "the server's stream header has no id; then it sent <" + next.name() + "/>");
        }
        if (!reader.defaultNamespace().equals(NS)) {
            throw new XmppException("invalid-namespace", "the server did not open a " + NS + " stream");
        }
        write(conn, "<handshake>" + ComponentSession.sha1Hex(id + secret) + "</handshake>");
        Element reply = stream.nextOrFail(domain);
        if (!reply.is("handshake", NS)) {
            throw new XmppException("not-authorized", "expected <handshake/> from the server, got <" + reply.name() + "/>");
        }
        return stream;
    }

    /** The next element during the handshake; a stream error or the end is an exception. */
    private Element nextOrFail(String domain) throws IOException {
        Element e = next();
        if (e == null) {
            throw new EOFException("the server closed the stream during the handshake");
        }
        if (e.is("error", XmlReader.STREAMS)) {
            throw streamError(e, domain);
        }
        return e;
    }

    /**
     * The next top-level element: a stanza, or a {@code <stream:error/>} (which the caller turns
     * into {@link #streamError}).
     *
     * @return the element, or null once the server has closed the stream ({@code </stream:stream>})
     * @throws XmppException if the server's XML is bad or breaks the limits; the stream error has
     *     been sent to the server already
     * @throws EOFException if the connection ends without the closing tag
     * @throws IOException if reading fails (a read timeout: {@link java.net.SocketTimeoutException})
     */
    public Element next() throws IOException {
        try {
            return reader.next();
        } catch (EOFException e) {
            EOFException named = new EOFException("the server closed the connection without ending the stream");
            named.initCause(e);
            throw named;
        } catch (StreamErrorException e) {
            try {
                write(conn, Stanzas.streamError(e.condition(), e.text()));
            } catch (IOException alsoBroken) {
                e.addSuppressed(alsoBroken);
            }
            throw new XmppException(e.condition(), "bad stream from the server: " + e.text());
        }
    }

    /**
     * What a {@code <stream:error/>} from the server means, as an exception with a message an
     * operator can act on (RFC 6120 §4.9.3, XEP-0114 §3).
     */
    public static XmppException streamError(Element error, String domain) {
        String condition = "undefined-condition";
        String text = "";
        for (Element c : error.children()) {
            if (c.namespace().equals(Stanzas.STREAMS_NS)) {
                if (c.name().equals("text")) {
                    text = c.text().strip();
                } else {
                    condition = c.name();
                }
            }
        }
        String what = switch (condition) {
            case "not-authorized" -> "the server refused the handshake for " + domain + ": wrong secret";
            case "host-unknown" -> "the server has no component " + domain + " configured";
            case "conflict" -> "another component is connected as " + domain + " already";
            default -> "the server ended the stream of " + domain + " with a stream error";
        };
        return new XmppException(condition, what + (text.isEmpty() ? "" : " (the server says: " + text + ")"));
    }

    /**
     * The error reply to {@code stanza} (RFC 6120 §8.3.1), or empty where none may be sent:
     * never to an error, nor to an IQ result (RFC 6120 §8.2.3).
     *
     * @param text the error's {@code <text/>} (§8.3.2), or empty for none
     */
    public static Optional<Element> errorReply(Element stanza, StanzaError error, String text) {
        return errorReply(stanza, error, text, null);
    }

    /** A handler's refusal as its error reply, with its application-specific condition (§8.3.2) if any. */
    public static Optional<Element> errorReply(Element stanza, dev.twine.xmpp.StanzaException e) {
        return errorReply(stanza, e.error(), e.text(), e.application().orElse(null));
    }

    private static Optional<Element> errorReply(Element stanza, StanzaError error, String text, Element application) {
        String type = stanza.attributeOrEmpty("type");
        if (type.equals("error") || stanza.name().equals("iq") && !type.equals("get") && !type.equals("set")) {
            return Optional.empty();
        }
        return Optional.of(Stanzas.error(stanza, error.condition(), text, application, NS));
    }

    /** Writes raw XML and flushes. */
    public void write(String xml) throws IOException {
        write(conn, xml);
    }

    /** Ends the stream with a stream error and the closing tag (RFC 6120 §4.9). */
    public void writeStreamError(String condition, String text) throws IOException {
        write(conn, Stanzas.streamError(condition, text));
    }

    private static void write(Connection conn, String xml) throws IOException {
        conn.output().write(xml.getBytes(StandardCharsets.UTF_8));
        conn.flush();
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        Element.escape(sb, s, true);
        return sb.toString();
    }
}

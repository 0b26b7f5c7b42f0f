package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * XMPP over WebSocket (RFC 7395) on one connection: the upgrade ({@link WebSocket}), then the same
 * client session as a TCP stream ({@link C2sSession}), on a connection carried inside this one
 * ({@link Connection#carrying}) whose bytes are translated. Each client message is one whole
 * element (§3.3.3): {@code <open/>} becomes a stream header, {@code <close/>} the end of the
 * stream, anything else passes as it is. The session's output is cut into its top-level elements,
 * each sent as one message with its namespaces declared: the header becomes {@code <open/>},
 * {@code </stream:stream>} {@code <close/>}. TLS is the WebSocket's ({@code wss:}, a {@code tls:}
 * endpoint); STARTTLS is never offered (§3.6).
 */
public final class WsSession {
    static final String FRAMING_NS = "urn:ietf:params:xml:ns:xmpp-framing";
    private static final XMLInputFactory XML = XMLInputFactory.newFactory();

    static {
        XML.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        XML.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        XML.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, true);
    }

    private WsSession() {}

    /**
     * Runs one WebSocket client connection on its thread until it ends.
     *
     * @param origins the allowed {@code Origin} header values; empty allows any
     */
    public static void run(Hub hub, Connection conn, Set<String> origins) throws IOException {
        WebSocket ws = WebSocket.accept(conn, "/xmpp-websocket", "xmpp", origins, hub.limits.maxStanzaBytes());
        if (ws == null) {
            conn.close();
            return;
        }
        Connection inner = conn.carrying(new FromClient(ws), new ToClient(ws));
        try {
            new C2sSession(hub, inner, true).run();
        } finally {
            try {
                ws.close(WebSocket.NORMAL, "");
            } catch (IOException e) {
                // the connection is gone
            }
            inner.close();
            inner.scope().cancel();
            inner.scope().close();
        }
    }

    /** The client's messages as the bytes of an XMPP stream. */
    private static final class FromClient extends InputStream {
        private final WebSocket ws;
        private byte[] buf = new byte[0];
        private int pos;
        private boolean ended;

        FromClient(WebSocket ws) {
            this.ws = ws;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (pos == buf.length) {
                if (ended) {
                    return -1;
                }
                String message;
                try {
                    message = ws.receive();
                } catch (WebSocket.ProtocolException e) {
                    ws.close(e.code, e.getMessage());
                    throw e;
                }
                if (message == null) {
                    ended = true;
                    buf = "</stream:stream>".getBytes(StandardCharsets.UTF_8);
                } else {
                    buf = translate(message).getBytes(StandardCharsets.UTF_8);
                }
                pos = 0;
            }
            int n = Math.min(len, buf.length - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public int available() {
            return buf.length - pos;
        }

        /** RFC 7395 §3.3.2, §3.6: {@code <open/>} and {@code <close/>} to the stream's own header and end. */
        private String translate(String message) {
            try {
                XMLStreamReader r = XML.createXMLStreamReader(new StringReader(message));
                try {
                    while (r.hasNext() && r.next() != XMLStreamConstants.START_ELEMENT) {
                        // the first element decides
                    }
                    if (r.isStartElement() && FRAMING_NS.equals(r.getNamespaceURI())) {
                        if (r.getLocalName().equals("close")) {
                            ended = true;
                            return "</stream:stream>";
                        }
                        if (r.getLocalName().equals("open")) {
                            StringBuilder h = new StringBuilder("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='")
                                    .append(XmlReader.STREAMS).append('\'');
                            for (int i = 0; i < r.getAttributeCount(); i++) {
                                String prefix = r.getAttributePrefix(i);
                                h.append(' ').append(prefix == null || prefix.isEmpty() ? "" : prefix + ":").append(r.getAttributeLocalName(i))
                                        .append("='").append(S2sIn.attr(r.getAttributeValue(i))).append('\'');
                            }
                            return h.append('>').toString();
                        }
                    }
                } finally {
                    r.close();
                }
            } catch (XMLStreamException e) {
                // not well-formed: the session's parser says so in its own stream error
            }
            return message;
        }
    }

    /** The session's stream cut into top-level elements, each one message. */
    private static final class ToClient extends OutputStream {
        private static final Pattern ATTR = Pattern.compile("\\s(from|id|version|xml:lang)='([^']*)'");
        private final WebSocket ws;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        /** Where the element being cut began in {@link #text}, and how deep the scan is. */
        private final StringBuilder text = new StringBuilder();
        private int scanned;
        private int depth;
        private int start = -1;

        ToClient(WebSocket ws) {
            this.ws = ws;
        }

        @Override
        public void write(int b) {
            pending.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            pending.write(b, off, len);
        }

        /**
         * Cuts what was written into elements. The session writes whole UTF-8 strings of its
         * own serialiser, where '<' starts a tag and '>' ends one (both are escaped elsewhere).
         */
        @Override
        public void flush() throws IOException {
            text.append(pending.toString(StandardCharsets.UTF_8));
            pending.reset();
            while (true) {
                int lt = text.indexOf("<", scanned);
                if (lt < 0) {
                    scanned = text.length(); // whitespace keepalives between elements are dropped
                    break;
                }
                int gt = text.indexOf(">", lt);
                if (gt < 0) {
                    break;
                }
                String tag = text.substring(lt, gt + 1);
                scanned = gt + 1;
                if (tag.startsWith("<?")) {
                    continue;
                }
                if (depth == 0 && tag.startsWith("<stream:stream")) {
                    StringBuilder open = new StringBuilder("<open xmlns='").append(FRAMING_NS).append('\'');
                    Matcher m = ATTR.matcher(tag);
                    while (m.find()) {
                        open.append(' ').append(m.group(1)).append("='").append(m.group(2)).append('\'');
                    }
                    ws.send(open.append("/>").toString());
                    continue;
                }
                if (depth == 0 && tag.equals("</stream:stream>")) {
                    ws.send("<close xmlns='" + FRAMING_NS + "'/>");
                    ws.close(WebSocket.NORMAL, ""); // RFC 7395 §3.6: then the WebSocket closing handshake
                    continue;
                }
                if (tag.startsWith("</")) {
                    depth--;
                } else {
                    if (depth == 0) {
                        start = lt;
                    }
                    if (!tag.endsWith("/>")) {
                        depth++;
                    }
                }
                if (depth == 0 && start >= 0) {
                    ws.send(declared(text.substring(start, gt + 1)));
                    start = -1;
                }
            }
            int keep = start >= 0 ? start : scanned;
            text.delete(0, keep);
            scanned -= keep;
            if (start >= 0) {
                start = 0;
            }
        }

        /** RFC 7395 §3.3.3: a message stands alone, so the stream's prefix and default namespace are declared in it. */
        private static String declared(String element) {
            int nameEnd = 1;
            while (nameEnd < element.length() && " />".indexOf(element.charAt(nameEnd)) < 0) {
                nameEnd++;
            }
            String name = element.substring(1, nameEnd);
            int tagEnd = element.indexOf('>');
            String startTag = element.substring(0, tagEnd);
            String add;
            if (name.startsWith("stream:")) {
                add = " xmlns:stream='" + XmlReader.STREAMS + "'";
            } else if (!startTag.contains(" xmlns='") && !startTag.contains(" xmlns=\"")) {
                add = " xmlns='jabber:client'";
            } else {
                return element;
            }
            return element.substring(0, nameEnd) + add + element.substring(nameEnd);
        }
    }
}

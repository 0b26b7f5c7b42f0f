package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Reads one XML stream (RFC 6120 §4) with the JDK's StAX parser straight from a connection's
 * input, on the calling thread: first the {@code <stream:stream>} header, then one top-level
 * element at a time.
 *
 * <p>Hardening (RFC 6120 §11.1, §13.12): DTDs and external entities are switched off, and a DTD,
 * comment, processing instruction or entity reference is a {@code restricted-xml} error; the
 * bytes per stanza, the nesting depth and the attribute count are limited
 * ({@code policy-violation}); malformed XML is {@code not-well-formed}.
 *
 * <p>A stream restart (after STARTTLS or SASL success) makes a new reader: whatever the old parser
 * had read ahead is dropped with it, which is what STARTTLS needs (RFC 6120 §5.4.3.3). Clients do
 * not pipeline across a restart, so nothing of the new stream is lost.
 */
public final class XmlReader {
    /** The streams namespace of {@code <stream:stream>}, {@code <stream:features>}, {@code <stream:error>}. */
    public static final String STREAMS = "http://etherx.jabber.org/streams";

    private static final XMLInputFactory FACTORY = newFactory();
    /**
     * Parsers are costly to make (a third of the server's CPU when one was made per stanza) and
     * an idle stream should not keep one, so idle streams park theirs here and busy ones take
     * one back. Bounded: a parser offered to a full pool is dropped.
     */
    private static final ParserPool POOL = new ParserPool(64);
    /** Bytes after which a parser is replaced at the next stanza boundary. */
    private static final long RETIRE_BYTES = 1 << 20;

    private final Gate in;
    private final XmlLimits limits;
    private XMLStreamReader parser;
    /** What {@link #parser} reads through; null when there is no parser. */
    private Relay relay;
    private String defaultNamespace = "";
    /** The peer's stream start tag, re-created with its namespace declarations, to revive a dropped parser. */
    private byte[] rootTag;

    /** A reader over {@code in}; nothing is read until {@link #readHeader()}. */
    public XmlReader(InputStream in, XmlLimits limits) {
        this.in = new Gate(in, limits.maxStanzaBytes());
        this.limits = limits;
    }

    private static XMLInputFactory newFactory() {
        XMLInputFactory f = XMLInputFactory.newDefaultFactory();
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        f.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, true);
        f.setProperty(XMLInputFactory.IS_COALESCING, false);
        f.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, false);
        return f;
    }

    /**
     * Sets what runs on this thread just before a read that would wait for the peer: a server
     * flushes the writes it held back while more input was already at hand.
     */
    public void beforeWait(Runnable action) {
        in.beforeWait = action;
    }

    /** The default namespace the peer declared on its stream header ({@code jabber:client}). */
    public String defaultNamespace() {
        return defaultNamespace;
    }

    /**
     * Reads up to and including the peer's {@code <stream:stream>} start tag.
     *
     * @return the header as an element without children (its attributes: to, from, id, version, xml:lang)
     * @throws StreamErrorException if it is not a stream header or the XML is bad
     * @throws java.io.EOFException if the peer closed before sending one
     * @throws IOException if reading fails
     */
    public Element readHeader() throws StreamErrorException, IOException {
        try {
            try {
                relay = new Relay(null, in);
                parser = FACTORY.createXMLStreamReader(relay, "UTF-8");
            } catch (XMLStreamException e) {
                if (in.ioFailure != null) {
                    throw in.ioFailure;
                }
                throw e;
            }
            while (true) {
                int ev = advance();
                switch (ev) {
                    case XMLStreamConstants.START_ELEMENT -> {
                        if (!"stream".equals(parser.getLocalName()) || !STREAMS.equals(parser.getNamespaceURI())) {
                            // RFC 6120 §4.8.1: wrong stream namespace or root element
                            throw new StreamErrorException("invalid-namespace", "expected <stream:stream>");
                        }
                        StringBuilder root = new StringBuilder("<");
                        String rp = parser.getPrefix();
                        root.append(rp == null || rp.isEmpty() ? "" : rp + ":").append("stream");
                        for (int i = 0; i < parser.getNamespaceCount(); i++) {
                            String p = parser.getNamespacePrefix(i);
                            root.append(p == null || p.isEmpty() ? " xmlns" : " xmlns:" + p).append("='");
                            Element.escape(root, parser.getNamespaceURI(i), true);
                            root.append('\'');
                        }
                        rootTag = root.append('>').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        String dn = parser.getNamespaceContext().getNamespaceURI("");
                        defaultNamespace = dn == null ? "" : dn;
                        Element header = Element.of("stream", STREAMS);
                        for (int i = 0; i < parser.getAttributeCount(); i++) {
                            header = header.withAttribute(attributeName(i), parser.getAttributeValue(i));
                        }
                        in.mark();
                        return header;
                    }
                    case XMLStreamConstants.START_DOCUMENT, XMLStreamConstants.SPACE -> { }
                    case XMLStreamConstants.CHARACTERS -> {
                        if (!parser.isWhiteSpace()) {
                            throw new StreamErrorException("not-well-formed", "text before the stream header");
                        }
                    }
                    case XMLStreamConstants.END_DOCUMENT -> throw new java.io.EOFException("stream closed before its header");
                    default -> throw restricted(ev);
                }
            }
        } catch (XMLStreamException e) {
            throw translate(e);
        }
    }

    /**
     * Reads the next top-level element. Whitespace between elements (RFC 6120 §4.6.1 keepalives)
     * is skipped.
     *
     * @return the element, or null when the peer closed the stream with {@code </stream:stream>}
     * @throws StreamErrorException if the XML is bad or breaks a limit
     * @throws java.io.EOFException if the connection ended without a closing tag
     * @throws IOException if reading fails
     */
    public Element next() throws StreamErrorException, IOException {
        while (true) {
            // Here the parser (if any) stands between two top-level elements and holds no bytes.
            in.skipTopLevelWhitespace();
            if (parser != null && relay.bytes > RETIRE_BYTES) {
                // a long-lived parser's symbol table grows with every new name it sees: start afresh
                parser = null;
                relay = null;
            }
            if (in.pending() == 0 && !in.sourceHasData()) {
                // Idle between stanzas: park the parser (tens of KiB) for any stream to reuse and
                // wait on the bare connection; a parser continues the stream when data comes.
                park();
                if (!in.awaitData()) {
                    throw new java.io.EOFException("stream ended");
                }
                continue;
            }
            if (parser == null) {
                revive();
            }
            while (true) {
                int ev = advance();
                switch (ev) {
                    case XMLStreamConstants.START_ELEMENT -> {
                        Element e = readElement();
                        in.mark();
                        return e;
                    }
                    case XMLStreamConstants.END_ELEMENT -> {
                        return null; // only </stream:stream> can end at this level
                    }
                    case XMLStreamConstants.CHARACTERS, XMLStreamConstants.SPACE -> {
                        // The parser may already hold the start of the next element after this
                        // whitespace, so it must go on reading: no parking until an element ends.
                        if (!parser.isWhiteSpace()) {
                            throw new StreamErrorException("bad-format", "text between stanzas");
                        }
                    }
                    case XMLStreamConstants.END_DOCUMENT -> throw new java.io.EOFException("stream ended");
                    default -> throw restricted(ev);
                }
            }
        }
    }

    /** Hands the idle parser to the pool, detached from this stream. */
    private void park() {
        if (parser != null) {
            relay.source = null;
            POOL.offer(new Parked(parser, relay, rootTag));
            parser = null;
            relay = null;
        }
    }

    /**
     * A parser that continues the stream: an idle one from the pool that was parked inside a root
     * element with the same namespace declarations, or a new one that first reads the stream's
     * start tag again.
     */
    private void revive() throws StreamErrorException, IOException {
        Parked p = POOL.take(rootTag);
        if (p != null) {
            parser = p.parser();
            relay = p.relay();
            relay.source = in;
            return;
        }
        relay = new Relay(rootTag, in);
        try {
            parser = FACTORY.createXMLStreamReader(relay, "UTF-8");
        } catch (XMLStreamException e) {
            throw translate(e);
        }
        while (true) {
            int ev = advance();
            if (ev == XMLStreamConstants.START_ELEMENT) {
                return;
            }
            if (ev != XMLStreamConstants.START_DOCUMENT) {
                throw new StreamErrorException("internal-server-error", "could not resume the stream");
            }
        }
    }

    private int advance() throws StreamErrorException, IOException {
        try {
            return parser.next();
        } catch (XMLStreamException e) {
            if (in.ioFailure != null) {
                throw in.ioFailure;
            }
            throw translate(e);
        } catch (RuntimeException e) {
            if (in.ioFailure != null) {
                throw in.ioFailure;
            }
            // the JDK parser reports some I/O and limit failures unchecked
            if (in.overLimit) {
                throw new StreamErrorException("policy-violation", "stanza larger than " + limits.maxStanzaBytes() + " bytes");
            }
            throw new StreamErrorException("not-well-formed", String.valueOf(e.getMessage()));
        }
    }

    /** An element being read: mutable until its end tag. */
    private static final class Open {
        final String name;
        final String namespace;
        final java.util.Map<String, String> attributes;
        final java.util.List<Element> children = new java.util.ArrayList<>(2);
        final StringBuilder text = new StringBuilder();

        Open(String name, String namespace, java.util.Map<String, String> attributes) {
            this.name = name;
            this.namespace = namespace;
            this.attributes = attributes;
        }

        Element close() {
            String t = text.length() == 0 || !children.isEmpty() && text.toString().isBlank() ? "" : text.toString();
            return Element.of(name, namespace, attributes, children, t);
        }
    }

    private Element readElement() throws StreamErrorException, IOException {
        Deque<Open> stack = new ArrayDeque<>();
        stack.push(start());
        while (true) {
            int ev = advance();
            switch (ev) {
                case XMLStreamConstants.START_ELEMENT -> {
                    if (stack.size() >= limits.maxDepth()) {
                        throw new StreamErrorException("policy-violation", "elements nested deeper than " + limits.maxDepth());
                    }
                    stack.push(start());
                }
                case XMLStreamConstants.CHARACTERS, XMLStreamConstants.SPACE, XMLStreamConstants.CDATA ->
                        stack.peek().text.append(parser.getTextCharacters(), parser.getTextStart(), parser.getTextLength());
                case XMLStreamConstants.END_ELEMENT -> {
                    Element done = stack.pop().close();
                    if (stack.isEmpty()) {
                        return done;
                    }
                    stack.peek().children.add(done);
                }
                case XMLStreamConstants.END_DOCUMENT -> throw new StreamErrorException("not-well-formed", "stream ended inside a stanza");
                default -> throw restricted(ev);
            }
        }
    }

    private Open start() throws StreamErrorException {
        int n = parser.getAttributeCount() + parser.getNamespaceCount();
        if (n > limits.maxAttributes()) {
            throw new StreamErrorException("policy-violation", "more than " + limits.maxAttributes() + " attributes on one element");
        }
        String ns = parser.getNamespaceURI();
        java.util.Map<String, String> attrs = new java.util.LinkedHashMap<>();
        for (int i = 0; i < parser.getAttributeCount(); i++) {
            String name = attributeName(i);
            // A prefixed attribute needs its prefix declared wherever the element is written again;
            // rather than forward a declaration-dependent name (which could break the recipient's
            // stream), keep only unprefixed ones and xml:lang.
            if (name.indexOf(':') < 0 || name.startsWith("xml:")) {
                attrs.put(name, parser.getAttributeValue(i));
            }
        }
        return new Open(parser.getLocalName(), ns == null ? "" : ns, attrs);
    }

    private String attributeName(int i) {
        String prefix = parser.getAttributePrefix(i);
        String local = parser.getAttributeLocalName(i);
        return prefix == null || prefix.isEmpty() ? local : prefix + ":" + local;
    }

    private static StreamErrorException restricted(int ev) {
        // RFC 6120 §11.1: no comments, processing instructions, DTDs or entity references
        return new StreamErrorException("restricted-xml", "XML construct " + ev + " is not allowed in XMPP");
    }

    private StreamErrorException translate(XMLStreamException e) {
        if (in.overLimit) {
            return new StreamErrorException("policy-violation", "stanza larger than " + limits.maxStanzaBytes() + " bytes");
        }
        Throwable c = e.getNestedException() != null ? e.getNestedException() : e.getCause();
        if (c instanceof java.net.SocketTimeoutException && in.ioFailure != null) {
            return new StreamErrorException("connection-timeout", "too slow");
        }
        if (c instanceof IOException && in.ioFailure != null) {
            // never the exception's text: it may name local details
            return new StreamErrorException("connection-failure", "the connection failed");
        }
        return new StreamErrorException("not-well-formed", String.valueOf(e.getMessage()).replaceAll("\\s+", " "));
    }

    /** The I/O failure under the last error, if the error came from the connection and not the XML. */
    public IOException ioFailure() {
        return in.ioFailure;
    }

    /** An idle parser standing inside a root element whose start tag was {@code rootTag}. */
    private record Parked(XMLStreamReader parser, Relay relay, byte[] rootTag) {}

    /**
     * Idle parsers, each between two top-level elements with nothing buffered: a parser has
     * consumed exactly its stream's bytes up to the end of the last element ({@link Gate} never
     * gives it more), so all it carries over is its namespace context. Another stream whose root
     * start tag declared the same namespaces (every c2s stream from the same kind of client) can
     * continue with it as if it had parsed that stream all along.
     */
    private static final class ParserPool {
        private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        private final Parked[] idle;
        private int count;

        ParserPool(int capacity) {
            idle = new Parked[capacity];
        }

        void offer(Parked p) {
            lock.lock();
            try {
                if (count < idle.length) {
                    idle[count++] = p;
                }
            } finally {
                lock.unlock();
            }
        }

        /** The most recently parked parser for this root tag, or null. */
        Parked take(byte[] rootTag) {
            lock.lock();
            try {
                for (int i = count - 1; i >= 0; i--) {
                    if (java.util.Arrays.equals(idle[i].rootTag(), rootTag)) {
                        Parked p = idle[i];
                        idle[i] = idle[--count];
                        idle[count] = null;
                        return p;
                    }
                }
                return null;
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * The stream a parser reads: first a prefix (the root start tag, when the parser continues a
     * stream it did not see begin), then whichever stream's {@link Gate} it serves now.
     */
    private static final class Relay extends InputStream {
        private final byte[] prefix;
        private int prefixPos;
        Gate source;
        /** Bytes this parser has read, to retire it after {@link #RETIRE_BYTES}. */
        long bytes;

        Relay(byte[] prefix, Gate source) {
            this.prefix = prefix;
            this.source = source;
        }

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            int n = read(b, 0, 1);
            return n < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (prefix != null && prefixPos < prefix.length) {
                int n = Math.min(len, prefix.length - prefixPos);
                System.arraycopy(prefix, prefixPos, b, off, n);
                prefixPos += n;
                return n;
            }
            int n = source.read(b, off, len);
            if (n > 0) {
                bytes += n;
            }
            return n;
        }

        @Override
        public int available() {
            int p = prefix == null ? 0 : prefix.length - prefixPos;
            return p + source.available();
        }
    }

    /**
     * What the parser reads through. It scans the bytes it buffers with a tiny lexer that finds the
     * ends of top-level elements, and never hands the parser bytes past the next such boundary.
     * So once the parser returns a top-level element, it holds no bytes of the next one, and the
     * reader may drop it while the stream is idle and start a new one later. It also counts the
     * bytes of each top-level element against the stanza limit, exactly.
     */
    private static final class Gate extends InputStream {
        private static final byte[] EMPTY = new byte[0];
        private static final int CHUNK = 4096;
        // lexer states
        private static final int CONTENT = 0;
        private static final int LT = 1;
        private static final int START_TAG = 2;
        private static final int START_SLASH = 3;
        private static final int QUOTED = 4;
        private static final int END_TAG = 5;
        private static final int PI = 6;
        private static final int PI_Q = 7;
        private static final int BANG = 8;
        private static final int COMMENT = 9;
        private static final int CDATA = 10;
        private static final int DECL = 11;
        private static final int DECL_SUBSET = 12;

        private final InputStream src;
        private final int max;
        private byte[] buf = EMPTY;
        private int pos;
        private int end;
        private int scanned;
        private int boundary = -1;
        private long sinceBoundary;
        private int state = CONTENT;
        private int depth;
        private byte quote;
        private int run;
        volatile boolean overLimit;
        volatile IOException ioFailure;
        Runnable beforeWait;

        Gate(InputStream src, int max) {
            this.src = src;
            this.max = max;
        }

        /** Starts counting a new top-level element. */
        void mark() {
            sinceBoundary = 0;
        }

        /** Unread bytes held here. */
        int pending() {
            return end - pos;
        }

        /** Whether the connection has bytes buffered that could be read without blocking. */
        boolean sourceHasData() throws IOException {
            return src.available() > 0;
        }

        /** Between top-level elements: drops whitespace (keepalives, RFC 6120 §4.6.1) the parser need not see. */
        void skipTopLevelWhitespace() {
            if (boundary >= 0 && pos < boundary) {
                return;
            }
            boundary = -1;
            if (scanned < pos) {
                scanned = pos;
            }
            while (pos < end && state == CONTENT && scanned == pos && isSpace(buf[pos])) {
                pos++;
                scanned++;
            }
            if (pos == end) {
                // nothing held: an idle stream keeps no buffer
                buf = EMPTY;
                pos = end = scanned = 0;
            }
        }

        private static boolean isSpace(byte b) {
            return b == ' ' || b == '\n' || b == '\r' || b == '\t';
        }

        /** Blocks, outside any parser, until the connection has data. False at end of stream. */
        boolean awaitData() throws IOException {
            if (pos < end) {
                return true;
            }
            int first;
            try {
                waiting();
                first = src.read();
            } catch (IOException e) {
                ioFailure = e;
                throw e;
            }
            if (first < 0) {
                return false;
            }
            buf = new byte[CHUNK];
            buf[0] = (byte) first;
            pos = scanned = 0;
            end = 1;
            boundary = -1;
            int more = Math.min(src.available(), CHUNK - 1);
            if (more > 0) {
                int n = src.read(buf, 1, more);
                if (n > 0) {
                    end += n;
                }
            }
            return true;
        }

        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            int n = read(b, 0, 1);
            return n < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int available() {
            int lim = boundary >= 0 ? boundary : scanned;
            return Math.max(0, lim - pos);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (overLimit) {
                throw new IOException("stanza too large");
            }
            if (boundary >= 0 && pos == boundary) {
                boundary = -1; // the parser finished that element and wants the next one
                sinceBoundary = 0;
            }
            while (pos == end) {
                if (!fill()) {
                    return -1;
                }
            }
            scan();
            int lim = boundary >= 0 ? boundary : scanned;
            int n = Math.min(len, lim - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            sinceBoundary += n;
            if (sinceBoundary > max) {
                overLimit = true;
                throw new IOException("stanza too large");
            }
            return n;
        }

        /** Runs {@link #beforeWait} if the next read of the connection may block. */
        private void waiting() throws IOException {
            if (beforeWait != null && src.available() == 0) {
                beforeWait.run();
            }
        }

        private boolean fill() throws IOException {
            if (buf.length == 0) {
                buf = new byte[CHUNK];
            }
            pos = end = scanned = 0;
            boundary = -1;
            int n;
            try {
                waiting();
                n = src.read(buf, 0, buf.length);
            } catch (IOException e) {
                ioFailure = e;
                throw e;
            }
            if (n <= 0) {
                return false;
            }
            end = n;
            return true;
        }

        /** Lexes from {@code scanned} up to the first top-level boundary or the end of the buffer. */
        private void scan() {
            if (boundary >= 0) {
                return;
            }
            while (scanned < end) {
                byte c = buf[scanned++];
                switch (state) {
                    case CONTENT -> {
                        if (c == '<') {
                            state = LT;
                        }
                    }
                    case LT -> state = switch (c) {
                        case '/' -> END_TAG;
                        case '!' -> BANG;
                        case '?' -> PI;
                        default -> START_TAG;
                    };
                    case START_TAG -> {
                        if (c == '"' || c == '\'') {
                            quote = c;
                            state = QUOTED;
                        } else if (c == '/') {
                            state = START_SLASH;
                        } else if (c == '>') {
                            depth++;
                            state = CONTENT;
                            if (depth <= 1) {
                                boundary = scanned;
                                return;
                            }
                        }
                    }
                    case START_SLASH -> {
                        if (c == '>') {
                            state = CONTENT;
                            if (depth <= 1) {
                                boundary = scanned;
                                return;
                            }
                        } else {
                            state = START_TAG;
                        }
                    }
                    case QUOTED -> {
                        if (c == quote) {
                            state = START_TAG;
                        }
                    }
                    case END_TAG -> {
                        if (c == '>') {
                            depth--;
                            state = CONTENT;
                            if (depth <= 1) {
                                boundary = scanned;
                                return;
                            }
                        }
                    }
                    case PI -> {
                        if (c == '?') {
                            state = PI_Q;
                        }
                    }
                    case PI_Q -> state = c == '>' ? CONTENT : c == '?' ? PI_Q : PI;
                    case BANG -> {
                        run = 0;
                        state = c == '-' ? COMMENT : c == '[' ? CDATA : DECL;
                    }
                    case COMMENT, CDATA -> {
                        byte closer = state == COMMENT ? (byte) '-' : (byte) ']';
                        if (c == closer) {
                            run++;
                        } else if (c == '>' && run >= 2) {
                            state = CONTENT;
                        } else {
                            run = 0;
                        }
                    }
                    case DECL -> {
                        if (c == '[') {
                            state = DECL_SUBSET;
                        } else if (c == '>') {
                            state = CONTENT;
                        }
                    }
                    case DECL_SUBSET -> {
                        if (c == ']') {
                            state = DECL;
                        }
                    }
                    default -> throw new IllegalStateException("lexer state " + state);
                }
            }
        }
    }
}

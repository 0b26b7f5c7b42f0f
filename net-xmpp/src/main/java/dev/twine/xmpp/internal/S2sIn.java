package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * One incoming server stream (RFC 6120 §4), run on its connection's virtual thread: the header,
 * STARTTLS (required unless plaintext is allowed, the peer's certificate asked for), then SASL
 * EXTERNAL, offered when that certificate verifies for the header's {@code from} domain (RFC 6120
 * §6.4, §13.7.2; XEP-0178), and Server Dialback (XEP-0220): each
 * {@code <db:result/>} is checked by asking the claimed domain's authoritative server
 * ({@code <db:verify/>} on a stream of our own, whose certificate the policy judges), and
 * answered valid or invalid; several domain pairs may be authenticated on one stream (XEP-0344
 * §2.4). As the authoritative server, it answers {@code <db:verify/>} requests with our own key.
 * Stanzas then go to the hub as a component's do, each one's {@code from} domain checked against
 * what the stream authenticated ({@code invalid-from}, RFC 6120 §4.9.3.9), under the same XML
 * limits as client streams.
 */
final class S2sIn {
    private static final System.Logger LOG = System.getLogger(S2sIn.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final S2s s2s;
    private final Connection conn;
    /** "remote local" pairs authenticated on this stream. */
    private final Set<String> pairs = new HashSet<>();
    /** Remote domains counted against {@link S2s.Config#maxIncomingPerDomain} by this stream. */
    private final Set<String> counted = new HashSet<>();
    private String streamId = "";
    private boolean headerSent;

    S2sIn(S2s s2s, Connection conn) {
        this.s2s = s2s;
        this.conn = conn;
    }

    void run() {
        conn.writeTimeout(s2s.hub.writeTimeout);
        try {
            conn.readTimeout(s2s.config.timeout());
            while (negotiate()) {
                headerSent = false; // after TLS: a new stream (RFC 6120 §5.4.3.3)
            }
        } catch (StreamErrorException e) {
            fail(e.condition(), e.text());
        } catch (DrainingException e) {
            fail("system-shutdown", "the server is shutting down");
        } catch (SocketTimeoutException e) {
            fail("connection-timeout", pairs.isEmpty() ? "authenticate sooner" : "idle for too long");
        } catch (EOFException e) {
            // the peer went away
        } catch (IOException e) {
            // a broken connection ends this stream only
        } finally {
            conn.close();
            counted.forEach(s2s::releaseIncoming);
        }
    }

    private void fail(String condition, String text) {
        try {
            if (!headerSent) {
                write("<?xml version='1.0'?><stream:stream xmlns='" + S2s.SERVER_NS + "' xmlns:stream='" + XmlReader.STREAMS
                        + "' version='1.0'>");
            }
            write(Stanzas.streamError(condition, text));
        } catch (IOException e) {
            // the peer is gone anyway
        }
    }

    /** One stream: header, features, then elements until STARTTLS (true: restart) or the end. */
    private boolean negotiate() throws IOException, StreamErrorException {
        XmlReader reader = new XmlReader(conn.input(), s2s.hub.limits);
        Element h = reader.readHeader();
        if (!reader.defaultNamespace().equals(S2s.SERVER_NS)) {
            throw new StreamErrorException("invalid-namespace", "the content namespace must be " + S2s.SERVER_NS);
        }
        String to = h.attributeOrEmpty("to");
        if (!s2s.hosts(to)) {
            throw new StreamErrorException("host-unknown", "this server does not serve '" + to + "'");
        }
        streamId = HexFormat.of().formatHex(randomBytes());
        headerSent = true;
        boolean tlsOffered = !conn.isSecure() && s2s.hub.tls != null;
        boolean authAllowed = conn.isSecure() || !s2s.hub.requireTls;
        String from = h.attributeOrEmpty("from");
        // RFC 6120 §13.7.2.3, XEP-0178 §3: EXTERNAL only for a certificate that verifies for 'from'
        boolean externalOffered = conn.isSecure() && validDomain(from) && !pairs.contains(from + " " + to)
                && s2s.certificateProblem(from, conn.peerCertificates()).isEmpty();
        StringBuilder f = new StringBuilder("<?xml version='1.0'?><stream:stream xmlns='" + S2s.SERVER_NS + "' xmlns:stream='"
                + XmlReader.STREAMS + "' xmlns:db='" + S2s.DB_NS + "' id='" + streamId + "' from='")
                .append(attr(to)).append("' version='1.0'><stream:features>");
        if (tlsOffered) {
            f.append("<starttls xmlns='").append(Stanzas.TLS_NS).append("'>")
                    .append(s2s.hub.requireTls ? "<required/>" : "").append("</starttls>");
        }
        if (externalOffered) {
            f.append("<mechanisms xmlns='").append(Stanzas.SASL_NS).append("'><mechanism>EXTERNAL</mechanism></mechanisms>");
        }
        if (authAllowed) {
            f.append("<dialback xmlns='").append(S2s.DB_FEATURE).append("'><errors/></dialback>"); // XEP-0220 §2.1.3
        }
        write(f.append("</stream:features>").toString());
        while (true) {
            Element e = reader.next();
            if (e == null) {
                write("</stream:stream>");
                return false;
            }
            if (e.is("starttls", Stanzas.TLS_NS)) {
                if (!tlsOffered) {
                    write("<failure xmlns='" + Stanzas.TLS_NS + "'/></stream:stream>");
                    return false;
                }
                write("<proceed xmlns='" + Stanzas.TLS_NS + "'/>");
                conn.startTls(s2s.serverTls);
                return true;
            }
            if (e.is("auth", Stanzas.SASL_NS)) {
                if (external(e, externalOffered, from, to)) {
                    return true; // RFC 6120 §6.4.6: the peer restarts the stream
                }
                continue;
            }
            if (e.is("verify", S2s.DB_NS)) {
                answerVerify(e);
            } else if (e.is("result", S2s.DB_NS)) {
                if (!authAllowed) {
                    throw new StreamErrorException("policy-violation", "STARTTLS first");
                }
                result(e);
            } else if (e.namespace().equals(S2s.SERVER_NS)
                    && (e.name().equals("message") || e.name().equals("presence") || e.name().equals("iq"))) {
                stanza(e);
            } else {
                throw new StreamErrorException("unsupported-stanza-type", "<" + e.name() + "/>");
            }
        }
    }

    /**
     * RFC 6120 §6.4, XEP-0178 §4: the peer authenticates {@code from} by the certificate it
     * presented, which {@code offered} says verified. True on success (the stream restarts);
     * false after a {@code <failure/>} (§6.4.5), when the peer may try dialback instead.
     */
    private boolean external(Element auth, boolean offered, String from, String to) throws IOException {
        String name = "s2s " + from + " -> " + to + " (incoming)";
        String failure = null;
        if (!offered || !auth.attributeOrEmpty("mechanism").equals("EXTERNAL")) {
            failure = "invalid-mechanism";
        } else {
            String text = auth.text().strip();
            String authzid;
            try {
                authzid = text.equals("=") || text.isEmpty() ? "" : new String(Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException x) {
                authzid = null;
            }
            if (authzid == null) {
                failure = "incorrect-encoding"; // §6.5.2
            } else if (!authzid.isEmpty() && !authzid.equalsIgnoreCase(from)) {
                failure = "invalid-authzid"; // §6.5.6: only the domain the certificate was checked for
            } else if (!counted.contains(from) && !s2s.admitIncoming(from)) {
                LOG.log(System.Logger.Level.WARNING, name + ": refused, too many streams from " + from);
                failure = "temporary-auth-failure";
            }
        }
        if (failure != null) {
            LOG.log(System.Logger.Level.INFO, name + ": SASL EXTERNAL failed (" + failure + ")");
            write("<failure xmlns='" + Stanzas.SASL_NS + "'><" + failure + "/></failure>");
            return false;
        }
        counted.add(from);
        pairs.add(from + " " + to);
        S2s.chosen(name, S2s.security(from, Optional.empty(), true), "SASL EXTERNAL");
        conn.readTimeout(s2s.config.idle().plus(s2s.config.timeout())); // the peer closes its idle streams first
        write("<success xmlns='" + Stanzas.SASL_NS + "'/>");
        return true;
    }

    /** XEP-0220 §2.2.2: as the authoritative server, whether a key is the one we made for that stream. */
    private void answerVerify(Element v) throws IOException {
        String receiving = v.attributeOrEmpty("from");
        String originating = v.attributeOrEmpty("to");
        String id = v.attributeOrEmpty("id");
        Element reply = Element.of("verify", S2s.DB_NS).withAttribute("from", originating).withAttribute("to", receiving)
                .withAttribute("id", id);
        if (!s2s.hosts(originating)) {
            reply = reply.withAttribute("type", "error").withChild(dialbackError("item-not-found"));
        } else {
            reply = reply.withAttribute("type", s2s.keyMatches(receiving, originating, id, v.text()) ? "valid" : "invalid");
        }
        write(reply.toXml());
    }

    /** XEP-0220 §2.1.2 to §2.4: a domain pair asks to be authenticated on this stream. */
    private void result(Element r) throws IOException {
        String originating = r.attributeOrEmpty("from");
        String receiving = r.attributeOrEmpty("to");
        Element reply = Element.of("result", S2s.DB_NS).withAttribute("from", receiving).withAttribute("to", originating);
        String name = "s2s " + originating + " -> " + receiving + " (incoming)";
        if (!s2s.hosts(receiving)) {
            write(reply.withAttribute("type", "error").withChild(dialbackError("item-not-found")).toXml());
            return;
        }
        if (!validDomain(originating)) {
            write(reply.withAttribute("type", "error").withChild(dialbackError("bad-request")).toXml());
            return;
        }
        if (!counted.contains(originating) && !s2s.admitIncoming(originating)) {
            LOG.log(System.Logger.Level.WARNING, name + ": refused, too many streams from " + originating);
            write(reply.withAttribute("type", "error").withChild(dialbackError("resource-constraint")).toXml());
            return;
        }
        counted.add(originating);
        boolean valid = verify(originating, receiving, r.text().strip());
        LOG.log(System.Logger.Level.INFO, name + ": dialback " + (valid ? "valid" : "invalid"));
        if (valid) {
            pairs.add(originating + " " + receiving);
            conn.readTimeout(s2s.config.idle().plus(s2s.config.timeout())); // the peer closes its idle streams first
        }
        write(reply.withAttribute("type", valid ? "valid" : "invalid").toXml());
    }

    /**
     * XEP-0220 §2.2: asks the authoritative server of {@code originating} whether {@code key} is
     * its key for this stream, on a stream of our own to it (so its certificate is judged by
     * the policy, {@link S2s#accept}). Any failure is "not valid".
     */
    private boolean verify(String originating, String receiving, String key) {
        Connection c = null;
        String name = "s2s " + receiving + " -> " + originating + " (verify)";
        try {
            c = s2s.connect(originating);
            c.readTimeout(s2s.config.timeout());
            c.writeTimeout(s2s.hub.writeTimeout);
            S2sStream stream = S2sStream.open(s2s, c, receiving, originating);
            S2s.chosen(name, stream.security(), stream.problem().isPresent() ? "dialback alone" : "dialback");
            stream.write(Element.of("verify", S2s.DB_NS).withAttribute("from", receiving).withAttribute("to", originating)
                    .withAttribute("id", streamId).withText(key).toXml());
            while (true) {
                Element e = S2sStream.next(stream.reader(), name);
                if (e.is("verify", S2s.DB_NS) && e.attributeOrEmpty("id").equals(streamId)) {
                    stream.write("</stream:stream>");
                    return e.attributeOrEmpty("type").equals("valid");
                }
            }
        } catch (IOException | StreamErrorException e) {
            LOG.log(System.Logger.Level.INFO, name + " failed: " + e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    /** A stanza on an authenticated pair goes to the hub; any other sender is {@code invalid-from}. */
    private void stanza(Element e) throws StreamErrorException {
        Jid from;
        Jid to;
        try {
            from = Stanzas.jidOrNull(e, "from");
            to = Stanzas.jidOrNull(e, "to");
        } catch (IllegalArgumentException x) {
            throw new StreamErrorException("improper-addressing", "malformed 'from' or 'to'");
        }
        if (from == null || to == null) {
            throw new StreamErrorException("improper-addressing", "a server stanza needs 'from' and 'to'"); // RFC 6120 §8.1.1.1
        }
        if (!pairs.contains(from.domain() + " " + to.domain())) {
            // RFC 6120 §4.9.3.9: not a domain this stream authenticated (for that recipient's domain)
            throw new StreamErrorException("invalid-from", from.domain() + " is not authenticated for " + to.domain() + " on this stream");
        }
        try {
            s2s.hub.route(e.inNamespace(Hub.CLIENT_NS), null);
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt(); // the server is stopping: the stream ends
            throw new StreamErrorException("system-shutdown", "");
        }
    }

    private static boolean validDomain(String d) {
        try {
            Jid j = Jid.parse(d);
            return j.local().isEmpty() && j.isBare() && !d.isEmpty();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Element dialbackError(String condition) {
        return Element.of("error", S2s.SERVER_NS).withAttribute("type", condition.equals("resource-constraint") ? "wait" : "cancel")
                .withChild(Element.of(condition, Stanzas.STANZAS_NS));
    }

    private void write(String xml) throws IOException {
        S2sStream.write(conn, xml);
    }

    static String attr(String s) {
        StringBuilder sb = new StringBuilder();
        Element.escape(sb, s, true);
        return sb.toString();
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return b;
    }
}

package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * One external component stream (XEP-0114, "jabber:component:accept"): the component names its
 * domain in the header's {@code to}, proves it knows the shared secret with
 * {@code <handshake>hex(SHA-1(streamId + secret))</handshake>}, then exchanges stanzas for any
 * address in its domain.
 */
final class ComponentSession implements Route {
    static final String NS = "jabber:component:accept";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Hub hub;
    private final Connection conn;
    private final Outbound out;
    private String domain = "";
    private boolean headerSent;

    ComponentSession(Hub hub, Connection conn) {
        this.hub = hub;
        this.conn = conn;
        this.out = new Outbound(conn);
    }

    @Override
    public String domain() {
        return domain;
    }

    @Override
    public void send(Element stanza) {
        out.send(stanza.toXml());
    }

    void run() {
        conn.writeTimeout(hub.writeTimeout);
        boolean attached = false;
        try {
            XmlReader reader = new XmlReader(conn.input(), hub.limits);
            Element h = reader.readHeader();
            if (!reader.defaultNamespace().equals(NS)) {
                throw new StreamErrorException("invalid-namespace", "expected " + NS);
            }
            Jid d;
            try {
                d = Jid.parse(h.attributeOrEmpty("to"));
            } catch (IllegalArgumentException e) {
                throw new StreamErrorException("host-unknown", "bad component domain");
            }
            if (!d.local().isEmpty() || !d.isBare() || d.domain().equals(hub.domain)) {
                throw new StreamErrorException("host-unknown", "bad component domain");
            }
            domain = d.domain();
            byte[] idBytes = new byte[12];
            RANDOM.nextBytes(idBytes);
            String id = HexFormat.of().formatHex(idBytes);
            headerSent = true;
            out.send("<?xml version='1.0'?><stream:stream xmlns='" + NS + "' xmlns:stream='" + XmlReader.STREAMS
                    + "' id='" + id + "' from='" + domain + "'>");
            Element hs = reader.next();
            if (hs == null) {
                out.send("</stream:stream>");
                return;
            }
            if (!hs.is("handshake", NS)) {
                throw new StreamErrorException("not-authorized", "expected <handshake/>");
            }
            String expected = sha1Hex(id + hub.componentSecret);
            if (hub.componentSecret == null || !MessageDigest.isEqual(
                    expected.getBytes(StandardCharsets.US_ASCII), hs.text().strip().toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
                throw new StreamErrorException("not-authorized", "wrong handshake");
            }
            if (!hub.attach(this)) {
                throw new StreamErrorException("conflict", domain + " is already connected");
            }
            attached = true;
            out.send("<handshake/>");
            while (true) {
                Element e = reader.next();
                if (e == null) {
                    out.send("</stream:stream>");
                    return;
                }
                if (!e.namespace().equals(NS) || !(e.name().equals("message") || e.name().equals("presence") || e.name().equals("iq"))) {
                    throw new StreamErrorException("unsupported-stanza-type", "<" + e.name() + "/>");
                }
                Jid from;
                try {
                    from = Stanzas.jidOrNull(e, "from");
                } catch (IllegalArgumentException ex) {
                    throw new StreamErrorException("invalid-from", "malformed 'from'");
                }
                if (from == null || !from.domain().equals(domain)) {
                    // XEP-0114 §3: a component speaks only for addresses in its own domain
                    throw new StreamErrorException("invalid-from", "'from' must be in " + domain);
                }
                try {
                    hub.route(e.inNamespace(Hub.CLIENT_NS), null);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt(); // the server is stopping: the stream ends
                    return;
                }
            }
        } catch (StreamErrorException e) {
            if (!headerSent) {
                out.send("<?xml version='1.0'?><stream:stream xmlns='" + NS + "' xmlns:stream='" + XmlReader.STREAMS + "'>");
            }
            out.send(Stanzas.streamError(e.condition(), e.text()));
        } catch (DrainingException e) {
            out.send(Stanzas.streamError("system-shutdown", ""));
        } catch (EOFException e) {
            // gone
        } catch (IOException e) {
            // broken connection
        } finally {
            if (attached) {
                hub.detach(this);
            }
            conn.close();
        }
    }

    static String sha1Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

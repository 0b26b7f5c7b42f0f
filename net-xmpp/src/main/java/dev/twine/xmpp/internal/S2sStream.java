package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.xmpp.Element;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The initiating end of one server stream, up to authentication (RFC 6120 §4.3, §5.4): the
 * header with the dialback namespace declared (XEP-0220 §2.1), the features, STARTTLS and the
 * restart after it, with the remote domain's certificate checked and the policy applied; and
 * SASL EXTERNAL when the receiving server offers it (RFC 6120 §6.4, XEP-0178). Used by
 * {@link S2sOut} for its stream and by {@link S2sIn} to ask an authoritative server to verify a key.
 *
 * @param conn the connection
 * @param reader the reader of the current (last restarted) stream
 * @param id the receiving server's stream id, which dialback keys are bound to
 * @param features the receiving server's features on this stream
 * @param remote the receiving domain
 * @param problem why the receiving domain's certificate does not verify; empty if it does, or without TLS
 */
record S2sStream(Connection conn, XmlReader reader, String id, Element features, String remote, Optional<String> problem) {

    /**
     * Opens the stream from {@code local} to {@code remote} on {@code conn}, on the calling thread,
     * each read bounded by the connection's read timeout.
     *
     * @throws IOException if the peer fails, ends the stream, sends a stream error, offers no TLS
     *     where it is required, or presents a certificate the policy refuses
     */
    static S2sStream open(S2s s2s, Connection conn, String local, String remote) throws IOException {
        String name = "s2s " + local + " -> " + remote;
        while (true) {
            S2sStream stream = start(s2s, conn, local, remote, Optional.empty());
            if (!conn.isSecure() && stream.features().child("starttls", Stanzas.TLS_NS).isPresent() && s2s.hub.tls != null) {
                write(conn, "<starttls xmlns='" + Stanzas.TLS_NS + "'/>");
                Element answer;
                try {
                    answer = next(stream.reader(), name);
                } catch (StreamErrorException e) {
                    throw new IOException(name + ": bad stream from the peer: " + e.getMessage());
                }
                if (!answer.is("proceed", Stanzas.TLS_NS)) {
                    throw new IOException(name + ": STARTTLS refused");
                }
                conn.startTls(s2s.clientTls, remote); // RFC 6120 §13.7.2.1: SNI is the domain
                continue; // RFC 6120 §5.4.3.3: a new stream over TLS
            }
            boolean tls = conn.isSecure();
            if (!tls && s2s.hub.requireTls) {
                throw new IOException(name + ": the peer offers no STARTTLS, and TLS is required");
            }
            Optional<String> problem = tls ? s2s.certificateProblem(remote, conn.peerCertificates()) : Optional.empty();
            if (!s2s.accept(name, remote, problem, tls)) {
                write(conn, "</stream:stream>");
                throw new IOException(name + ": the certificate of " + remote + " " + problem.orElse(""));
            }
            if (stream.id().isEmpty()) {
                throw new IOException(name + ": the peer's stream header has no id");
            }
            return new S2sStream(conn, stream.reader(), stream.id(), stream.features(), remote, problem);
        }
    }

    /** One stream header out, the peer's header and features in. */
    private static S2sStream start(S2s s2s, Connection conn, String local, String remote, Optional<String> problem) throws IOException {
        String name = "s2s " + local + " -> " + remote;
        write(conn, "<?xml version='1.0'?><stream:stream xmlns='" + S2s.SERVER_NS + "' xmlns:stream='" + XmlReader.STREAMS
                + "' xmlns:db='" + S2s.DB_NS + "' from='" + S2sIn.attr(local) + "' to='" + S2sIn.attr(remote) + "' version='1.0'>");
        XmlReader reader = new XmlReader(conn.input(), s2s.hub.limits);
        Element header;
        Element features;
        try {
            header = reader.readHeader();
            if (!reader.defaultNamespace().equals(S2s.SERVER_NS)) {
                throw new IOException(name + ": the peer did not open a " + S2s.SERVER_NS + " stream");
            }
            features = next(reader, name);
        } catch (StreamErrorException e) {
            write(conn, Stanzas.streamError(e.condition(), e.text()));
            throw new IOException(name + ": bad stream from the peer: " + e.getMessage());
        }
        if (!features.is("features", XmlReader.STREAMS)) {
            throw new IOException(name + ": expected <stream:features/>, got <" + features.name() + "/>");
        }
        return new S2sStream(conn, reader, header.attributeOrEmpty("id"), features, remote, problem);
    }

    /** How the peer was secured, for the log line of the stream. */
    String security() {
        return S2s.security(remote, problem, conn.isSecure());
    }

    /** Whether the receiving server offers SASL EXTERNAL on this stream (RFC 6120 §6.3.3). */
    boolean offersExternal() {
        return features.child("mechanisms", Stanzas.SASL_NS)
                .map(m -> m.children().stream().anyMatch(c -> c.name().equals("mechanism") && c.text().strip().equals("EXTERNAL")))
                .orElse(false);
    }

    /**
     * RFC 6120 §6.4, XEP-0178 §4: authenticates {@code local} by the certificate presented in the
     * TLS handshake. Returns the restarted stream on success (§6.4.6), empty if the receiving
     * server refused (§6.4.5), after which this stream may still do dialback.
     *
     * @throws IOException if the peer fails or ends the stream
     */
    Optional<S2sStream> external(S2s s2s, String local, String remote) throws IOException {
        String name = "s2s " + local + " -> " + remote;
        // XEP-0178 §4 step 8: no authorization identity, the empty response "="; the peer takes
        // the identity from the stream header's 'from'
        write("<auth xmlns='" + Stanzas.SASL_NS + "' mechanism='EXTERNAL'>=</auth>");
        while (true) {
            Element e;
            try {
                e = next(reader, name);
            } catch (StreamErrorException x) {
                write(Stanzas.streamError(x.condition(), x.text()));
                throw new IOException(name + ": " + x.getMessage());
            }
            if (e.is("success", Stanzas.SASL_NS)) {
                return Optional.of(start(s2s, conn, local, remote, problem)); // §6.4.6: a new stream over the same TLS
            }
            if (e.is("failure", Stanzas.SASL_NS)) {
                return Optional.empty();
            }
        }
    }

    /** The next element; a stream error or the end of the stream is an exception naming it. */
    static Element next(XmlReader reader, String name) throws IOException, StreamErrorException {
        Element e = reader.next();
        if (e == null) {
            throw new EOFException(name + ": the peer closed the stream");
        }
        if (e.is("error", XmlReader.STREAMS)) {
            String condition = e.children().isEmpty() ? "undefined-condition" : e.children().get(0).name();
            throw new IOException(name + ": stream error from the peer: " + condition);
        }
        return e;
    }

    /** Writes raw XML and flushes. */
    static void write(Connection conn, String xml) throws IOException {
        conn.output().write(xml.getBytes(StandardCharsets.UTF_8));
        conn.flush();
    }

    /** Writes raw XML on this stream and flushes. */
    void write(String xml) throws IOException {
        write(conn, xml);
    }
}

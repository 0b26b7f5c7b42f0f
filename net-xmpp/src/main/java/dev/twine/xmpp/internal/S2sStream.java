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
 * restart after it, with the remote domain's certificate checked and the policy applied. Used by
 * {@link S2sOut} for its stream and by {@link S2sIn} to ask an authoritative server to verify a key.
 *
 * @param conn the connection
 * @param reader the reader of the current (last restarted) stream
 * @param id the receiving server's stream id, which dialback keys are bound to
 */
record S2sStream(Connection conn, XmlReader reader, String id) {

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
            String id = header.attributeOrEmpty("id");
            if (!features.is("features", XmlReader.STREAMS)) {
                throw new IOException(name + ": expected <stream:features/>, got <" + features.name() + "/>");
            }
            if (!conn.isSecure() && features.child("starttls", Stanzas.TLS_NS).isPresent() && s2s.hub.tls != null) {
                write(conn, "<starttls xmlns='" + Stanzas.TLS_NS + "'/>");
                Element answer;
                try {
                    answer = next(reader, name);
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
            if (id.isEmpty()) {
                throw new IOException(name + ": the peer's stream header has no id");
            }
            return new S2sStream(conn, reader, id);
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

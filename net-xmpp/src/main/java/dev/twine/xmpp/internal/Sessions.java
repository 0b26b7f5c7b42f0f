package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import java.io.IOException;

/** Entry points the public server class uses to run a connection. */
public final class Sessions {
    private Sessions() {}

    /** Runs a client stream on the calling (connection) thread until it ends. */
    public static void client(Hub hub, Connection conn) throws IOException {
        new C2sSession(hub, conn).run();
    }

    /**
     * Tells a connection over the server's limits so, in the stream's own words (RFC 6120
     * §4.9.1.1: a stream header first, then the error).
     */
    public static void refuse(String domain, Connection conn) throws IOException {
        String refusal = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + XmlReader.STREAMS
                + "' from='" + domain + "' version='1.0'>"
                + Stanzas.streamError("policy-violation", "too many connections");
        conn.output().write(refusal.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        conn.flush();
    }

    /** Runs an incoming server-to-server stream (RFC 6120, XEP-0220) on the calling thread until it ends. */
    public static void server(S2s federation, Connection conn) {
        new S2sIn(federation, conn).run();
    }

    /** Runs an XEP-0114 component stream on the calling thread until it ends. */
    public static void component(Hub hub, Connection conn) {
        new ComponentSession(hub, conn).run();
    }
}

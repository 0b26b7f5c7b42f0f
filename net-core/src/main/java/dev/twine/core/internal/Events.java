package dev.twine.core.internal;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * Twine's JDK Flight Recorder events, all under the category "Twine": free when no recording
 * is running, and readable with {@code jfr print --categories Twine rec.jfr} or JDK Mission
 * Control. Their names ({@code dev.twine.Connection} ...) are stable: operators' recording
 * settings refer to them.
 */
public final class Events {
    private Events() {
    }

    /** One connection, from admission to its end; its duration is the connection's life. */
    @Name("dev.twine.Connection")
    @Label("Connection")
    @Category("Twine")
    @Description("A connection served by a Twine server, from admission to close")
    @StackTrace(false)
    public static final class Connection extends Event {
        @Label("Service")
        public String service;
        @Label("Peer")
        public String peer;
        @Label("Bytes Received")
        @DataAmount
        public long received;
        @Label("Bytes Sent")
        @DataAmount
        public long sent;
        @Label("Failure")
        @Description("The exception that ended the handler, if it failed")
        public String failure;
    }

    /** A connection refused by the connection limits or by a PROXY protocol check. */
    @Name("dev.twine.ConnectionRefused")
    @Label("Connection Refused")
    @Category("Twine")
    @StackTrace(false)
    public static final class ConnectionRefused extends Event {
        @Label("Service")
        public String service;
        @Label("Peer")
        public String peer;
        @Label("Reason")
        public String reason;
    }

    /** A login's outcome under the auth policy. */
    @Name("dev.twine.Login")
    @Label("Login")
    @Category("Twine")
    @StackTrace(false)
    public static final class Login extends Event {
        @Label("Service")
        public String service;
        @Label("Address")
        public String address;
        @Label("User")
        public String user;
        @Label("Outcome")
        @Description("succeeded, failed or refused")
        public String outcome;
    }

    /** One TLS handshake: a {@code tls:} listener's or a STARTTLS upgrade, with what it agreed on. */
    @Name("dev.twine.TlsHandshake")
    @Label("TLS Handshake")
    @Category("Twine")
    @StackTrace(false)
    public static final class TlsHandshake extends Event {
        @Label("Service")
        public String service;
        @Label("Peer")
        public String peer;
        @Label("Kind")
        @Description("tls (from the first byte) or starttls")
        public String kind;
        @Label("Protocol")
        public String protocol;
        @Label("Cipher Suite")
        public String cipherSuite;
        @Label("Server Name")
        @Description("The SNI name the client asked for, if any")
        public String serverName;
        @Label("Failure")
        public String failure;
    }

    /** Starts timing a handshake, or null when no recording wants it. */
    public static TlsHandshake handshakeBegins() {
        TlsHandshake e = new TlsHandshake();
        if (!e.isEnabled()) {
            return null;
        }
        e.begin();
        return e;
    }

    /** Ends a handshake's event with its session (null if it failed) or its failure. */
    public static void handshakeEnds(TlsHandshake e, String service, String peer, String kind,
            javax.net.ssl.SSLSession session, Exception failure) {
        if (e == null) {
            return;
        }
        e.end();
        if (!e.shouldCommit()) {
            return;
        }
        e.service = service;
        e.peer = peer;
        e.kind = kind;
        if (session != null) {
            e.protocol = session.getProtocol();
            e.cipherSuite = session.getCipherSuite();
            if (session instanceof javax.net.ssl.ExtendedSSLSession x) {
                try {
                    for (javax.net.ssl.SNIServerName n : x.getRequestedServerNames()) {
                        if (n instanceof javax.net.ssl.SNIHostName h) {
                            e.serverName = h.getAsciiName();
                        }
                    }
                } catch (UnsupportedOperationException clientSide) {
                    // a session that does not know what was requested
                }
            }
        }
        e.failure = failure == null ? null : failure.toString();
        e.commit();
    }

    /** Records a refusal, if anyone is recording. */
    public static void refused(String service, String peer, String reason) {
        ConnectionRefused e = new ConnectionRefused();
        if (e.isEnabled()) {
            e.service = service;
            e.peer = peer;
            e.reason = reason;
            e.commit();
        }
    }

    /** Records a login outcome, if anyone is recording. */
    public static void login(String service, String address, String user, String outcome) {
        Login e = new Login();
        if (e.isEnabled()) {
            e.service = service;
            e.address = address;
            e.user = user;
            e.outcome = outcome;
            e.commit();
        }
    }
}

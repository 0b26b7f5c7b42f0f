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

package dev.twine.mail.pop3;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.mail.maildir.Maildir;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A POP3 server (RFC 1939, with CAPA and response codes from RFC 2449, STLS from RFC 2595 and
 * SASL AUTH from RFC 5034) over the inboxes of a {@link Maildir} store.
 *
 * <pre>{@code
 * Server pop3 = Pop3Server.builder(maildir, portal).tls(tls).build(List.of("tcp:110"));
 * pop3.start();
 * }</pre>
 *
 * <p>A session locks its mailbox from login to the end (RFC 1939 §8); a second session gets
 * {@code -ERR [IN-USE]}. Deletions happen only at QUIT (the UPDATE state); a dropped connection
 * deletes nothing. UIDL values are the Maildir base names, so they stay the same across sessions
 * and restarts (names longer than RFC 1939 §7's 70 characters are hashed).
 *
 * <h2>Limits and abuse resistance</h2>
 * Failed logins (PASS, AUTH) go through the portal's {@link dev.twine.core.auth.AuthPolicy}: each
 * failure is answered late, the connection is closed after the policy's last allowed failure, and
 * while the address or the user name is penalised every login, right password or not, is
 * answered {@code -ERR [SYS/TEMP]} (RFC 3206). {@linkplain #defaultLimits() The default limits}
 * cap connections per client address and those not yet logged in, and give a connection
 * 60 s in all to log in; after login the
 * {@linkplain Builder#autologout autologout} applies. A connection over a cap is told
 * {@code -ERR [SYS/TEMP] too many connections from your address} and closed.
 */
public final class Pop3Server {

    /** The line a connection over the {@linkplain Builder#limits limits} gets before it is closed. */
    static final byte[] OVER_LIMIT = "-ERR [SYS/TEMP] too many connections from your address\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private Pop3Server() {}

    /**
     * A new instance of the connection caps {@link Builder#build} uses unless
     * {@link Builder#limits} says otherwise: 50 connections per client address (IPv6: per /64),
     * of which at most 10 not yet logged in, 1,000 not logged in from all addresses together, and
     * 60 s to log in. Each call returns fresh counts.
     */
    public static ConnectionLimits defaultLimits() {
        return ConnectionLimits.defaults();
    }

    /** A builder for a server over {@code maildir} whose users log in through {@code portal}. */
    public static Builder builder(Maildir maildir, Portal portal) {
        return new Builder(maildir, portal);
    }

    /** Configuration of a POP3 server; every setting has a default. */
    public static final class Builder {
        private final Maildir maildir;
        private final Portal portal;
        private Tls tls;
        private boolean allowPlainLogin;
        private Duration autologout = Duration.ofMinutes(10);
        private String serviceName = "pop3";
        private ConnectionLimits limits;

        private Builder(Maildir maildir, Portal portal) {
            this.maildir = Objects.requireNonNull(maildir, "maildir");
            this.portal = Objects.requireNonNull(portal, "portal");
        }

        /** TLS for STLS (RFC 2595 §4); without it, STLS is not offered. */
        public Builder tls(Tls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Whether USER/PASS and AUTH work before TLS (default false). Without TLS configured they
         * always work.
         */
        public Builder allowPlainLogin(boolean allow) {
            this.allowPlainLogin = allow;
            return this;
        }

        /** The inactivity limit (default 10 minutes, RFC 1939 §3); zero means none. */
        public Builder autologout(Duration timeout) {
            this.autologout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Caps on connections per client address and before login, and the time allowed to log
         * in, for {@link #build}; default: a new {@link Pop3Server#defaultLimits()} for each
         * server. {@link ConnectionLimits#none()} turns them off; one instance shared by
         * several servers counts their connections together. The handler of {@link #handler()}
         * marks a connection authenticated on login, so a {@link Server} built elsewhere with
         * limits works the same.
         */
        public Builder limits(ConnectionLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** The service name for {@code listening} lines (default {@code pop3}). */
        public Builder serviceName(String name) {
            this.serviceName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** The per-connection handler, for callers that build their own {@link Server}. */
        public ConnectionHandler handler() {
            Config c = new Config(maildir, portal, tls, allowPlainLogin || tls == null, serviceName);
            return conn -> new Pop3Session(c, conn).run();
        }

        /**
         * An unstarted server on these endpoints.
         *
         * @throws IllegalArgumentException for a malformed endpoint or none
         */
        public Server build(List<String> endpoints) {
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("--pop3: no endpoint");
            }
            Server.Builder b = Server.builder(serviceName).handler(handler()).readTimeout(autologout)
                    .limits(limits != null ? limits : defaultLimits())
                    .overLimit(conn -> conn.output().write(OVER_LIMIT));
            endpoints.forEach(b::listen);
            return b.build();
        }

        /** {@link #build(List)} for a few endpoints. */
        public Server build(String... endpoints) {
            return build(List.of(endpoints));
        }
    }

    record Config(Maildir maildir, Portal portal, Tls tls, boolean plainLoginAllowed, String serviceName) {}
}

package dev.twine.mail.imap;

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
 * An IMAP4rev1 server (RFC 3501) over a {@link Maildir} store, with IDLE, UIDPLUS, MOVE,
 * NAMESPACE, ID, LITERAL+, UNSELECT, ENABLE and SPECIAL-USE.
 *
 * <pre>{@code
 * Server imap = ImapServer.builder(maildir, portal).tls(tls).build(List.of("tcp:143"));
 * imap.start();
 * }</pre>
 *
 * <p>Users log in with the portal's passwords (LOGIN, AUTHENTICATE PLAIN or SCRAM-SHA-256); the
 * principal's name is the Maildir user. Before TLS, logins are refused and LOGINDISABLED is
 * advertised (RFC 3501 §6.2.3) unless {@link Builder#allowPlainLogin(boolean)} allows them or no
 * TLS is configured at all.
 *
 * <h2>Limits and abuse resistance</h2>
 * Failed logins go through the portal's {@link dev.twine.core.auth.AuthPolicy}: each failure is
 * answered late (the policy's growing delay), the connection gets {@code * BYE} and is closed
 * after the policy's last allowed failure, and while the address or the user name is penalised
 * every login, right password or not, is answered {@code NO [UNAVAILABLE]} (RFC 5530).
 * {@linkplain #defaultLimits() The default limits} cap connections per client address and those
 * not yet logged in, and give a connection 60 s in all to log in,
 * however busily it sends; after login the {@linkplain Builder#autologout autologout} applies. A
 * connection over a cap is told {@code * BYE [UNAVAILABLE] too many connections from your address}
 * and closed.
 */
public final class ImapServer {

    /** The line a connection over the {@linkplain Builder#limits limits} gets before it is closed. */
    static final byte[] OVER_LIMIT = "* BYE [UNAVAILABLE] too many connections from your address\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private ImapServer() {}

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

    /** Configuration of an IMAP server; every setting has a default. */
    public static final class Builder {
        private final Maildir maildir;
        private final Portal portal;
        private Tls tls;
        private boolean allowPlainLogin;
        private int maxLiteral = 64 * 1024 * 1024;
        private int maxLine = 64 * 1024;
        private Duration idleRecheck = Duration.ofSeconds(30);
        private Duration autologout = Duration.ofMinutes(30);
        private String serviceName = "imap";
        private ConnectionLimits limits;

        private Builder(Maildir maildir, Portal portal) {
            this.maildir = Objects.requireNonNull(maildir, "maildir");
            this.portal = Objects.requireNonNull(portal, "portal");
        }

        /** TLS for STARTTLS (RFC 3501 §6.2.1); without it, STARTTLS is not offered. */
        public Builder tls(Tls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Whether LOGIN and AUTHENTICATE work before TLS (default false). When TLS is not
         * configured they always work, since there is no way to protect them.
         */
        public Builder allowPlainLogin(boolean allow) {
            this.allowPlainLogin = allow;
            return this;
        }

        /** The largest literal accepted, in bytes (default 64 MiB): the largest APPEND. */
        public Builder maxLiteral(int bytes) {
            if (bytes < 1024) {
                throw new IllegalArgumentException("maxLiteral must be at least 1024: " + bytes);
            }
            this.maxLiteral = bytes;
            return this;
        }

        /** The longest command line, in bytes (default 64 KiB); longer ones get BAD. */
        public Builder maxLineLength(int bytes) {
            if (bytes < 1000) {
                throw new IllegalArgumentException("maxLineLength must be at least 1000 (RFC 7162 §4): " + bytes);
            }
            this.maxLine = bytes;
            return this;
        }

        /**
         * How often an idling session looks at its mailbox even without a file-system event
         * (default 30 s): a safety net for file systems that do not report changes.
         */
        public Builder idleRecheck(Duration every) {
            this.idleRecheck = Objects.requireNonNull(every, "every");
            return this;
        }

        /** The inactivity limit (default 30 minutes, RFC 3501 §5.4); zero means none. */
        public Builder autologout(Duration timeout) {
            this.autologout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Caps on connections per client address and before login, and the time allowed to log
         * in, for {@link #build}; default: a new {@link ImapServer#defaultLimits()} for each
         * server. {@link ConnectionLimits#none()} turns them off; one instance shared by
         * several servers (IMAP and POP3) counts their connections together. The handler of
         * {@link #handler()} marks a connection authenticated on login, so a {@link Server} built
         * elsewhere with limits works the same.
         */
        public Builder limits(ConnectionLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** The service name used in {@code listening} lines and thread names (default {@code imap}). */
        public Builder serviceName(String name) {
            this.serviceName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** The per-connection handler, for callers that build their own {@link Server}. */
        public ConnectionHandler handler() {
            Config c = new Config(maildir, portal, tls, allowPlainLogin || tls == null, maxLiteral, maxLine, idleRecheck,
                    serviceName);
            return conn -> new ImapSession(c, conn).run();
        }

        /**
         * An unstarted server on these endpoints ({@code tcp:PORT[:interface=ADDR]},
         * {@code tls:PORT:cert=..:key=..}, {@code unix:PATH}).
         *
         * @throws IllegalArgumentException for a malformed endpoint or none
         */
        public Server build(List<String> endpoints) {
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("--imap: no endpoint");
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

    record Config(Maildir maildir, Portal portal, Tls tls, boolean plainLoginAllowed, int maxLiteral, int maxLine,
            Duration idleRecheck, String serviceName) {}
}

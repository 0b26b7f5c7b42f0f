package dev.twine.mail.imap;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.mail.maildir.Maildir;
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
 */
public final class ImapServer {
    private ImapServer() {}

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

        /** The service name used in {@code listening} lines and thread names (default {@code imap}). */
        public Builder serviceName(String name) {
            this.serviceName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** The per-connection handler, for callers that build their own {@link Server}. */
        public ConnectionHandler handler() {
            Config c = new Config(maildir, portal, tls, allowPlainLogin || tls == null, maxLiteral, maxLine, idleRecheck);
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
            Server.Builder b = Server.builder(serviceName).handler(handler()).readTimeout(autologout);
            endpoints.forEach(b::listen);
            return b.build();
        }

        /** {@link #build(List)} for a few endpoints. */
        public Server build(String... endpoints) {
            return build(List.of(endpoints));
        }
    }

    record Config(Maildir maildir, Portal portal, Tls tls, boolean plainLoginAllowed, int maxLiteral, int maxLine,
            Duration idleRecheck) {}
}

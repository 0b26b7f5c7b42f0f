package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UserStore;
import dev.twine.mail.maildir.Maildir;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * An ESMTP server (RFC 5321) that delivers mail for one domain's users into a Maildir++ store
 * and, for authenticated clients, hands other domains' mail to a {@link RelayQueue}.
 *
 * <p>Two roles share the code: {@link Role#MX} (port 25: accepts mail for local users from anyone,
 * relays only for authenticated clients, so it is never an open relay) and
 * {@link Role#SUBMISSION} (RFC 6409, port 587: every transaction needs AUTH, and the server
 * completes the message's Date and Message-ID). Extensions: PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES, SMTPUTF8, STARTTLS (when a {@link Tls} is set) and AUTH PLAIN/LOGIN (when a
 * {@link Portal} is set; only over TLS unless {@link Builder#allowPlainAuth}).
 *
 * <h2>Durability</h2>
 * The 250 reply to the end of DATA is sent only after every local copy is in a Maildir's
 * {@code new/} and the directory is forced, and every remote copy is in the queue on disk. If a
 * store fails the client gets 451 and the message is its responsibility again.
 *
 * <h2>Threads</h2>
 * {@link #handler()} runs one session per connection on the connection's virtual thread; the
 * server object is immutable and shared.
 */
public final class SmtpServer {
    /** Which job the listening port does. */
    public enum Role {
        /** Port 25: mail for local users from anyone; relaying only after AUTH. */
        MX,
        /** Port 587 (RFC 6409): AUTH required for every transaction; relays anywhere. */
        SUBMISSION
    }

    final String domain;
    final Role role;
    final Maildir maildir;
    final UserStore users;
    final Portal portal;
    final Tls tls;
    final boolean allowPlainAuth;
    final RelayQueue relay;
    final long maxMessageSize;
    final int maxRecipients;
    final int maxErrors;
    final int maxJunkCommands;
    final Duration idleTimeout;
    final String postmaster;

    private SmtpServer(Builder b) {
        this.domain = b.domain;
        this.role = b.role;
        this.maildir = b.maildir;
        this.users = b.users;
        this.portal = b.portal;
        this.tls = b.tls;
        this.allowPlainAuth = b.allowPlainAuth;
        this.relay = b.relay;
        this.maxMessageSize = b.maxMessageSize;
        this.maxRecipients = b.maxRecipients;
        this.maxErrors = b.maxErrors;
        this.maxJunkCommands = b.maxJunkCommands;
        this.idleTimeout = b.idleTimeout;
        this.postmaster = b.postmaster;
    }

    /** A builder; {@link Builder#domain}, {@link Builder#maildir} and {@link Builder#users} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** The connection handler that runs one SMTP session per connection. */
    public ConnectionHandler handler() {
        return this::serve;
    }

    /**
     * Runs one SMTP session on {@code connection} until the client quits, the connection ends or
     * the session is closed for cause (idle timeout, too many errors, server shutdown), each with
     * a 421 reply where the connection still allows one.
     *
     * @throws java.io.IOException if the connection fails mid-reply
     */
    public void serve(Connection connection) throws Exception {
        new SmtpSession(this, connection).run();
    }

    /**
     * A {@link Server} named {@code name} ({@code smtp} or {@code submission}) running this
     * handler on {@code endpoints}.
     */
    public Server server(String name, List<String> endpoints) {
        Server.Builder b = Server.builder(name).handler(handler());
        endpoints.forEach(b::listen);
        return b.build();
    }

    /** The mail domain. */
    public String domain() {
        return domain;
    }

    /** The role. */
    public Role role() {
        return role;
    }

    /** The most bytes a message may have (the SIZE value advertised). */
    public long maxMessageSize() {
        return maxMessageSize;
    }

    /** The relay queue, if remote delivery is configured. */
    public Optional<RelayQueue> relay() {
        return Optional.ofNullable(relay);
    }

    /** Configuration for an {@link SmtpServer}. */
    public static final class Builder {
        private String domain;
        private Role role = Role.MX;
        private Maildir maildir;
        private UserStore users;
        private Portal portal;
        private Tls tls;
        private boolean allowPlainAuth;
        private RelayQueue relay;
        private long maxMessageSize = 25L * 1024 * 1024;
        private int maxRecipients = 100;
        private int maxErrors = 10;
        private int maxJunkCommands = 100;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private String postmaster;

        private Builder() {}

        /** The local mail domain: mail to {@code user@domain} goes to the Maildir. */
        public Builder domain(String domain) {
            this.domain = Objects.requireNonNull(domain, "domain").toLowerCase(Locale.ROOT);
            return this;
        }

        /** The role; {@link Role#MX} by default. */
        public Builder role(Role role) {
            this.role = Objects.requireNonNull(role, "role");
            return this;
        }

        /** Where local mail is delivered. */
        public Builder maildir(Maildir maildir) {
            this.maildir = Objects.requireNonNull(maildir, "maildir");
            return this;
        }

        /** Who the local users are (a name absent here gets 550 at RCPT). */
        public Builder users(UserStore users) {
            this.users = Objects.requireNonNull(users, "users");
            return this;
        }

        /** Enables AUTH PLAIN and LOGIN against this portal. */
        public Builder portal(Portal portal) {
            this.portal = Objects.requireNonNull(portal, "portal");
            return this;
        }

        /** Enables STARTTLS with this server-side TLS configuration. */
        public Builder tls(Tls tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /** Whether AUTH is offered before STARTTLS (for tests and loopback setups); false by default. */
        public Builder allowPlainAuth(boolean allow) {
            this.allowPlainAuth = allow;
            return this;
        }

        /** Enables relaying (for authenticated clients) through this queue. */
        public Builder relay(RelayQueue relay) {
            this.relay = Objects.requireNonNull(relay, "relay");
            return this;
        }

        /** The most bytes a message may have, after dot-unstuffing; 25 MiB by default. */
        public Builder maxMessageSize(long bytes) {
            if (bytes < 1024) {
                throw new IllegalArgumentException("max message size must be at least 1024 bytes: " + bytes);
            }
            this.maxMessageSize = bytes;
            return this;
        }

        /** The most recipients per message; 100 by default (RFC 5321 §4.5.3.1.8's minimum). */
        public Builder maxRecipients(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max recipients must be positive: " + n);
            }
            this.maxRecipients = n;
            return this;
        }

        /** How many refused commands a session may send before it is closed with 421; 10 by default. */
        public Builder maxErrors(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max errors must be positive: " + n);
            }
            this.maxErrors = n;
            return this;
        }

        /**
         * How many commands that move no mail forward (NOOP, RSET, VRFY, EXPN, HELP, HELO, EHLO,
         * and RCPTs refused for too many recipients) a session may send between two delivered
         * messages before it is closed with 421; 100 by default, as Postfix's
         * {@code smtpd_junk_command_limit}. It keeps a client from holding a connection open
         * forever with NOOPs, which no idle timeout would notice.
         *
         * @throws IllegalArgumentException if {@code n} is not positive
         */
        public Builder maxJunkCommands(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max junk commands must be positive: " + n);
            }
            this.maxJunkCommands = n;
            return this;
        }

        /**
         * The local user who gets mail for {@code postmaster} when the user store has no user of
         * that name. RFC 5321 §4.5.1 requires every SMTP server to accept mail for
         * {@code postmaster@domain} and {@code <postmaster>} (in any case); a user named
         * {@code postmaster} always gets it first. Without either, such mail is still accepted and
         * kept in the Maildir mailbox {@code postmaster}, for a user of that name added later.
         */
        public Builder postmaster(String localUser) {
            Objects.requireNonNull(localUser, "localUser");
            if (localUser.isEmpty() || localUser.startsWith(".") || localUser.contains("/") || localUser.contains("\\")
                    || localUser.contains("@")) {
                throw new IllegalArgumentException("not a local user name: " + localUser);
            }
            this.postmaster = localUser;
            return this;
        }

        /**
         * How long the server waits for the client's next command or data; zero means forever.
         * 5 minutes by default (RFC 5321 §4.5.3.2.7).
         */
        public Builder idleTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("idle timeout must not be negative: " + timeout);
            }
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * Builds the server.
         *
         * @throws IllegalStateException if domain, maildir or users is missing
         */
        public SmtpServer build() {
            if (domain == null || maildir == null || users == null) {
                throw new IllegalStateException("an SMTP server needs a domain, a maildir and a user store");
            }
            return new SmtpServer(this);
        }
    }
}

package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UserStore;
import dev.twine.mail.maildir.Maildir;
import java.nio.charset.StandardCharsets;
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
    final int minDataRate;
    final Duration idleTimeout;
    final String postmaster;
    final boolean anySender;
    final ConnectionLimits limits;

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
        this.minDataRate = b.minDataRate;
        this.idleTimeout = b.idleTimeout;
        this.postmaster = b.postmaster;
        this.anySender = b.anySender;
        this.limits = b.limits != null ? b.limits : defaultLimits();
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
     * handler on {@code endpoints}, under this server's {@linkplain Builder#limits connection
     * limits}: a connection over them is told
     * {@code 421 4.7.0 <domain> Error: too many connections from your address} and closed.
     */
    public Server server(String name, List<String> endpoints) {
        byte[] refusal = Reply.of(421, "4.7.0 " + domain + " Error: too many connections from your address")
                .toWire().getBytes(StandardCharsets.US_ASCII);
        Server.Builder b = Server.builder(name).handler(handler()).limits(limits)
                .overLimit(conn -> conn.output().write(refusal));
        endpoints.forEach(b::listen);
        return b.build();
    }

    /**
     * The connection limits an SMTP server has unless told otherwise, new on each call (limits
     * count the connections of the servers that share them): 50 concurrent connections per client
     * address (an IPv6 /64), as Postfix's {@code smtpd_client_connection_count_limit}; at most 10
     * per address and 1,000 in all that have not yet authenticated (submission) or started a mail
     * transaction (port 25); and 60 seconds from connecting to that point. A real client needs a
     * few round trips for EHLO, STARTTLS and AUTH or MAIL; a client that holds connections open
     * without getting there is what the limits are for.
     */
    public static ConnectionLimits defaultLimits() {
        return ConnectionLimits.defaults();
    }

    /** The connection limits {@link #server} applies. */
    public ConnectionLimits limits() {
        return limits;
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
        private int minDataRate = 500;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private String postmaster;
        private boolean anySender;
        private ConnectionLimits limits;

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
         * The least rate, in bytes per second, at which a message's text must arrive: from the
         * 354 reply, the text may take the {@linkplain #idleTimeout idle timeout} plus one second
         * for every {@code bytesPerSecond} bytes received, else the session ends with 421 (as
         * Postfix's {@code smtpd_min_data_rate}, whose default, 500, this shares). Zero turns the
         * rate off, leaving only the idle timeout's bound on each line.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder minDataRate(int bytesPerSecond) {
            if (bytesPerSecond < 0) {
                throw new IllegalArgumentException("min data rate must not be negative: " + bytesPerSecond);
            }
            this.minDataRate = bytesPerSecond;
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
         * Whether authenticated users may send as anyone. By default (false) an authenticated
         * user may use only their own addresses ({@code user@domain}, and postmaster for the
         * postmaster user) as the envelope sender ({@code 553 5.7.1} otherwise, RFC 6409 §6.1)
         * and in From: ({@code 550 5.7.1} at the end of DATA); the null sender is always allowed.
         * True suits a smarthost that relays for other mail servers, each logging in with one
         * account for all its senders.
         */
        public Builder acceptAnySender(boolean any) {
            this.anySender = any;
            return this;
        }

        /**
         * The connection limits of the servers {@link SmtpServer#server} makes; by default
         * {@link SmtpServer#defaultLimits()}. The session marks its connection authenticated
         * ({@link Connection#markAuthenticated()}) after a successful AUTH and, on port 25, at the
         * first accepted MAIL. Pass one instance to several servers to count their connections
         * together; {@link ConnectionLimits#none()} for none.
         */
        public Builder limits(ConnectionLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }


        /**
         * How long the server waits for the client's next command or data; zero means forever.
         * 5 minutes by default (RFC 5321 §4.5.3.2.7). It bounds each wait for a line to begin and,
         * once it has begun, the time for all the rest of it, so a client sending a byte now and
         * then cannot hold one line open for longer.
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

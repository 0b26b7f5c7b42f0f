package dev.twine.mail.smtp;

import dev.twine.core.Binding;
import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Endpoint;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.mail.internal.ListeningService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * An ESMTP server (RFC 5321), or an LMTP server (RFC 2033), handing each message to a
 * {@link MailDelivery}: {@link MaildirDelivery} for a domain's users, a {@link RelayQueue} for
 * other domains, {@link Aliases} over either, or an implementation of the application's own.
 *
 * <pre>{@code
 * SmtpServer mx = SmtpServer.builder()
 *         .domain("example.org")
 *         .delivery(MaildirDelivery.builder().domain("example.org").maildir(maildir).users(users).build())
 *         .listen("tcp:2525:interface=127.0.0.1")
 *         .build();
 * mx.start();                 // returns once bound
 * mx.awaitTermination();
 * }</pre>
 *
 * <p>Three roles share the code: {@link Role#MX} (port 25: accepts mail for the domain from
 * anyone, other domains only from authenticated clients, so it is never an open relay),
 * {@link Role#SUBMISSION} (RFC 6409, port 587: every transaction needs AUTH, and the server
 * completes the message's Date and Message-ID) and {@link Role#LMTP} (RFC 2033: {@code LHLO}, and
 * one reply per recipient after the message). Extensions: PIPELINING, SIZE, 8BITMIME, CHUNKING (RFC 3030),
 * ENHANCEDSTATUSCODES, SMTPUTF8, DSN (RFC 3461: its parameters reach the delivery in the envelope),
 * REQUIRETLS (RFC 8689, on a TLS session), STARTTLS (when a {@link Tls} is set) and AUTH PLAIN/LOGIN (when a
 * {@link Portal} is set; only over TLS unless {@link Builder#allowPlainAuth}).
 *
 * <h2>Durability</h2>
 * The 250 reply to the end of DATA is sent only when {@link MailDelivery#deliver} has returned;
 * what that promises is the delivery's to say (the shipped ones: on disk and forced). If it fails
 * the client gets the failure's reply (451 for an I/O error) and the message is its responsibility
 * again.
 *
 * <h2>Threads</h2>
 * {@link #handler()} runs one session per connection on the connection's virtual thread; the
 * server's configuration is immutable and shared. As a {@link Service} it listens on the
 * {@linkplain Builder#listen endpoints} it was built with.
 */
public final class SmtpServer implements Service {
    /** Which job the listening port does. */
    public enum Role {
        /** Port 25: mail for local users from anyone; relaying only after AUTH. */
        MX,
        /** Port 587 (RFC 6409): AUTH required for every transaction; relays anywhere. */
        SUBMISSION,
        /**
         * LMTP (RFC 2033), for an MTA in front handing over mail for local delivery: {@code LHLO}
         * instead of EHLO and HELO, and after the message one reply per accepted recipient, in
         * {@code RCPT} order. Otherwise as {@link #MX}.
         */
        LMTP
    }

    final String domain;
    final Set<String> domains;
    final Role role;
    final MailDelivery<?> delivery;
    final Portal portal;
    final Tls tls;
    final boolean allowPlainAuth;
    final long maxMessageSize;
    final int maxRecipients;
    final int maxErrors;
    final int maxJunkCommands;
    final int minDataRate;
    final Duration idleTimeout;
    final int tarpitAfter;
    final Duration errorDelay;
    final Duration greetDelay;
    final ConnectionRate connectionRate;
    final GreetPasses greetPasses = new GreetPasses();
    final boolean anySender;
    final SenderLogins senders;
    final SendingLimits sendingLimits;
    final ConnectionLimits limits;
    private final ListeningService service;

    private SmtpServer(Builder b) {
        this.domain = b.domains.iterator().next();
        this.domains = Set.copyOf(b.domains);
        this.role = b.role;
        this.delivery = b.delivery;
        this.portal = b.portal;
        this.tls = b.tls;
        this.allowPlainAuth = b.allowPlainAuth;
        this.maxMessageSize = b.maxMessageSize;
        this.maxRecipients = b.maxRecipients;
        this.maxErrors = b.maxErrors;
        this.maxJunkCommands = b.maxJunkCommands;
        this.minDataRate = b.minDataRate;
        this.idleTimeout = b.idleTimeout;
        this.tarpitAfter = b.tarpitAfter;
        this.errorDelay = b.errorDelay;
        this.greetDelay = b.greetDelay;
        this.connectionRate = new ConnectionRate(b.maxConnectionRate);
        this.anySender = b.anySender;
        this.senders = b.senders != null ? b.senders : SenderLogins.byName(domains);
        this.sendingLimits = b.sendingLimits;
        this.limits = b.limits != null ? b.limits : defaultLimits();
        byte[] refusal = Reply.of(421, "4.7.0 " + domain + " Error: too many connections from your address")
                .toWire().getBytes(StandardCharsets.US_ASCII);
        // a connection over the limits is told so and closed
        this.service = new ListeningService(name(), handler(), b.endpoints, idleTimeout, limits, refusal, b.metrics, tls);
    }

    /**
     * A builder; {@link Builder#domain} and {@link Builder#delivery} are required, and
     * {@link Builder#listen} for {@link #start()}.
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The connection handler that runs one SMTP (or LMTP) session per connection: until the client
     * quits, the connection ends or the session is closed for cause (idle timeout, too many errors,
     * server shutdown), each with a 421 reply where the connection still allows one. For embedding
     * in a {@link Server} of one's own, and for tests over in-memory connections.
     */
    public ConnectionHandler handler() {
        return conn -> new SmtpSession(this, conn).run();
    }

    /** {@code smtp}, {@code submission} or {@code lmtp}, after the role: the name in logs and bindings. */
    @Override
    public String name() {
        return role.name().equals("MX") ? "smtp" : role.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Binds every endpoint and starts accepting; returns once all are bound.
     *
     * @throws IOException naming the endpoint that could not be bound; nothing stays bound then
     * @throws IllegalStateException if already started, or built without {@link Builder#listen}
     */
    @Override
    public void start() throws IOException {
        service.start();
    }

    /** The bound addresses once started (the real port for {@code tcp:0}); empty before. */
    @Override
    public List<Binding> bindings() {
        return service.bindings();
    }

    /**
     * The port of the first binding, once started (the real one for {@code tcp:0}).
     *
     * @throws IllegalStateException if not started
     */
    public int port() {
        List<Binding> b = bindings();
        if (b.isEmpty()) {
            throw new IllegalStateException("not started");
        }
        return b.get(0).port();
    }

    /**
     * Stops accepting, tells sessions waiting for their next command {@code 421 4.3.2}, waits up
     * to {@code grace} for the others, then cancels the rest.
     *
     * @throws InterruptedException if interrupted while waiting; the server is then closed at once
     */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        service.shutdown(grace);
    }

    /**
     * Rereads the STARTTLS certificate and key if their files changed (a renewal), and the
     * certificates of {@code tls:} endpoints, then asks the delivery to reload
     * ({@link MailDelivery#reload()}: the aliases file, for one): what the launcher does on
     * SIGHUP. Sessions keep their connections; the next handshake gets the new pair, the next
     * {@code RCPT} the new aliases.
     *
     * @return whether a certificate or the delivery's configuration changed
     * @throws IOException naming the file, if a renewed pair or the delivery's file is bad; what
     *     was in use stays in use (a failure of one does not stop the other's reload)
     */
    @Override
    public boolean reload() throws IOException {
        boolean certificates;
        try {
            certificates = service.reload();
        } catch (IOException e) {
            try {
                delivery.reload();
            } catch (IOException other) {
                e.addSuppressed(other);
            }
            throw e;
        }
        return delivery.reload() | certificates;
    }

    /** Stops at once, cancelling every session; idempotent. */
    @Override
    public void close() {
        service.close();
    }

    /**
     * Blocks until the server has stopped.
     *
     * @throws InterruptedException if interrupted while waiting
     * @throws IllegalStateException if built without {@link Builder#listen}
     */
    @Override
    public void awaitTermination() throws InterruptedException {
        service.awaitTermination();
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

    /** The connection limits the listening server applies. */
    public ConnectionLimits limits() {
        return limits;
    }

    /** The server's name: the first {@linkplain Builder#domain local domain}. */
    public String domain() {
        return domain;
    }

    /** Every local domain, the first one's name included. */
    public Set<String> domains() {
        return domains;
    }

    /** The role. */
    public Role role() {
        return role;
    }

    /** The most bytes a message may have (the SIZE value advertised). */
    public long maxMessageSize() {
        return maxMessageSize;
    }

    @Override
    public String toString() {
        return "SmtpServer[" + name() + ", " + domain + ", " + bindings() + "]";
    }

    /** Configuration for an {@link SmtpServer}. */
    public static final class Builder {
        private final Set<String> domains = new LinkedHashSet<>();
        private Role role = Role.MX;
        private MailDelivery<?> delivery;
        private Portal portal;
        private Tls tls;
        private boolean allowPlainAuth;
        private final List<Endpoint> endpoints = new ArrayList<>();
        private long maxMessageSize = 25L * 1024 * 1024;
        private int maxRecipients = 100;
        private int maxErrors = 10;
        private int maxJunkCommands = 100;
        private int minDataRate = 500;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private int tarpitAfter;
        private Duration errorDelay = Duration.ZERO;
        private Duration greetDelay = Duration.ZERO;
        private int maxConnectionRate;
        private Metrics metrics;
        private boolean anySender;
        private SenderLogins senders;
        private SendingLimits sendingLimits = SendingLimits.none();
        private ConnectionLimits limits;

        private Builder() {}

        /**
         * Adds a local mail domain; repeatable. The local domains are those whose mail anyone may
         * send here (every other domain needs AUTH: no open relay) and those of the addresses an
         * authenticated user owns; the first one added is also the server's name, in the greeting
         * and in {@code Received:}.
         */
        public Builder domain(String domain) {
            this.domains.add(Objects.requireNonNull(domain, "domain").toLowerCase(Locale.ROOT));
            return this;
        }

        /** The role; {@link Role#MX} by default. */
        public Builder role(Role role) {
            this.role = Objects.requireNonNull(role, "role");
            return this;
        }

        /** What is done with the mail: see {@link MailDelivery}. Required. */
        public Builder delivery(MailDelivery<?> delivery) {
            this.delivery = Objects.requireNonNull(delivery, "delivery");
            return this;
        }

        /**
         * Adds an endpoint to listen on when started, in the server grammar
         * ({@code tcp:2525:interface=127.0.0.1}, {@code tls:465:cert=...:key=...}); repeatable.
         *
         * @throws IllegalArgumentException naming the bad part
         */
        public Builder listen(String endpoint) {
            endpoints.add(Endpoint.parseServer(endpoint));
            return this;
        }

        /** Enables AUTH PLAIN and LOGIN against this portal. */
        public Builder portal(Portal portal) {
            this.portal = Objects.requireNonNull(portal, "portal");
            return this;
        }

        /**
         * Registers the listening server's connection and traffic series in {@code metrics}
         * (see {@link Server.Builder#metrics}), labelled with {@link #role}'s service name.
         *
         * @param metrics the registry
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
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
         * Tarpitting: once a session has had {@code afterErrors} refused commands, the reply to
         * each further one waits {@code delay} (Postfix's {@code smtpd_error_sleep_time} past its
         * soft error limit), so a client probing for addresses gets slow answers, while one that
         * makes a mistake or two never notices. The session still closes at
         * {@linkplain #maxErrors the error limit}. Off by default ({@code delay} zero).
         *
         * @throws IllegalArgumentException if {@code afterErrors} or {@code delay} is negative
         */
        public Builder errorDelay(int afterErrors, Duration delay) {
            if (afterErrors < 0 || delay.isNegative()) {
                throw new IllegalArgumentException("error delay needs a count and a delay that are not negative");
            }
            this.tarpitAfter = afterErrors;
            this.errorDelay = delay;
            return this;
        }

        /**
         * The pre-greeting test (as Postfix's postscreen does it with {@code postscreen_greet_wait}):
         * the session sends the first line of its greeting, {@code 220-name ESMTP Twine}, waits
         * {@code delay}, and only then the last one, {@code 220 name ESMTP Twine}. RFC 5321 §4.2
         * has the client wait for the whole reply, so a real client is silent until then; one
         * that talks first (the spam software that does not wait for anyone) gets
         * {@code 554 5.5.1 Protocol error: talking before the greeting} and is closed, with one
         * INFO line ({@code pregreet: service=smtp address=... after=...s}) on the logger
         * {@code dev.twine.mail.smtp.SmtpSession}. An address (IPv6: its /64) that passed is
         * greeted at once for a day after, as postscreen remembers a pass
         * ({@code postscreen_greet_ttl}), so a mail server that sends often pays the delay once a
         * day; the passes are the server's, in memory. Off by default (zero), as a plain Postfix
         * {@code smtpd} without postscreen has it: it suits a public port 25, where postscreen
         * waits 6 seconds, and never submission.
         *
         * @throws IllegalArgumentException if {@code delay} is negative
         */
        public Builder greetDelay(Duration delay) {
            if (delay.isNegative()) {
                throw new IllegalArgumentException("greet delay must not be negative: " + delay);
            }
            this.greetDelay = delay;
            return this;
        }

        /**
         * How many connections one client address (an IPv6 /64) may open a minute, as Postfix's
         * {@code smtpd_client_connection_rate_limit} (anvil): every connection counts, refused or
         * not, in a minute that starts with the address's first one; past {@code perMinute} a
         * connection gets {@code 421 4.7.0 <name> Error: too many connections from <address>}
         * before the greeting and is closed, with one INFO line on the logger
         * {@code dev.twine.mail.smtp.SmtpSession}. Other addresses are not affected. This is beside
         * {@linkplain #limits the cap on concurrent connections per address}, which a client that
         * connects, sends one message and leaves, again and again, never reaches. Counted per
         * server, in memory, on the connection's clock. Off by default (zero).
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder maxConnectionRate(int perMinute) {
            if (perMinute < 0) {
                throw new IllegalArgumentException("max connection rate must not be negative: " + perMinute);
            }
            this.maxConnectionRate = perMinute;
            return this;
        }

        /**
         * Whether authenticated users may send as anyone. By default (false) an authenticated
         * user may use only the addresses {@linkplain #senderLogins their sender rule} grants
         * (without one, their own: {@code user@domain} in each local domain, the local part equal
         * to the user name ignoring case) as the envelope sender ({@code 553 5.7.1} otherwise,
         * RFC 6409 §6.1) and in From: ({@code 550 5.7.1} at the end of DATA); the null sender is
         * always allowed. True suits a smarthost that relays for other mail servers, each logging
         * in with one account for all its senders.
         */
        public Builder acceptAnySender(boolean any) {
            this.anySender = any;
            return this;
        }

        /**
         * Which addresses an authenticated user may send as, in the envelope and in From:; by
         * default {@link SenderLogins#byName} over the local domains. Combine rules with
         * {@link SenderLogins#or} (the user's aliases, a file, a directory of one's own). Not
         * asked when {@link #acceptAnySender} is true.
         */
        public Builder senderLogins(SenderLogins senders) {
            this.senders = Objects.requireNonNull(senders, "senders");
            return this;
        }

        /**
         * Hourly limits on messages and recipients per user and per client address; none by
         * default. Pass one instance to several servers to count their mail together.
         */
        public Builder sendingLimits(SendingLimits limits) {
            this.sendingLimits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /**
         * The connection limits of the listening server; by default
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
         * Builds the server, not started.
         *
         * @throws IllegalStateException naming the builder method of a missing required setting
         */
        public SmtpServer build() {
            if (domains.isEmpty()) {
                throw new IllegalStateException("domain(...) is required");
            }
            if (delivery == null) {
                throw new IllegalStateException("delivery(...) is required");
            }
            return new SmtpServer(this);
        }
    }
}

package dev.twine.mail.pop3;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.Realm;
import dev.twine.mail.internal.ListeningService;
import dev.twine.mail.internal.LoginServerSettings;
import dev.twine.mail.store.MailStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A POP3 server (RFC 1939, with CAPA and response codes from RFC 2449, STLS from RFC 2595 and
 * SASL AUTH from RFC 5034) over the inboxes of a {@link MailStore}.
 *
 * <pre>{@code
 * Pop3Server pop3 = Pop3Server.builder().portal(portal).store(Maildir.open(root)).tls(tls)
 *         .listen("tcp:110").build();
 * pop3.start();
 * }</pre>
 *
 * <p>After login the {@linkplain Builder#realm realm} gives the session the user's
 * {@link MailStore.Account}; the session reads its {@code INBOX} through the
 * {@link dev.twine.mail.store.Mailbox} interface only. A realm that refuses the user makes the
 * login fail ({@code -ERR [AUTH]}, counted by the policy); one whose store cannot be reached
 * answers {@code -ERR [SYS/TEMP]}.
 *
 * <p>A session locks its mailbox from login to the end (RFC 1939 §8); a second session gets
 * {@code -ERR [IN-USE]}. Deletions happen only at QUIT (the UPDATE state); a dropped connection
 * deletes nothing. UIDL values are the messages' {@linkplain
 * dev.twine.mail.store.StoredMessage#uniqueId unique names} (the Maildir base names in the Maildir
 * store), so they stay the same across sessions and restarts (names longer than RFC 1939 §7's 70 characters are hashed).
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
public final class Pop3Server implements Service {

    /** The line a connection over the {@linkplain Builder#limits limits} gets before it is closed. */
    static final byte[] OVER_LIMIT = "-ERR [SYS/TEMP] too many connections from your address\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private final ConnectionHandler handler;
    private final ConnectionLimits limits;
    private final ListeningService service;

    private Pop3Server(Builder b) {
        LoginServerSettings s = b.settings;
        Config c = new Config(b.realm, s.portal(), s.tls(), s.plainLoginAllowed(), s.serviceName());
        this.limits = s.limits();
        this.handler = conn -> new Pop3Session(c, conn).run();
        this.service = s.service(handler, limits, OVER_LIMIT, "pop3"); // RFC 7301 ALPN on POP3S listeners
    }

    /**
     * The per-connection handler, for embedding in a {@link Server} built elsewhere and for tests
     * over in-memory connections. It marks a connection authenticated on login, so that server's
     * {@link ConnectionLimits} work as this one's.
     */
    public ConnectionHandler handler() {
        return handler;
    }

    /** The connection caps the server applies ({@link Builder#limits}, or the defaults). */
    public ConnectionLimits limits() {
        return limits;
    }

    /** The service name ({@code pop3} unless {@link Builder#serviceName} said otherwise). */
    @Override
    public String name() {
        return service.name();
    }

    /**
     * Binds the endpoints and starts accepting; returns once all are bound.
     *
     * @throws java.io.IOException naming an endpoint that could not be bound
     * @throws IllegalStateException if already started, or built without
     *     {@link Builder#listen(String)}
     */
    @Override
    public void start() throws java.io.IOException {
        service.start();
    }

    @Override
    public List<Binding> bindings() {
        return service.bindings();
    }

    /** Stops accepting, lets sessions say goodbye for up to {@code grace}, then cancels the rest. */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        service.shutdown(grace);
    }

    /**
     * Rereads the STARTTLS certificate and key if their files changed (a renewal): what the
     * launcher does on SIGHUP. Sessions keep their connections; the next handshake gets the new pair.
     *
     * @return whether a certificate changed
     * @throws java.io.IOException naming the file, if a renewed pair is bad; the old one stays
     */
    @Override
    public boolean reload() throws java.io.IOException {
        return service.reload();
    }

    @Override
    public void close() {
        service.close();
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        service.awaitTermination();
    }

    @Override
    public String toString() {
        return "Pop3Server[" + name() + ", " + bindings() + "]";
    }


    /**
     * A new instance of the connection caps {@link Builder#build} uses unless
     * {@link Builder#limits} says otherwise: 50 connections per client address (IPv6: per /64),
     * of which at most 10 not yet logged in, 1,000 not logged in from all addresses together, and
     * 60 s to log in. Each call returns fresh counts.
     */
    public static ConnectionLimits defaultLimits() {
        return ConnectionLimits.defaults();
    }

    /**
     * A builder; {@link Builder#portal portal(...)} and {@link Builder#store store(...)} or
     * {@link Builder#realm realm(...)} are required.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Configuration of a POP3 server; every setting but the portal and the store has a default. */
    public static final class Builder {
        private final LoginServerSettings settings = new LoginServerSettings("pop3", Duration.ofMinutes(10));
        private Realm<MailStore.Account> realm;

        private Builder() {}

        /** Where users log in (required): passwords, SASL mechanisms and the login policy. */
        public Builder portal(Portal portal) {
            settings.portal(portal);
            return this;
        }

        /**
         * The mail of every user (this or {@link #realm} is required): each user who logs in
         * gets {@code store.account(principal.name())}. Replaces a realm given before.
         */
        public Builder store(MailStore store) {
            Objects.requireNonNull(store, "store");
            this.realm = principal -> store.account(principal.name());
            return this;
        }

        /**
         * What each user who logs in gets (this or {@link #store} is required), called on the
         * connection's thread after the portal accepted the credentials; see {@link Realm} for
         * how its refusals and failures are answered. Replaces a store given before.
         */
        public Builder realm(Realm<MailStore.Account> realm) {
            this.realm = Objects.requireNonNull(realm, "realm");
            return this;
        }

        /**
         * An endpoint to listen on ({@code tcp:PORT[:interface=ADDR]}, {@code tls:PORT:cert=..:key=..},
         * {@code unix:PATH}); repeatable, checked by {@link #build()}. Without any, the server only
         * offers {@link Pop3Server#handler()}.
         */
        public Builder listen(String endpoint) {
            settings.listen(endpoint);
            return this;
        }

        /**
         * Registers the listening server's connection and traffic series in {@code metrics}.
         *
         * @param metrics the registry
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            settings.metrics(metrics);
            return this;
        }

        /** TLS for STLS (RFC 2595 §4); without it, STLS is not offered. */
        public Builder tls(Tls tls) {
            settings.tls(tls);
            return this;
        }

        /**
         * Whether USER/PASS and AUTH work before TLS (default false). Without TLS configured they
         * always work.
         */
        public Builder allowPlainLogin(boolean allow) {
            settings.allowPlainLogin(allow);
            return this;
        }

        /** The inactivity limit (default 10 minutes, RFC 1939 §3); zero means none. */
        public Builder autologout(Duration timeout) {
            settings.idleTimeout(timeout);
            return this;
        }

        /**
         * Caps on connections per client address and before login, and the time allowed to log
         * in, for {@link #build}; default: a new {@link Pop3Server#defaultLimits()} for each
         * server. {@link ConnectionLimits#none()} turns them off; one instance shared by
         * several servers counts their connections together. The handler of {@link Pop3Server#handler()}
         * marks a connection authenticated on login, so a {@link Server} built elsewhere with
         * limits works the same.
         */
        public Builder limits(ConnectionLimits limits) {
            settings.limits(limits);
            return this;
        }

        /** The service name for {@code listening} lines (default {@code pop3}). */
        public Builder serviceName(String name) {
            settings.serviceName(name);
            return this;
        }

        /**
         * The server, not started.
         *
         * @throws IllegalStateException if the portal or the store (or realm) is missing
         * @throws IllegalArgumentException for a malformed endpoint
         */
        public Pop3Server build() {
            settings.requirePortal();
            if (realm == null) {
                throw new IllegalStateException("store(...) or realm(...) is required");
            }
            return new Pop3Server(this);
        }
    }

    record Config(Realm<MailStore.Account> realm, Portal portal, Tls tls, boolean plainLoginAllowed, String serviceName) {}
}

package dev.twine.mail.imap;

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
 * An IMAP4rev1 server (RFC 3501) over a {@link MailStore}, with IDLE, UIDPLUS, MOVE, NAMESPACE,
 * ID, LITERAL+, UNSELECT, ENABLE, SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154, from
 * {@link MailStore.Account#specialUses()}), LIST-EXTENDED and LIST-STATUS (RFC 5258, 5819),
 * CONDSTORE and QRESYNC (RFC 7162, from the store's
 * {@link dev.twine.mail.store.StoredMessage#modSeq() mod-sequences}), ESEARCH (RFC 4731), BINARY
 * (RFC 3516), QUOTA
 * (RFC 9208, from {@link MailStore.Account#quota()}), STATUS=SIZE (RFC 8438) and APPENDLIMIT
 * (RFC 7889, the {@linkplain Builder#maxLiteral largest literal}).
 *
 * <pre>{@code
 * ImapServer imap = ImapServer.builder().portal(portal).store(Maildir.open(root)).tls(tls)
 *         .listen("tcp:143").build();
 * imap.start();
 * }</pre>
 *
 * <p>Users log in with the portal's passwords (LOGIN, AUTHENTICATE PLAIN or SCRAM-SHA-256); the
 * {@linkplain Builder#realm realm} then gives the session the user's {@link MailStore.Account},
 * and every command works on that account only: the session reads and writes mail through the
 * {@link dev.twine.mail.store.Mailbox} interface, never files. A realm that refuses the user makes
 * the login fail ({@code NO [AUTHENTICATIONFAILED]}, counted by the policy); a realm whose store
 * cannot be reached answers {@code NO [UNAVAILABLE]}. On a user's first login the special-use
 * folders (Sent, Drafts, Trash, Junk, RFC 6154) are created and subscribed. Before TLS, logins are refused and LOGINDISABLED is
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
public final class ImapServer implements Service {

    /** The line a connection over the {@linkplain Builder#limits limits} gets before it is closed. */
    static final byte[] OVER_LIMIT = "* BYE [UNAVAILABLE] too many connections from your address\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private final ConnectionHandler handler;
    private final ConnectionLimits limits;
    private final ListeningService service;

    private ImapServer(Builder b) {
        LoginServerSettings s = b.settings;
        Config c = new Config(b.realm, s.portal(), s.tls(), s.plainLoginAllowed(), b.maxLiteral, b.maxLine, b.idleRecheck,
                s.serviceName());
        this.limits = s.limits();
        this.handler = conn -> new ImapSession(c, conn).run();
        this.service = s.service(handler, limits, OVER_LIMIT, "imap"); // RFC 7301 ALPN on IMAPS listeners
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

    /** The service name ({@code imap} unless {@link Builder#serviceName} said otherwise). */
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

    /** Stops accepting, lets sessions say BYE for up to {@code grace}, then cancels the rest. */
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
        return "ImapServer[" + name() + ", " + bindings() + "]";
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

    /** Configuration of an IMAP server; every setting but the portal and the store has a default. */
    public static final class Builder {
        private final LoginServerSettings settings = new LoginServerSettings("imap", Duration.ofMinutes(30));
        private Realm<MailStore.Account> realm;
        private int maxLiteral = 64 * 1024 * 1024;
        private int maxLine = 64 * 1024;
        private Duration idleRecheck = Duration.ofSeconds(30);

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
         * offers {@link ImapServer#handler()}.
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

        /** TLS for STARTTLS (RFC 3501 §6.2.1); without it, STARTTLS is not offered. */
        public Builder tls(Tls tls) {
            settings.tls(tls);
            return this;
        }

        /**
         * Whether LOGIN and AUTHENTICATE work before TLS (default false). When TLS is not
         * configured they always work, since there is no way to protect them.
         */
        public Builder allowPlainLogin(boolean allow) {
            settings.allowPlainLogin(allow);
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
         * How often an idling session looks at its mailbox even when the mailbox's
         * {@linkplain dev.twine.mail.store.Mailbox#watch watch} reports nothing (default 30 s): a
         * safety net for file systems that do not report changes, and the only way a store
         * without a watch of its own is looked at.
         */
        public Builder idleRecheck(Duration every) {
            this.idleRecheck = Objects.requireNonNull(every, "every");
            return this;
        }

        /** The inactivity limit (default 30 minutes, RFC 3501 §5.4); zero means none. */
        public Builder autologout(Duration timeout) {
            settings.idleTimeout(timeout);
            return this;
        }

        /**
         * Caps on connections per client address and before login, and the time allowed to log
         * in, for {@link #build}; default: a new {@link ImapServer#defaultLimits()} for each
         * server. {@link ConnectionLimits#none()} turns them off; one instance shared by
         * several servers (IMAP and POP3) counts their connections together. The handler of
         * {@link ImapServer#handler()} marks a connection authenticated on login, so a {@link Server} built
         * elsewhere with limits works the same.
         */
        public Builder limits(ConnectionLimits limits) {
            settings.limits(limits);
            return this;
        }

        /** The service name used in {@code listening} lines and thread names (default {@code imap}). */
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
        public ImapServer build() {
            settings.requirePortal();
            if (realm == null) {
                throw new IllegalStateException("store(...) or realm(...) is required");
            }
            return new ImapServer(this);
        }
    }

    record Config(Realm<MailStore.Account> realm, Portal portal, Tls tls, boolean plainLoginAllowed, int maxLiteral, int maxLine,
            Duration idleRecheck, String serviceName) {}
}

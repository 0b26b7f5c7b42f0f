package dev.twine.mail.managesieve;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Metrics;
import dev.twine.core.Service;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.mail.internal.ListeningService;
import dev.twine.mail.internal.LoginServerSettings;
import dev.twine.mail.sieve.SieveScript;
import dev.twine.mail.sieve.SieveScriptStore;
import dev.twine.mail.sieve.SieveScripts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A ManageSieve server (RFC 5804): users upload, check, list, fetch, rename, delete and activate
 * their Sieve scripts, kept in a {@link SieveScriptStore}: a {@link SieveScripts} (the layout
 * Dovecot Pigeonhole uses) or a store of your own. So Thunderbird's sieve add-on, Roundcube's
 * managesieve plugin or {@code sieve-connect} can manage the filters the local delivery runs.
 *
 * <pre>{@code
 * SieveScripts scripts = SieveScripts.builder().maildir(maildir).build();
 * ManageSieveServer sieve = ManageSieveServer.builder().portal(portal).scripts(scripts).tls(tls)
 *         .listen("tcp:4190").build();
 * sieve.start();
 * }</pre>
 *
 * <h2>The protocol</h2>
 * The greeting and {@code CAPABILITY} list {@code IMPLEMENTATION}, {@code SASL} (the portal's
 * mechanisms, once a login is allowed: after STARTTLS unless {@link Builder#allowPlainLogin}),
 * {@code SIEVE} (the interpreter's extensions), {@code STARTTLS} (with {@link Builder#tls}),
 * {@code MAXREDIRECTS}, {@code OWNER} after login and {@code VERSION "1.0"}. Commands:
 * {@code AUTHENTICATE} (SASL with an optional initial response; SCRAM's server-final message in
 * {@code OK (SASL ...)}), {@code STARTTLS} (the capabilities are sent again after the
 * handshake), {@code LOGOUT}, {@code CAPABILITY}, {@code NOOP}, {@code HAVESPACE},
 * {@code PUTSCRIPT} and {@code CHECKSCRIPT} (parsed by {@link SieveScript}: a script with errors is
 * {@code NO "line N: ..."} and not stored), {@code LISTSCRIPTS}, {@code SETACTIVE},
 * {@code GETSCRIPT}, {@code DELETESCRIPT} (not the active script: {@code NO (ACTIVE)}) and
 * {@code RENAMESCRIPT}. Strings come quoted or as literals, {@code {N+}} or {@code {N}} (neither
 * waits for the server).
 *
 * <h2>Limits and abuse resistance</h2>
 * Logins go through the portal's {@link dev.twine.core.auth.AuthPolicy}, as IMAP's do: each
 * failure answered late, {@code BYE} after the last allowed one, {@code NO (TRYLATER)} while the
 * address or user is penalised. A script is at most {@link SieveScriptStore#maxSize()} octets, a user
 * has at most {@link Builder#maxScripts} scripts taking {@link Builder#maxStorage} octets in all
 * ({@code NO (QUOTA/MAXSIZE)}, {@code (QUOTA/MAXSCRIPTS)}, {@code (QUOTA/MAXSTORAGE)}, also
 * answered by {@code HAVESPACE}); a literal before login is at most 8 KiB, a line 8 KiB. The
 * {@linkplain #defaultLimits() connection caps} and the time to log in are those of IMAP.
 *
 * <h2>Error handling</h2>
 * Bad commands get {@code NO} and the session goes on. A failure of the script store is logged
 * with a short id, and the client gets {@code NO (TRYLATER)} with that id only.
 */
public final class ManageSieveServer implements Service {
    /** What {@code MAXREDIRECTS} tells: the redirects one run of a script makes at delivery. */
    static final int MAX_REDIRECTS = 4;
    private static final byte[] OVER_LIMIT = "BYE \"Too many connections from your address\"\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private final ConnectionHandler handler;
    private final ListeningService service;

    private ManageSieveServer(Builder b) {
        LoginServerSettings s = b.settings;
        Config c = new Config(s.portal(), b.scripts, s.tls(), s.plainLoginAllowed(), s.serviceName(), b.maxScripts, b.maxStorage);
        this.handler = conn -> new ManageSieveSession(c, conn).run();
        this.service = s.service(handler, s.limits(), OVER_LIMIT, "managesieve");
    }

    /** A builder; {@link Builder#portal} and {@link Builder#scripts} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The connection caps {@link Builder#build} uses unless told otherwise: those of
     * {@link ConnectionLimits#defaults()} (50 per address, 10 of them and 1,000 in all not logged
     * in, 60 s to log in). Each call returns fresh counts.
     *
     * @return the limits
     */
    public static ConnectionLimits defaultLimits() {
        return ConnectionLimits.defaults();
    }

    /** The Sieve extensions the {@code SIEVE} capability lists: the interpreter's, sorted. */
    static List<String> extensions() {
        return SieveScript.EXTENSIONS.stream().sorted().toList();
    }

    /**
     * The per-connection handler, for embedding and for tests over in-memory connections.
     *
     * @return the handler
     */
    public ConnectionHandler handler() {
        return handler;
    }

    @Override
    public String name() {
        return service.name();
    }

    /**
     * Binds the endpoints and starts accepting; returns once all are bound.
     *
     * @throws IOException naming an endpoint that could not be bound
     * @throws IllegalStateException if built without {@link Builder#listen(String)}
     */
    @Override
    public void start() throws IOException {
        service.start();
    }

    @Override
    public List<Binding> bindings() {
        return service.bindings();
    }

    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        service.shutdown(grace);
    }

    /** Rereads the TLS pair if its files changed. */
    @Override
    public boolean reload() throws IOException {
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
        return "ManageSieveServer[" + name() + ", " + bindings() + "]";
    }

    record Config(Portal portal, SieveScriptStore scripts, Tls tls, boolean plainLoginAllowed, String serviceName, int maxScripts,
            long maxStorage) {}

    /** Configuration of a ManageSieve server. */
    public static final class Builder {
        private final LoginServerSettings settings = new LoginServerSettings("managesieve", Duration.ofMinutes(30));
        private SieveScriptStore scripts;
        private int maxScripts = 100;
        private long maxStorage = 4L << 20;

        private Builder() {}

        /**
         * Where users log in (required): mechanisms and the login policy.
         *
         * @param portal the portal
         * @return this builder
         */
        public Builder portal(Portal portal) {
            settings.portal(portal);
            return this;
        }

        /**
         * The users' scripts (required); a logged-in user manages those of their own name.
         *
         * @param scripts the scripts
         * @return this builder
         */
        public Builder scripts(SieveScriptStore scripts) {
            this.scripts = Objects.requireNonNull(scripts, "scripts");
            return this;
        }

        /**
         * TLS for STARTTLS (RFC 5804 §2.2) and for {@code tls:} endpoints given without a pair.
         *
         * @param tls the certificate and key
         * @return this builder
         */
        public Builder tls(Tls tls) {
            settings.tls(tls);
            return this;
        }

        /**
         * Whether AUTHENTICATE works before TLS (default false); without TLS configured it always does.
         *
         * @param allow whether to allow it
         * @return this builder
         */
        public Builder allowPlainLogin(boolean allow) {
            settings.allowPlainLogin(allow);
            return this;
        }

        /**
         * An endpoint to listen on (4190 is ManageSieve's port); repeatable.
         *
         * @param endpoint the endpoint, {@code tcp:4190[:interface=ADDR]} or {@code tls:...}
         * @return this builder
         */
        public Builder listen(String endpoint) {
            settings.listen(endpoint);
            return this;
        }

        /**
         * How long a connection may be silent (default 30 minutes); zero means no limit.
         *
         * @param timeout the timeout
         * @return this builder
         */
        public Builder idleTimeout(Duration timeout) {
            settings.idleTimeout(timeout);
            return this;
        }

        /**
         * Connection caps and the time to log in (default {@link ManageSieveServer#defaultLimits()}).
         *
         * @param limits the limits
         * @return this builder
         */
        public Builder limits(ConnectionLimits limits) {
            settings.limits(limits);
            return this;
        }

        /**
         * Registers the listening server's series in {@code metrics}.
         *
         * @param metrics the registry
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            settings.metrics(metrics);
            return this;
        }

        /**
         * The service name for {@code listening} lines and the login policy (default {@code managesieve}).
         *
         * @param name the name
         * @return this builder
         */
        public Builder serviceName(String name) {
            settings.serviceName(name);
            return this;
        }

        /**
         * The most scripts one user may have (default 100).
         *
         * @param n at least 1
         * @return this builder
         */
        public Builder maxScripts(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxScripts must be positive: " + n);
            }
            this.maxScripts = n;
            return this;
        }

        /**
         * The most octets one user's scripts may take together (default 4 MiB).
         *
         * @param octets at least 1
         * @return this builder
         */
        public Builder maxStorage(long octets) {
            if (octets < 1) {
                throw new IllegalArgumentException("maxStorage must be positive: " + octets);
            }
            this.maxStorage = octets;
            return this;
        }

        /**
         * The server, not started.
         *
         * @return the server
         * @throws IllegalStateException if the portal or the scripts are missing
         * @throws IllegalArgumentException for a malformed endpoint
         */
        public ManageSieveServer build() {
            settings.requirePortal();
            if (scripts == null) {
                throw new IllegalStateException("scripts(...) is required");
            }
            return new ManageSieveServer(this);
        }
    }
}

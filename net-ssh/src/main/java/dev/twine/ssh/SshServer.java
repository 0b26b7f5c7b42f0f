package dev.twine.ssh;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Metrics;
import dev.twine.core.Endpoint;
import dev.twine.core.Service;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.Realm;
import dev.twine.ssh.internal.MinaSshServer;
import dev.twine.ssh.internal.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An SSH server (RFC 4251-4254) whose {@code exec} and {@code shell} sessions run a
 * {@link SshCommandHandler} in direct style, each on its own virtual thread, and whose SFTP
 * subsystem serves a directory in any {@link java.nio.file.FileSystem}. Users authenticate through
 * a {@link Portal}: passwords (and keyboard-interactive, RFC 4256, with one password prompt) as
 * {@link dev.twine.core.auth.UsernamePassword}, keys as
 * {@link dev.twine.core.auth.PublicKeyCredentials}.
 *
 * <pre>{@code
 * SshServer server = SshServer.builder()
 *         .listen("tcp:2222:interface=127.0.0.1")
 *         .portal(portal)
 *         .hostKey(Path.of("ssh_host_key"))
 *         .handler(session -> { session.stdout().write("hi\n".getBytes()); return 0; })
 *         .sftp(SftpDirectory.of(Path.of("/srv/sftp/%u")))
 *         .build();
 * server.start();
 * }</pre>
 *
 * <h2>What each user gets: realms</h2>
 * What a logged-in user may do is decided by two {@link Realm}s, Twisted's cred idea: {@link
 * Builder#handlers} maps the user to the {@link SshCommandHandler} that runs their {@code exec}
 * and {@code shell} requests ({@link Builder#handler} is the case where everyone gets the same),
 * and {@link Builder#sftp} maps the user to the directory their SFTP sessions see as {@code /}:
 * a directory on disk ({@link SftpDirectory}), or the root of a zip or in-memory file system. So
 * "which shell" and "which files" are decided in the same place, and one login serves both.
 *
 * <pre>{@code
 * FileSystem alice = FileSystems.newFileSystem(Path.of("alice.zip"), Map.of("create", "true"));
 * SshServer server = SshServer.builder()
 *         .portal(portal)
 *         .sftp(user -> switch (user.name()) {
 *             case "alice" -> alice.getPath("/");
 *             default -> throw new AuthenticationException("no files for " + user.name());
 *         })
 *         .build();
 * }</pre>
 *
 * <p>A realm is asked when a client's channel asks for what it gives: the handler realm at each
 * {@code exec} or {@code shell} request, the SFTP realm each time the {@code sftp} subsystem is
 * opened. It runs on a virtual thread while MINA's I/O thread that received the request waits
 * for the answer (MINA answers channel requests synchronously), so a realm should answer
 * quickly: a lookup, a directory made on first use. A realm refusing the user ({@link
 * dev.twine.core.auth.AuthenticationException}) refuses that request only, with {@code
 * SSH_MSG_CHANNEL_FAILURE} (RFC 4254 §6.5): OpenSSH's {@code sftp} then says "subsystem request
 * failed" and {@code ssh} "exec request failed"; the user stays logged in and may still use what
 * the other realm gives. Unlike the protocols where the realm is asked once at login, a refusal
 * here is not a failed login and does not count in the {@link dev.twine.core.auth.AuthPolicy}.
 * An {@link java.io.IOException} refuses the request the same way and is logged; any other
 * exception closes the connection and is logged.
 *
 * <h2>SFTP confinement</h2>
 * Whatever directory the SFTP realm returns, the session is confined to it: {@code ..} at the
 * root stays at the root, a symbolic link inside it that leads outside (or nowhere) is refused,
 * clients may create hard links to files inside it but no symbolic links, and in POSIX file systems every mode a client asks for loses its
 * group and other bits (new files 0600, directories 0700), like OpenSSH's {@code sftp-server -u
 * 077} but for {@code chmod} too. The realm's file system is not closed by the server: it belongs
 * to whoever made it.
 *
 * <h2>Embedding</h2>
 * Other Twine servers expose a {@link dev.twine.core.ConnectionHandler} for embedding and tests;
 * this one cannot: MINA SSHD owns the sockets and speaks the protocol on its own threads, so
 * there is no handler that could be given a {@link dev.twine.core.Connection}. The seams for
 * embedding are the two realms above and {@link SshCommandHandler}, which tests drive without a
 * network (a fake {@link SshSession}), and the server itself on port 0.
 *
 * <h2>What it offers</h2>
 * Only modern algorithms: the post-quantum hybrids first ({@code mlkem768x25519-sha256},
 * {@code sntrup761x25519-sha512}), then Curve25519/ECDH/DH-group16+ key exchange, ChaCha20-Poly1305, AES-GCM and
 * AES-CTR with encrypt-then-MAC SHA-2 MACs, Ed25519, ECDSA and RSA-SHA2 keys. Host keys are
 * OpenSSH files: Ed25519 at the {@link Builder#hostKey} path and RSA at that path plus
 * {@code -rsa}, generated on first start. Port forwarding is off unless
 * {@link Builder#allowForwarding} allows local ({@code direct-tcpip}: {@code ssh -L}, {@code -D})
 * or remote ({@code tcpip-forward}: {@code ssh -R}, on loopback only) forwarding, each limited
 * per key by {@link Builder#forwardingPermits}; agent and X11 forwarding are always refused.
 *
 * <h2>Certificates</h2>
 * A portal whose key store admits OpenSSH user certificates ({@link UserCertificateAuthorities})
 * logs their holders in; whatever store admitted it, a certificate's {@code force-command}
 * critical option is enforced here (every {@code exec} and {@code shell} runs that command, with
 * the client's in {@code SSH_ORIGINAL_COMMAND}; SFTP is refused), {@code source-address} is
 * checked against the client, and any other critical option refuses the certificate. {@link
 * Builder#hostCertificate} serves a host certificate.
 *
 * <h2>Limits and abuse resistance</h2>
 * <ul>
 *   <li><b>Logins</b> follow the portal's {@link dev.twine.core.auth.AuthPolicy} ({@link
 *       Portal#policy()}), one {@link dev.twine.core.auth.LoginAttempts} per connection: each failed
 *       password, keyboard-interactive answer or signed public-key request waits the policy's
 *       growing delay before the answer, the connection is closed after the policy's number of
 *       failures, and while the client's address is penalised every method fails, right
 *       password or key or not (the policy's user penalty, which is against password guessing,
 *       applies to passwords and keyboard-interactive). A public-key query without a signature
 *       (the client asking whether a key would do) is never a failure, as in OpenSSH. Besides
 *       that, at most 24 authentication requests of any kind are allowed per connection.</li>
 *   <li><b>Connections</b> take a permit from {@link Builder#limits} when accepted: caps per
 *       address and on connections that have not logged in yet (in all and per address, like
 *       OpenSSH's {@code MaxStartups} and {@code PerSourceMaxStartups}), and a total time to log
 *       in ({@code LoginGraceTime}), counted from the connection's start however much it sends.
 *       Between {@link Builder#earlyDrop}'s start and the pre-auth cap, new
 *       connections are also refused at random, more often the fuller it is ({@code
 *       MaxStartups start:rate:full}). {@link Builder#maxSessions} counts logged-in sessions only, so connections that never
 *       log in cannot take their places. Refused connections get
 *       {@code SSH_DISCONNECT_TOO_MANY_CONNECTIONS}.</li>
 * </ul>
 *
 * <h2>Error handling</h2>
 * A handler's exception ends only its own session (exit status 1). A realm's refusal refuses one
 * channel request (see above).
 *
 * <p>MINA SSHD runs the protocol on its own NIO2 threads; handlers, password checks and the
 * policy's delays run on virtual threads. Thread-safe.
 */
public final class SshServer implements Service {

    private final ServerConfig config;
    private final MinaSshServer mina;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean started;

    private SshServer(ServerConfig config, Metrics metrics) {
        this.config = config;
        this.mina = new MinaSshServer(config);
        if (metrics != null) {
            // MINA owns the sockets, so only what it counts is exported
            metrics.gauge("twine_connections_open", "Connections being served now.", mina::sessionCount,
                    "service", config.name());
        }
    }

    /**
     * Starts building a server. {@link Builder#portal} is required, and at least one of
     * {@link Builder#handler}, {@link Builder#handlers} and {@link Builder#sftp}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return config.name();
    }

    /**
     * Loads (or generates) the host keys, binds, and returns once listening.
     *
     * @throws IllegalStateException if already started
     * @throws IllegalArgumentException if a host key file exists but holds no usable key, or the
     *     host certificate is not one for a host key
     * @throws Exception if binding or reading keys fails
     */
    @Override
    public void start() throws Exception {
        lock.lock();
        try {
            if (started) {
                throw new IllegalStateException("ssh server already started");
            }
            started = true;
            mina.start();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The TCP port this server listens on (the real one when port 0 was asked for).
     *
     * @return the bound port
     * @throws IllegalStateException if the server has not been started
     */
    public int port() {
        var a = mina.boundAddress();
        if (a == null) {
            throw new IllegalStateException("ssh server not started");
        }
        return a.getPort();
    }

    /** How many SSH connections are open right now, logged in or not (refused ones not counted). */
    public int connectionCount() {
        return mina.sessionCount();
    }

    @Override
    public List<Binding> bindings() {
        var a = mina.boundAddress();
        return a == null ? List.of() : List.of(new Binding(config.name(), "tcp", a));
    }

    /**
     * Stops accepting connections, lets handlers see {@link SshSession#draining()}, waits up to
     * {@code grace} for clients to disconnect, then closes the rest.
     */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        mina.shutdown(Objects.requireNonNull(grace, "grace"));
    }

    @Override
    public void close() {
        mina.close();
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        mina.awaitTermination();
    }

    /** A kind of port forwarding (RFC 4254 §7), allowed through {@link Builder#allowForwarding}. */
    public enum Forwarding {
        /** {@code direct-tcpip}: {@code ssh -L} and {@code ssh -D}, connections the server makes. */
        LOCAL,
        /** {@code tcpip-forward}: {@code ssh -R}, a port the server listens on for the client. */
        REMOTE
    }

    /** Configures an {@link SshServer}. Not thread-safe. */
    public static final class Builder {
        private String name = "ssh";
        private String listen = "tcp:2222:interface=127.0.0.1";
        private Portal portal;
        private Path hostKey = Path.of("ssh_host_key");
        private Path hostCertificate;
        private Realm<SshCommandHandler> handlers;
        private Realm<Path> sftp;
        private Set<Forwarding> forwarding = EnumSet.noneOf(Forwarding.class);
        private AuthorizedKeysDirectory forwardingPermits;
        private int maxSessions = 100;
        private int earlyDropStart = 50;
        private int earlyDropRate = 30;
        private Duration idleTimeout = Duration.ofMinutes(10);
        private ConnectionLimits limits = defaultLimits();
        private Metrics metrics;

        private Builder() {
        }

        /** The service name in {@code listening} lines and logs; default {@code "ssh"}. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Where to listen: a TCP endpoint ({@code tcp:PORT[:interface=ADDR]}); default
         * {@code tcp:2222:interface=127.0.0.1}.
         *
         * @throws IllegalArgumentException if the endpoint is malformed or not TCP
         */
        public Builder listen(String endpoint) {
            Endpoint ep = Endpoint.parseServer(endpoint);
            if (!(ep instanceof Endpoint.Tcp)) {
                throw new IllegalArgumentException(endpoint + ": ssh listens on tcp endpoints only");
            }
            this.listen = endpoint;
            return this;
        }

        /**
         * Exports the number of open connections to {@code metrics} as
         * {@code twine_connections_open{service="NAME"}}.
         *
         * @param metrics the registry
         * @return this builder
         */
        public Builder metrics(Metrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** The portal that checks passwords and public keys (required). */
        public Builder portal(Portal portal) {
            this.portal = Objects.requireNonNull(portal, "portal");
            return this;
        }

        /** The Ed25519 host key file (RSA is at this path plus {@code -rsa}); generated if missing. */
        public Builder hostKey(Path file) {
            this.hostKey = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * An OpenSSH host certificate to present beside the host keys ({@code ssh-keygen -s CA -h
         * -I ID -n HOST ssh_host_key.pub} writes {@code ssh_host_key-cert.pub}), so that clients
         * trusting its CA ({@code @cert-authority} in known_hosts) accept this server without
         * its key listed. It must certify one of the host keys; {@link #start()} checks that.
         *
         * @param file the certificate file
         * @return this builder
         */
        public Builder hostCertificate(Path file) {
            this.hostCertificate = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * What every user's {@code exec} and {@code shell} requests run (for example {@link
         * SampleShell#handler()}): {@link #handlers} with {@link Realm#shared}. Without this or
         * {@link #handlers}, {@code exec} and {@code shell} are refused.
         */
        public Builder handler(SshCommandHandler handler) {
            return handlers(Realm.shared(Objects.requireNonNull(handler, "handler")));
        }

        /**
         * Chooses, per logged-in user, what their {@code exec} and {@code shell} requests run.
         * The realm is asked at each such request (see "What each user gets" on {@link
         * SshServer}); a refusal refuses that request only.
         *
         * <pre>{@code
         * .handlers(user -> user.name().equals("admin") ? adminShell : SampleShell.handler())
         * }</pre>
         */
        public Builder handlers(Realm<SshCommandHandler> realm) {
            this.handlers = Objects.requireNonNull(realm, "realm");
            return this;
        }

        /**
         * Enables the SFTP subsystem: the realm gives each logged-in user the directory their
         * SFTP sessions see as {@code /}, in any file system (the local disk through {@link
         * SftpDirectory}, a zip file system, an in-memory one), and the session is confined to it
         * (see "SFTP confinement" on {@link SshServer}). The directory must exist when the realm
         * returns it (else the request is refused). Asked each time a client opens the {@code sftp} subsystem; a refusal
         * refuses that subsystem request only.
         */
        public Builder sftp(Realm<Path> realm) {
            this.sftp = Objects.requireNonNull(realm, "realm");
            return this;
        }

        /**
         * Which port forwarding logged-in users may do; none by default. {@link
         * Forwarding#LOCAL} allows {@code direct-tcpip} channels (RFC 4254 §7.2: {@code ssh -L}
         * and {@code ssh -D}) to any destination the server can reach; {@link Forwarding#REMOTE}
         * allows {@code tcpip-forward} listeners (RFC 4254 §7.1: {@code ssh -R}) on loopback
         * addresses only (as sshd's default {@code GatewayPorts no}), each connection to one
         * carried back to the client. Per-key limits come from {@link #forwardingPermits}.
         * Calling it again replaces the earlier set; no arguments turns forwarding off.
         *
         * @param kinds the kinds allowed
         * @return this builder
         */
        public Builder allowForwarding(Forwarding... kinds) {
            Set<Forwarding> set = EnumSet.noneOf(Forwarding.class);
            for (Forwarding k : kinds) {
                set.add(Objects.requireNonNull(k, "kind"));
            }
            this.forwarding = set;
            return this;
        }

        /**
         * Enforces the {@code permitopen=}, {@code permitlisten=} and {@code no-port-forwarding}
         * options of the {@code authorized_keys} line a user logged in with ({@link
         * AuthorizedKeysDirectory#forwardingPermits}), within what {@link #allowForwarding}
         * allows. Give it the same directory as the portal's key store: without this, those
         * options are not enforced. A user certificate forwards only with its {@code
         * permit-port-forwarding} extension; password logins are not limited here.
         *
         * @param keys the directory the portal checks keys with
         * @return this builder
         */
        public Builder forwardingPermits(AuthorizedKeysDirectory keys) {
            this.forwardingPermits = Objects.requireNonNull(keys, "keys");
            return this;
        }

        /**
         * The most logged-in SSH sessions at once; 0 means no limit; default 100. Connections that
         * have not logged in yet are not counted here but by {@link #limits}. A connection
         * arriving while this many sessions are open is refused at once; a login that would
         * exceed it is disconnected.
         */
        public Builder maxSessions(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxSessions < 0: " + max);
            }
            this.maxSessions = max;
            return this;
        }

        /**
         * Random early drop of connections that have not logged in yet, as OpenSSH's {@code
         * MaxStartups start:rate:full}: while {@code start} or more connections are waiting to
         * log in (from all addresses), a new one is refused with probability {@code rate}
         * percent, rising linearly to 100% at the {@link #limits} pre-auth cap (the "full";
         * without a cap, {@code rate} stays). A flood then meets growing refusals well before
         * the hard cap, while a real user's retry still has a fair chance. Default {@code 50,
         * 30}: OpenSSH's {@code 10:30:100} starts at 10, but here one address may hold 10 places
         * (the per-address cap, {@code PerSourceMaxStartups}), and a start at or below that would
         * let one address get everyone else's connections dropped; {@code start} 0 turns it off. Refused connections get {@code SSH_DISCONNECT_TOO_MANY_CONNECTIONS}.
         *
         * @param start waiting connections from which dropping starts; 0: never
         * @param ratePercent the chance of a drop at {@code start}, 0 to 100
         * @return this builder
         * @throws IllegalArgumentException if {@code start} is negative or the rate is not 0 to 100
         */
        public Builder earlyDrop(int start, int ratePercent) {
            if (start < 0 || ratePercent < 0 || ratePercent > 100) {
                throw new IllegalArgumentException("early drop start must be >= 0 and rate 0 to 100: "
                        + start + ":" + ratePercent);
            }
            this.earlyDropStart = start;
            this.earlyDropRate = ratePercent;
            return this;
        }

        /**
         * The connection limits (per address, before login, the time to log in). Default
         * {@link #defaultLimits()}. A {@link ConnectionLimits} counts the connections it admits,
         * so give each server its own unless they are to share the counts.
         */
        public Builder limits(ConnectionLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /**
         * New limits with this server's defaults: 50 connections per address (an IPv6 /64), 100
         * not logged in yet in all and 10 per address (OpenSSH's {@code MaxStartups} full and
         * start values), and 30 s to log in (OpenSSH allows 120 s; 30 s is plenty for a person
         * typing a password and a quarter of the time a flood holds a place).
         *
         * @return a fresh {@link ConnectionLimits}, with its own counts
         */
        public static ConnectionLimits defaultLimits() {
            return ConnectionLimits.builder()
                    .perAddress(50)
                    .preauth(100)
                    .preauthPerAddress(10)
                    .preauthTimeout(Duration.ofSeconds(30))
                    .build();
        }

        /** Closes a connection with no traffic for this long; zero means never; default 10 minutes. */
        public Builder idleTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("negative idle timeout: " + timeout);
            }
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * Builds the (unstarted) server.
         *
         * @throws IllegalStateException if no portal was set, or none of handler, handlers and
         *     sftp (the server would let users log in to nothing)
         */
        public SshServer build() {
            if (portal == null) {
                throw new IllegalStateException("portal(...) is required");
            }
            if (handlers == null && sftp == null) {
                throw new IllegalStateException("handler(...), handlers(...) or sftp(...) is required:"
                        + " without them a logged-in user could do nothing");
            }
            Endpoint.Tcp tcp = (Endpoint.Tcp) Endpoint.parseServer(listen);
            return new SshServer(new ServerConfig(name, tcp.host(), tcp.port(), portal, hostKey, hostCertificate, handlers, sftp,
                    Set.copyOf(forwarding), forwardingPermits, maxSessions,
                    earlyDropStart, earlyDropRate, idleTimeout, limits), metrics);
        }
    }
}

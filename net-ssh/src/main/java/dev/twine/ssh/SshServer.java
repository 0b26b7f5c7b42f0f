package dev.twine.ssh;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Endpoint;
import dev.twine.core.Service;
import dev.twine.core.auth.Portal;
import dev.twine.ssh.internal.MinaSshServer;
import dev.twine.ssh.internal.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An SSH server (RFC 4251-4254) whose {@code exec} and {@code shell} sessions run a
 * {@link SshCommandHandler} in direct style, each on its own virtual thread, with an optional SFTP
 * subsystem confined to one directory. Users authenticate through a {@link Portal}: passwords
 * (and keyboard-interactive, RFC 4256, with one password prompt) as
 * {@link dev.twine.core.auth.UsernamePassword}, keys as
 * {@link dev.twine.core.auth.PublicKeyCredentials}.
 *
 * <pre>{@code
 * SshServer server = SshServer.builder("ssh")
 *         .listen("tcp:2222:interface=127.0.0.1")
 *         .portal(portal)
 *         .hostKey(Path.of("ssh_host_key"))
 *         .handler(session -> { session.stdout().write("hi\n".getBytes()); return 0; })
 *         .build();
 * server.start();
 * }</pre>
 *
 * <h2>What it offers</h2>
 * Only modern algorithms: Curve25519/ECDH/DH-group16+ key exchange, ChaCha20-Poly1305, AES-GCM and
 * AES-CTR with encrypt-then-MAC SHA-2 MACs, Ed25519, ECDSA and RSA-SHA2 keys. Host keys are
 * OpenSSH files: Ed25519 at the {@link Builder#hostKey} path and RSA at that path plus
 * {@code -rsa}, generated on first start. Port forwarding is off unless
 * {@link Builder#allowForwarding} is set, and then only local ({@code direct-tcpip}, {@code ssh
 * -L}); remote forwarding, agent and X11 forwarding are always refused.
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
 *       {@link Builder#maxSessions} counts logged-in sessions only, so connections that never
 *       log in cannot take their places. Refused connections get
 *       {@code SSH_DISCONNECT_TOO_MANY_CONNECTIONS}.</li>
 * </ul>
 *
 * <h2>Error handling</h2>
 * A handler's exception ends only its own session (exit status 1).
 *
 * <p>MINA SSHD runs the protocol on its own NIO2 threads; handlers, password checks and the
 * policy's delays run on virtual threads. Thread-safe.
 */
public final class SshServer implements Service {

    private final ServerConfig config;
    private final MinaSshServer mina;
    private final ReentrantLock lock = new ReentrantLock();
    private boolean started;

    private SshServer(ServerConfig config) {
        this.config = config;
        this.mina = new MinaSshServer(config);
    }

    /**
     * Starts building a server.
     *
     * @param name the service name for {@code listening} lines, usually {@code "ssh"}
     * @return a new builder
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    @Override
    public String name() {
        return config.name();
    }

    /**
     * Loads (or generates) the host keys, binds, and returns once listening.
     *
     * @throws IllegalStateException if already started
     * @throws IllegalArgumentException if a host key file exists but holds no usable key
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

    /** Configures an {@link SshServer}. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private String listen = "tcp:2222:interface=127.0.0.1";
        private Portal portal;
        private Path hostKey = Path.of("ssh_host_key");
        private SshCommandHandler handler = SampleShell.handler();
        private Path sftpRoot;
        private boolean allowForwarding;
        private int maxSessions = 100;
        private Duration idleTimeout = Duration.ofMinutes(10);
        private ConnectionLimits limits = defaultLimits();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
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
                throw new IllegalArgumentException("--listen " + endpoint + ": ssh listens on tcp endpoints only");
            }
            this.listen = endpoint;
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

        /** What {@code exec} and {@code shell} run; default {@link SampleShell#handler()}. */
        public Builder handler(SshCommandHandler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Enables the SFTP subsystem, confined to {@code root} (created if missing). */
        public Builder sftpRoot(Path root) {
            this.sftpRoot = Objects.requireNonNull(root, "root");
            return this;
        }

        /** Allows local port forwarding ({@code direct-tcpip}); off by default. */
        public Builder allowForwarding(boolean allow) {
            this.allowForwarding = allow;
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
         * @throws IllegalStateException if no portal was set
         */
        public SshServer build() {
            if (portal == null) {
                throw new IllegalStateException("an ssh server needs a portal");
            }
            Endpoint.Tcp tcp = (Endpoint.Tcp) Endpoint.parseServer(listen);
            return new SshServer(new ServerConfig(name, tcp.host(), tcp.port(), portal, hostKey, handler, sftpRoot,
                    allowForwarding, maxSessions, idleTimeout, limits));
        }
    }
}

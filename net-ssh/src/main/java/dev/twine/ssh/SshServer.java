package dev.twine.ssh;

import dev.twine.core.Binding;
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
 * <h2>Error handling</h2>
 * A failed password costs the client {@link Builder#failureDelay} before the answer; after
 * {@link Builder#maxAuthFailures} failures the connection is closed. Connections above
 * {@link Builder#maxSessions} are refused with {@code SSH_DISCONNECT_TOO_MANY_CONNECTIONS}. A
 * handler's exception ends only its own session (exit status 1).
 *
 * <p>MINA SSHD runs the protocol on its own NIO2 threads; only handlers and password checks run on
 * virtual threads. Thread-safe.
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

    /** How many SSH connections are open right now. */
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
        private int maxAuthFailures = 6;
        private Duration failureDelay = Duration.ofSeconds(1);

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

        /** The most SSH connections open at once; 0 means no limit; default 100. */
        public Builder maxSessions(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxSessions < 0: " + max);
            }
            this.maxSessions = max;
            return this;
        }

        /** Closes a connection with no traffic for this long; zero means never; default 10 minutes. */
        public Builder idleTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("negative idle timeout: " + timeout);
            }
            this.idleTimeout = timeout;
            return this;
        }

        /** Failed password checks allowed per connection before it is closed; default 6. */
        public Builder maxAuthFailures(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxAuthFailures < 1: " + max);
            }
            this.maxAuthFailures = max;
            return this;
        }

        /** How long a failed password check waits before answering; zero means no wait; default 1 s. */
        public Builder failureDelay(Duration delay) {
            if (delay.isNegative()) {
                throw new IllegalArgumentException("negative failure delay: " + delay);
            }
            this.failureDelay = delay;
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
                    allowForwarding, maxSessions, idleTimeout, maxAuthFailures, failureDelay));
        }
    }
}

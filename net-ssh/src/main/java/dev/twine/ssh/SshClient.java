package dev.twine.ssh;

import dev.twine.ssh.internal.Algorithms;
import dev.twine.ssh.internal.Keys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.net.InetSocketAddress;
import dev.twine.ssh.internal.AgentClient;
import dev.twine.ssh.internal.KnownHosts;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.sftp.client.SftpClientFactory;

/**
 * A blocking SSH client: connect, verify the server against an OpenSSH {@code known_hosts} file,
 * log in by password or key, then run commands and move files over SFTP. Each method blocks until
 * its work is done or its timeout passes.
 *
 * <pre>{@code
 * try (SshClient ssh = SshClient.builder("127.0.0.1", 2222)
 *         .user("alice").identity(Path.of("id_ed25519"))
 *         .knownHosts(Path.of(System.getProperty("user.home"), ".ssh/known_hosts"))
 *         .connect()) {
 *     ExecResult r = ssh.exec("uname -a");
 * }
 * }</pre>
 *
 * <h2>Host keys</h2>
 * The server's key must be listed for its host in the known_hosts file ({@code host} for port 22,
 * {@code [host]:port} otherwise; hashed {@code |1|salt|hash} entries, wildcards and {@code !}
 * negations work too, as in OpenSSH); a key marked {@code @revoked} is always refused. An
 * unknown key is refused, or added to the file with {@link HostKeyChecking#ACCEPT_NEW}; a changed
 * one is refused unless {@link HostKeyChecking#ACCEPT_ANY} was chosen.
 *
 * <h2>Forwarding</h2>
 * {@link #forwardLocal}, {@link #forwardRemote} and {@link #forwardDynamic} are OpenSSH's
 * {@code -L}, {@code -R} and {@code -D}; each returns a {@link PortForward} that lasts until it is
 * closed or the connection ends ({@link #awaitClosed()}).
 *
 * <h2>Error handling</h2>
 * {@link Builder#connect()} throws {@link HostKeyException} if the server's key is not trusted,
 * {@link java.net.ConnectException} (or another {@link IOException}) if the server cannot be
 * reached, and
 * {@link dev.twine.core.auth.AuthenticationException} if login fails. Interrupting a blocked
 * thread closes the connection and throws {@link InterruptedIOException} or
 * {@link InterruptedException}.
 *
 * <p>One client is one SSH connection (with MINA's I/O threads behind it); methods may be called
 * from several threads at once, each using its own channel. Close it when done.
 */
public final class SshClient implements AutoCloseable {

    private final org.apache.sshd.client.SshClient mina;
    private final ClientSession session;
    private final Duration timeout;
    private final String addedHostKey;

    private SshClient(org.apache.sshd.client.SshClient mina, ClientSession session, Duration timeout, String addedHostKey) {
        this.mina = mina;
        this.session = session;
        this.timeout = timeout;
        this.addedHostKey = addedHostKey;
    }

    /**
     * Starts configuring a connection to {@code host:port}.
     *
     * @param host a host name or address
     * @param port the TCP port
     * @return a new builder
     */
    public static Builder builder(String host, int port) {
        return new Builder(host, port);
    }

    /**
     * Runs a command (RFC 4254 §6.5) with empty standard input and collects its output and exit
     * status. Blocks until the command ends or the timeout passes. A command the server refuses
     * ({@code SSH_MSG_CHANNEL_FAILURE}) ends at once with exit status -1.
     *
     * @param command the command line, as the server's shell will see it
     * @return the exit status and output
     * @throws IOException if the channel fails, or the command does not end within the timeout
     * @throws InterruptedException if interrupted while waiting
     */
    public ExecResult exec(String command) throws IOException, InterruptedException {
        return exec(command, new byte[0]);
    }

    /**
     * Runs a command, sends {@code stdin} followed by EOF, and collects its output and exit status.
     *
     * @param command the command line
     * @param stdin bytes for the command's standard input
     * @return the exit status and output
     * @throws IOException if the channel fails, or the command does not end within the timeout
     * @throws InterruptedException if interrupted while waiting
     */
    public ExecResult exec(String command, byte[] stdin) throws IOException, InterruptedException {
        Objects.requireNonNull(command, "command");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ChannelExec ch = openExec(command)) {
            ch.setIn(new java.io.ByteArrayInputStream(stdin.clone()));
            ch.setOut(out);
            ch.setErr(err);
            ch.open().verify(timeout);
            Set<ClientChannelEvent> events = ch.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for: " + command);
            }
            if (!events.contains(ClientChannelEvent.CLOSED)) {
                throw new IOException("command did not end within " + timeout + ": " + command);
            }
            Integer status = ch.getExitStatus();
            return new ExecResult(status == null ? -1 : status, out.toByteArray(), err.toByteArray());
        }
    }

    /**
     * Starts a command with streams to drive it interactively (no terminal). Blocks until the
     * server has opened the channel.
     *
     * @param command the command line
     * @return the running process; close it when done
     * @throws IOException if the channel cannot be opened
     */
    public RemoteProcess start(String command) throws IOException {
        return start(command, null);
    }

    /**
     * Starts a command with streams to drive it, on a terminal if {@code pty} is given
     * ({@code pty-req}, RFC 4254 §6.2: what {@code ssh -t host command} asks for). Blocks until
     * the server has opened the channel.
     *
     * @param command the command line
     * @param pty the terminal to ask for, or null for none
     * @return the running process; close it when done
     * @throws IOException if the channel cannot be opened
     */
    public RemoteProcess start(String command, Pty pty) throws IOException {
        Objects.requireNonNull(command, "command");
        ChannelExec ch = openExec(command);
        return open(ch, pty);
    }

    /**
     * Starts an interactive shell (RFC 4254 §6.5), with a terminal if {@code pty} is given
     * ({@code pty-req}, RFC 4254 §6.2). Blocks until the server has opened the channel.
     *
     * @param pty the terminal to ask for, or null for none
     * @return the running shell; close it when done
     * @throws IOException if the channel cannot be opened
     */
    public RemoteProcess shell(Pty pty) throws IOException {
        ensureOpen();
        org.apache.sshd.client.channel.ChannelShell ch;
        try {
            ch = session.createShellChannel();
        } catch (IllegalStateException e) {
            throw new IOException("ssh connection closed", e);
        }
        return open(ch, pty);
    }

    private RemoteProcess open(org.apache.sshd.client.channel.PtyCapableChannelSession ch, Pty pty)
            throws IOException {
        ch.setUsePty(pty != null);
        if (pty != null) {
            ch.setPtyType(pty.term());
            ch.setPtyColumns(pty.columns());
            ch.setPtyLines(pty.rows());
        }
        ch.setRedirectErrorStream(false);
        try {
            ch.open().verify(timeout);
        } catch (IOException | RuntimeException e) {
            ch.close(true);
            throw e;
        }
        return new RemoteProcess(ch, pty != null);
    }

    private ChannelExec openExec(String command) throws IOException {
        ensureOpen();
        try {
            return session.createExecChannel(command);
        } catch (IllegalStateException e) {
            throw new IOException("ssh connection closed", e);
        }
    }

    private void ensureOpen() throws IOException {
        if (!session.isOpen() || session.isClosing()) {
            throw new IOException("ssh connection closed");
        }
    }

    /**
     * Opens an SFTP session on this connection. Blocks until the server has started the
     * subsystem.
     *
     * @return the session; close it when done
     * @throws IOException if the server refuses the subsystem or the connection is closed
     */
    public SftpSession sftp() throws IOException {
        ensureOpen();
        return new SftpSession(SftpClientFactory.instance().createSftpClient(session));
    }

    /**
     * Uploads a local file over SFTP, replacing {@code remotePath}; one session for one file
     * ({@link SftpSession#upload}). Blocks until written.
     *
     * @throws IOException if the file cannot be read or the server refuses
     */
    public void upload(Path local, String remotePath) throws IOException {
        try (SftpSession sftp = sftp()) {
            sftp.upload(local, remotePath);
        }
    }

    /**
     * Downloads a remote file over SFTP into {@code local} (written to a temporary file beside it,
     * then renamed; {@link SftpSession#download}). Blocks until done.
     *
     * @throws IOException if the server refuses or the file cannot be written
     */
    public void download(String remotePath, Path local) throws IOException {
        try (SftpSession sftp = sftp()) {
            sftp.download(remotePath, local);
        }
    }

    /**
     * The names in a remote directory (without {@code .} and {@code ..}).
     *
     * @throws IOException if the server refuses
     */
    public List<String> list(String remoteDir) throws IOException {
        try (SftpSession sftp = sftp()) {
            return sftp.list(remoteDir).stream().map(SftpEntry::name).toList();
        }
    }

    /**
     * Forwards connections to {@code listen} on this machine through the server to
     * {@code target} ({@code ssh -L}; {@code direct-tcpip}, RFC 4254 §7.2): the server connects to
     * the target, which may be a name only it can resolve. Blocks until listening.
     *
     * @param listen where to listen here (port 0: any free port; see {@link PortForward#listening()})
     * @param target the host and port the server connects to, unresolved or not
     * @return the forwarding; closing it stops listening
     * @throws IOException if the address cannot be bound or the connection is closed
     */
    public PortForward forwardLocal(InetSocketAddress listen, InetSocketAddress target) throws IOException {
        ensureOpen();
        SshdSocketAddress bound = session.startLocalPortForwarding(address(listen), address(target));
        return new PortForward(bound.toInetSocketAddress(), () -> session.stopLocalPortForwarding(bound));
    }

    /**
     * Asks the server to listen on {@code listen} and forward each connection back to
     * {@code target}, which this side connects to ({@code ssh -R}; {@code tcpip-forward},
     * RFC 4254 §7.1). Blocks until the server has answered.
     *
     * @param listen where the server listens (its host as the server reads it, often
     *     {@code localhost}; port 0: any, the real one in {@link PortForward#listening()})
     * @param target where this side connects for each forwarded connection
     * @return the forwarding; closing it sends {@code cancel-tcpip-forward}
     * @throws IOException if the server refuses or the connection is closed
     */
    public PortForward forwardRemote(InetSocketAddress listen, InetSocketAddress target) throws IOException {
        ensureOpen();
        SshdSocketAddress bound = session.startRemotePortForwarding(address(listen), address(target));
        return new PortForward(InetSocketAddress.createUnresolved(bound.getHostName(), bound.getPort()),
                () -> session.stopRemotePortForwarding(bound));
    }

    /**
     * A SOCKS proxy on {@code listen} whose every connection the server makes
     * ({@code ssh -D}): SOCKS 4, 4a and 5, so a client may give a host name for the server to
     * resolve ({@code curl --socks5-hostname}). Blocks until listening.
     *
     * @param listen where to listen here (port 0: any free port)
     * @return the forwarding; closing it stops the proxy
     * @throws IOException if the address cannot be bound or the connection is closed
     */
    public PortForward forwardDynamic(InetSocketAddress listen) throws IOException {
        ensureOpen();
        SshdSocketAddress bound = session.startDynamicPortForwarding(address(listen));
        return new PortForward(bound.toInetSocketAddress(), () -> session.stopDynamicPortForwarding(bound));
    }

    private static SshdSocketAddress address(InetSocketAddress a) {
        return new SshdSocketAddress(a.getHostString(), a.getPort());
    }

    /**
     * Blocks until the connection ends: the server closes it, the network fails, or
     * {@link #close()} is called (what {@code ssh -N} does while its forwardings work).
     *
     * @throws InterruptedException if interrupted while waiting; the connection stays open
     */
    public void awaitClosed() throws InterruptedException {
        while (session.isOpen() && !session.isClosing()) {
            session.waitFor(EnumSet.of(ClientSession.ClientSessionEvent.CLOSED), Duration.ofSeconds(1));
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for the ssh connection to end");
            }
        }
    }

    /**
     * The type of the server's key ({@code ED25519}, {@code ECDSA}, {@code RSA}) if this
     * connection added it to the known_hosts file, as {@link HostKeyChecking#ACCEPT_NEW} does
     * for a host it does not know. Does not block.
     *
     * @return the key type, or empty if the key was already known
     */
    public Optional<String> addedHostKey() {
        return Optional.ofNullable(addedHostKey);
    }

    /**
     * The key exchange method this connection negotiated (RFC 4253 §7.1), for example {@code
     * mlkem768x25519-sha256} when both sides offer the post-quantum hybrid. Does not block.
     *
     * @return the method's name as it was sent on the wire
     */
    public String keyExchange() {
        return session.getNegotiatedKexParameter(org.apache.sshd.common.kex.KexProposalOption.ALGORITHMS);
    }

    /** Closes the connection. Idempotent. */
    @Override
    public void close() {
        try {
            session.close(false);
        } finally {
            mina.stop();
        }
    }

    /**
     * What to do with a host key the known_hosts file does not list, as OpenSSH's
     * {@code StrictHostKeyChecking} option.
     */
    public enum HostKeyChecking {
        /** Refuse it ({@code StrictHostKeyChecking=yes}): the key must be listed beforehand. */
        STRICT,
        /**
         * Add it to the file and go on ({@code accept-new}, trust on first use); a changed or
         * revoked key is still refused.
         */
        ACCEPT_NEW,
        /**
         * Add an unknown key and accept a changed one too, with a warning in the log
         * ({@code StrictHostKeyChecking=no}: for throwaway test hosts only); a revoked key is
         * still refused.
         */
        ACCEPT_ANY
    }

    /** Configures an {@link SshClient}. Not thread-safe. */
    public static final class Builder {
        private final String host;
        private final int port;
        private String user = System.getProperty("user.name");
        private String password;
        private final List<KeyPair> keys = new ArrayList<>();
        private final List<Path> identities = new ArrayList<>();
        private Path agent;
        private Path knownHosts;
        private HostKeyChecking checking = HostKeyChecking.STRICT;
        private Duration timeout = Duration.ofSeconds(30);

        private Builder(String host, int port) {
            this.host = Objects.requireNonNull(host, "host");
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
        }

        /** The user to log in as; default the {@code user.name} property. */
        public Builder user(String user) {
            this.user = Objects.requireNonNull(user, "user");
            return this;
        }

        /** A password to try (password authentication, RFC 4252 §8). */
        public Builder password(String password) {
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /**
         * A private key file (OpenSSH or PEM; Ed25519, ECDSA or RSA; unencrypted) to try
         * (RFC 4252 §7); may be repeated. Read by {@link #connect()}.
         */
        public Builder identity(Path privateKey) {
            identities.add(Objects.requireNonNull(privateKey, "privateKey"));
            return this;
        }

        /**
         * An encrypted private key file and its passphrase; the file is read (and the passphrase
         * checked) now. May be repeated.
         *
         * @throws IllegalArgumentException naming the file if it holds no key or the passphrase
         *     is wrong
         * @throws IOException if it cannot be read
         */
        public Builder identity(Path privateKey, char[] passphrase) throws IOException {
            Objects.requireNonNull(passphrase, "passphrase");
            try {
                keys.addAll(Keys.readKeyPairs(privateKey, passphrase));
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException(privateKey + ": cannot decrypt (wrong passphrase?)", e);
            }
            return this;
        }

        /**
         * Also try the keys of the {@code ssh-agent} listening on this Unix-domain socket (what
         * {@code SSH_AUTH_SOCK} names), before the identity files; the agent signs, its keys never
         * leave it (draft-miller-ssh-agent).
         */
        public Builder agent(Path socket) {
            this.agent = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /** The OpenSSH known_hosts file that must list the server's key (required). */
        public Builder knownHosts(Path file) {
            this.knownHosts = Objects.requireNonNull(file, "file");
            return this;
        }

        /** What to do with a host key the known_hosts file does not list; default {@code STRICT}. */
        public Builder hostKeyChecking(HostKeyChecking checking) {
            this.checking = Objects.requireNonNull(checking, "checking");
            return this;
        }

        /** Bounds connecting, logging in, and each later operation; default 30 s. */
        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * Connects, verifies the host key and logs in. Blocks up to the timeout for each step.
         *
         * @return the connected client
         * @throws IllegalStateException if no known_hosts file or no credentials were given
         * @throws HostKeyException if the server's key is not trusted
         * @throws IOException if the server cannot be reached, or the agent
         * @throws dev.twine.core.auth.AuthenticationException if login fails
         */
        public SshClient connect() throws IOException, GeneralSecurityException {
            if (knownHosts == null) {
                throw new IllegalStateException("knownHosts(FILE) is required: host keys are always verified");
            }
            if (password == null && identities.isEmpty() && keys.isEmpty() && agent == null) {
                throw new IllegalStateException("give a password, an identity or an agent");
            }
            List<KeyPair> pairs = new ArrayList<>(keys);
            for (Path p : identities) {
                pairs.addAll(Keys.readKeyPairs(p));
            }
            if (agent != null) {
                AgentClient.connect(agent).close(); // an agent that is not there fails here, with its path
            }
            KnownHosts known = KnownHosts.read(knownHosts);
            String name = KnownHosts.hostName(host, port);
            java.util.concurrent.atomic.AtomicReference<HostKeyException> refused = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicReference<String> added = new java.util.concurrent.atomic.AtomicReference<>();
            org.apache.sshd.client.SshClient mina = org.apache.sshd.client.ClientBuilder.builder()
                    .keyExchangeFactories(Algorithms.clientKex())
                    .cipherFactories(Algorithms.ciphers())
                    .macFactories(Algorithms.macs())
                    .signatureFactories(Algorithms.signatures())
                    .serverKeyVerifier((session, remote, key) -> {
                        try {
                            return verify(known, name, key, refused, added);
                        } catch (IOException e) {
                            refused.set(null);
                            LOG.log(System.Logger.Level.WARNING, "cannot add the host key to " + knownHosts + ": " + e);
                            return false;
                        }
                    })
                    .hostConfigEntryResolver(HostConfigEntryResolver.EMPTY)
                    // RFC 4254 §7.2: the server opens forwarded-tcpip channels for the -R
                    // forwardings this client asked for (MINA connects each to the target it
                    // recorded for that listener); nothing else may be opened towards the client
                    .forwardingFilter(org.apache.sshd.server.forward.ForwardingFilter.asForwardingFilter(
                            null, null, new org.apache.sshd.server.forward.TcpForwardingFilter() {
                                @Override
                                public boolean canListen(SshdSocketAddress address,
                                        org.apache.sshd.common.session.Session session) {
                                    return false;
                                }

                                @Override
                                public boolean canConnect(Type type, SshdSocketAddress address,
                                        org.apache.sshd.common.session.Session session) {
                                    return type == Type.Forwarded;
                                }
                            }))
                    .build();
            // only what this builder was given: not ~/.ssh/id_* nor SSH_AUTH_SOCK unless asked
            mina.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
            if (agent != null) {
                mina.setAgentFactory(AgentClient.factory(agent));
            }
            // RFC 4254 §6.5: ask for the server's answer to exec and shell, so that a refused
            // one ends the channel at once instead of leaving it open with nothing running
            org.apache.sshd.core.CoreModuleProperties.REQUEST_EXEC_REPLY.set(mina, true);
            org.apache.sshd.core.CoreModuleProperties.REQUEST_SHELL_REPLY.set(mina, true);
            mina.start();
            ClientSession session = null;
            try {
                session = mina.connect(user, host, port).verify(timeout).getSession();
                for (KeyPair kp : pairs) {
                    session.addPublicKeyIdentity(kp);
                }
                if (password != null) {
                    session.addPasswordIdentity(password);
                }
                try {
                    session.auth().verify(timeout);
                } catch (org.apache.sshd.common.SshException e) {
                    if (refused.get() != null) {
                        throw refused.get();
                    }
                    if (!session.isOpen() && session.getServerKey() == null) {
                        throw new IOException("ssh connection to " + host + ":" + port + " closed before login: "
                                + e.getMessage(), e);
                    }
                    throw new dev.twine.core.auth.AuthenticationException("ssh login failed for " + user + ": "
                            + e.getMessage(), e);
                }
                return new SshClient(mina, session, timeout, added.get());
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                if (session != null) {
                    session.close(true);
                }
                mina.stop();
                throw e;
            }
        }

        /** The known_hosts decision for the server's key (run by MINA during the key exchange). */
        private boolean verify(KnownHosts known, String name, PublicKey key,
                java.util.concurrent.atomic.AtomicReference<HostKeyException> refused,
                java.util.concurrent.atomic.AtomicReference<String> added) throws IOException {
            KnownHosts.Check check = known.check(name, key);
            String type = keyType(key);
            HostKeyException.Reason reason = switch (check.verdict()) {
                case KNOWN -> null;
                case REVOKED -> HostKeyException.Reason.REVOKED;
                case CHANGED -> checking == HostKeyChecking.ACCEPT_ANY ? null : HostKeyException.Reason.CHANGED;
                case UNKNOWN -> checking == HostKeyChecking.STRICT ? HostKeyException.Reason.UNKNOWN : null;
            };
            if (reason != null) {
                refused.set(new HostKeyException(reason, name, type, Keys.fingerprint(key), knownHosts, check.line()));
                return false;
            }
            if (check.verdict() == KnownHosts.Verdict.CHANGED) {
                LOG.log(System.Logger.Level.WARNING, "host key of " + name + " has changed (" + knownHosts + ":"
                        + check.line() + "), accepted as asked: " + type + " " + Keys.fingerprint(key));
            } else if (check.verdict() == KnownHosts.Verdict.UNKNOWN) {
                KnownHosts.append(knownHosts, name, key);
                added.set(type);
            }
            return true;
        }
    }

    private static final System.Logger LOG = System.getLogger("dev.twine.ssh");

    /** A key's type as OpenSSH names it in messages. */
    static String keyType(PublicKey key) {
        String t = org.apache.sshd.common.config.keys.KeyUtils.getKeyType(key);
        if (t.startsWith("ssh-ed25519")) {
            return "ED25519";
        }
        if (t.startsWith("ecdsa-")) {
            return "ECDSA";
        }
        if (t.startsWith("ssh-rsa") || t.startsWith("rsa-")) {
            return "RSA";
        }
        return t;
    }
}

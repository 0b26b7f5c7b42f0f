package dev.twine.ssh;

import dev.twine.ssh.internal.Algorithms;
import dev.twine.ssh.internal.Keys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.sftp.client.SftpClient;
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
 * {@code [host]:port} otherwise; hashed entries work too); an unknown or changed key fails the
 * connection, and the file is never written. There is no "accept anything" switch.
 *
 * <h2>Error handling</h2>
 * {@link Builder#connect()} throws {@link java.net.ConnectException} (or another
 * {@link IOException}) if the server cannot be reached or its key is not trusted, and
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

    private SshClient(org.apache.sshd.client.SshClient mina, ClientSession session, Duration timeout) {
        this.mina = mina;
        this.session = session;
        this.timeout = timeout;
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
        Objects.requireNonNull(command, "command");
        ChannelExec ch = openExec(command);
        return open(ch, false);
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
        ch.setUsePty(pty != null);
        if (pty != null) {
            ch.setPtyType(pty.term());
            ch.setPtyColumns(pty.columns());
            ch.setPtyLines(pty.rows());
        }
        return open(ch, pty != null);
    }

    private RemoteProcess open(org.apache.sshd.client.channel.PtyCapableChannelSession ch, boolean pty)
            throws IOException {
        ch.setRedirectErrorStream(false);
        try {
            ch.open().verify(timeout);
        } catch (IOException | RuntimeException e) {
            ch.close(true);
            throw e;
        }
        return new RemoteProcess(ch, pty);
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
     * Uploads a local file over SFTP, replacing {@code remotePath}. Blocks until written.
     *
     * @throws IOException if the file cannot be read or the server refuses
     */
    public void upload(Path local, String remotePath) throws IOException {
        ensureOpen();
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session);
                InputStream in = Files.newInputStream(local);
                OutputStream out = sftp.write(remotePath)) {
            in.transferTo(out);
        }
    }

    /**
     * Downloads a remote file over SFTP into {@code local} (written to a temporary file beside it,
     * then renamed). Blocks until done.
     *
     * @throws IOException if the server refuses or the file cannot be written
     */
    public void download(String remotePath, Path local) throws IOException {
        Path tmp = local.toAbsolutePath().resolveSibling("." + local.getFileName() + ".part");
        ensureOpen();
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session);
                InputStream in = sftp.read(remotePath)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The names in a remote directory (without {@code .} and {@code ..}).
     *
     * @throws IOException if the server refuses
     */
    public List<String> list(String remoteDir) throws IOException {
        List<String> names = new ArrayList<>();
        ensureOpen();
        try (SftpClient sftp = SftpClientFactory.instance().createSftpClient(session)) {
            for (SftpClient.DirEntry e : sftp.readDir(remoteDir)) {
                if (!e.getFilename().equals(".") && !e.getFilename().equals("..")) {
                    names.add(e.getFilename());
                }
            }
        }
        return names;
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

    /** Configures an {@link SshClient}. Not thread-safe. */
    public static final class Builder {
        private final String host;
        private final int port;
        private String user = System.getProperty("user.name");
        private String password;
        private final List<Path> identities = new ArrayList<>();
        private Path knownHosts;
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

        /** A private key file (OpenSSH or PEM, unencrypted) to try (RFC 4252 §7); may be repeated. */
        public Builder identity(Path privateKey) {
            identities.add(Objects.requireNonNull(privateKey, "privateKey"));
            return this;
        }

        /** The OpenSSH known_hosts file that must list the server's key (required). */
        public Builder knownHosts(Path file) {
            this.knownHosts = Objects.requireNonNull(file, "file");
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
         * @throws IOException if the server cannot be reached or its key is not trusted
         * @throws dev.twine.core.auth.AuthenticationException if login fails
         */
        public SshClient connect() throws IOException, GeneralSecurityException {
            if (knownHosts == null) {
                throw new IllegalStateException("knownHosts(FILE) is required: host keys are always verified");
            }
            if (password == null && identities.isEmpty()) {
                throw new IllegalStateException("give a password or an identity");
            }
            List<KeyPair> keys = new ArrayList<>();
            for (Path p : identities) {
                keys.addAll(Keys.readKeyPairs(p));
            }
            KnownHostsServerKeyVerifier verifier =
                    new KnownHostsServerKeyVerifier(RejectAllServerKeyVerifier.INSTANCE, knownHosts);
            java.util.concurrent.atomic.AtomicReference<String> hostKeyRejected = new java.util.concurrent.atomic.AtomicReference<>();
            org.apache.sshd.client.SshClient mina = org.apache.sshd.client.ClientBuilder.builder()
                    .keyExchangeFactories(Algorithms.clientKex())
                    .cipherFactories(Algorithms.ciphers())
                    .macFactories(Algorithms.macs())
                    .signatureFactories(Algorithms.signatures())
                    .serverKeyVerifier((session, remote, key) -> {
                        boolean ok = verifier.verifyServerKey(session, remote, key);
                        if (!ok) {
                            hostKeyRejected.set(Keys.publicKeyLine(key, null));
                        }
                        return ok;
                    })
                    .hostConfigEntryResolver(HostConfigEntryResolver.EMPTY)
                    .build();
            // only what this builder was given: not ~/.ssh/id_* nor an agent
            mina.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
            // RFC 4254 §6.5: ask for the server's answer to exec and shell, so that a refused
            // one ends the channel at once instead of leaving it open with nothing running
            org.apache.sshd.core.CoreModuleProperties.REQUEST_EXEC_REPLY.set(mina, true);
            org.apache.sshd.core.CoreModuleProperties.REQUEST_SHELL_REPLY.set(mina, true);
            mina.start();
            ClientSession session = null;
            try {
                session = mina.connect(user, host, port).verify(timeout).getSession();
                for (KeyPair kp : keys) {
                    session.addPublicKeyIdentity(kp);
                }
                if (password != null) {
                    session.addPasswordIdentity(password);
                }
                try {
                    session.auth().verify(timeout);
                } catch (org.apache.sshd.common.SshException e) {
                    if (hostKeyRejected.get() != null) {
                        throw new IOException("host key of " + host + ":" + port + " is not in " + knownHosts
                                + ": " + hostKeyRejected.get(), e);
                    }
                    throw new dev.twine.core.auth.AuthenticationException("ssh login failed for " + user + ": "
                            + e.getMessage(), e);
                }
                return new SshClient(mina, session, timeout);
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                if (session != null) {
                    session.close(true);
                }
                mina.stop();
                throw e;
            }
        }
    }
}

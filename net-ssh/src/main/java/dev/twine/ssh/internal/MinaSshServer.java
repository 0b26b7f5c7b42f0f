package dev.twine.ssh.internal;

import dev.twine.core.Scope;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.PublicKeyCredentials;
import dev.twine.core.auth.UsernamePassword;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.file.virtualfs.VirtualFileSystemFactory;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.auth.AsyncAuthException;
import org.apache.sshd.server.auth.keyboard.InteractiveChallenge;
import org.apache.sshd.server.auth.keyboard.KeyboardInteractiveAuthenticator;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * Twine's SSH server on MINA SSHD: MINA speaks the protocol on its own NIO2 threads; password
 * checks and handlers run on virtual threads in this server's {@link Scope}.
 */
public final class MinaSshServer {

    private static final System.Logger LOG = System.getLogger("dev.twine.ssh");
    private static final AttributeKey<Principal> PRINCIPAL = new AttributeKey<>();
    private static final AttributeKey<AtomicInteger> FAILURES = new AttributeKey<>();

    private final ServerConfig config;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition sessionsChanged = lock.newCondition();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean draining;
    private Scope scope;
    private Sshd sshd;
    private InetSocketAddress bound;

    public MinaSshServer(ServerConfig config) {
        this.config = config;
    }

    /** The principal an authenticated session logged in as. */
    static Principal principalOf(ServerSession session) {
        Principal p = session.getAttribute(PRINCIPAL);
        return p != null ? p : new Principal(session.getUsername(), "unknown");
    }

    Scope scope() {
        return scope;
    }

    boolean draining() {
        return draining;
    }

    /** Loads host keys, binds and starts; returns once listening. */
    public void start() throws IOException, GeneralSecurityException {
        List<KeyPair> hostKeys = HostKeys.loadOrGenerate(config.hostKey());
        scope = Scope.open("ssh");
        Sshd s = (Sshd) ServerBuilder.builder()
                .factory(Sshd::new)
                .keyExchangeFactories(Algorithms.serverKex())
                .cipherFactories(Algorithms.ciphers())
                .macFactories(Algorithms.macs())
                .signatureFactories(Algorithms.signatures())
                .forwardingFilter(forwardingFilter(config.allowForwarding()))
                .build();
        s.setHost(config.host().isEmpty() ? null : config.host());
        s.setPort(config.port());
        s.setKeyPairProvider(KeyPairProvider.wrap(hostKeys));
        s.setPasswordAuthenticator(this::authenticatePassword);
        s.setPublickeyAuthenticator(this::authenticateKey);
        s.setKeyboardInteractiveAuthenticator(new Interactive());
        s.setCommandFactory((channel, command) -> new HandlerCommand(this, config.handler(), command));
        s.setShellFactory(channel -> new HandlerCommand(this, config.handler(), null));
        if (config.sftpRoot() != null) {
            createPrivateDirectory(config.sftpRoot());
            s.setFileSystemFactory(new VirtualFileSystemFactory(config.sftpRoot().toAbsolutePath().normalize()));
            SftpSubsystemFactory sftp = new SftpSubsystemFactory();
            sftp.setFileSystemAccessor(new ConfinedSftpAccess());
            s.setSubsystemFactories(List.of(sftp));
        } else {
            s.setSubsystemFactories(List.of());
        }
        CoreModuleProperties.SERVER_IDENTIFICATION.set(s, "Twine");
        // every auth request counts (none, publickey queries, passwords): a hard upper bound
        CoreModuleProperties.MAX_AUTH_REQUESTS.set(s, Math.max(10, config.maxAuthFailures() * 4));
        CoreModuleProperties.AUTH_TIMEOUT.set(s, Duration.ofSeconds(60));
        if (config.idleTimeout() != null && !config.idleTimeout().isZero()) {
            CoreModuleProperties.IDLE_TIMEOUT.set(s, config.idleTimeout());
        } else {
            CoreModuleProperties.IDLE_TIMEOUT.set(s, Duration.ZERO);
        }
        s.addSessionListener(new Limits());
        try {
            s.start();
        } catch (IOException | RuntimeException e) {
            scope.cancel();
            scope.close();
            throw e;
        }
        sshd = s;
        SocketAddress a = s.getBoundAddresses().iterator().next();
        InetSocketAddress ia = (InetSocketAddress) a;
        bound = new InetSocketAddress(ia.getAddress(), s.getPort());
    }

    /** Creates {@code dir} (and its parents) if missing, the directory itself 0700 where POSIX modes exist. */
    private static void createPrivateDirectory(java.nio.file.Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        java.nio.file.Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        } else {
            Files.createDirectory(dir);
        }
    }

    /** The bound address, with the real port. */
    public InetSocketAddress boundAddress() {
        return bound;
    }

    /** How many SSH connections are open now. */
    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Stops accepting, tells handlers they are draining, waits up to {@code grace} for the
     * connections to end, then closes the rest.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        draining = true;
        Sshd s = sshd;
        if (s != null) {
            s.unbindAll();
        }
        long end = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            while (!sessions.isEmpty()) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                sessionsChanged.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            lock.unlock();
            try {
                close();
            } finally {
                lock.lock();
            }
            throw e;
        } finally {
            lock.unlock();
        }
        close();
    }

    /** Stops at once: connections are closed and handlers interrupted. Idempotent. */
    public void close() {
        draining = true;
        try {
            Sshd s = sshd;
            if (s != null) {
                try {
                    s.stop(true);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "stopping the SSH server", e);
                }
            }
            Scope sc = scope;
            if (sc != null) {
                sc.cancel();
                try {
                    sc.close();
                } catch (RuntimeException e) {
                    LOG.log(Level.DEBUG, "ssh scope ended with", e);
                }
            }
        } finally {
            terminated.countDown();
        }
    }

    /** Blocks until closed. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /** Blocks until closed or {@code timeout} passes. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    // ---------------------------------------------------------------- authentication

    /**
     * RFC 4252 §8 password and RFC 4256 keyboard-interactive: checked against the portal on a
     * virtual thread (a check costs a key derivation, and a failure a delay, neither of which may
     * hold one of MINA's few I/O threads); MINA waits for the answer through AsyncAuthException.
     */
    private boolean authenticatePassword(String username, String password, ServerSession session) {
        AsyncAuthException pending = new AsyncAuthException();
        String mechanism = "password";
        checkAsync(username, password, session, pending, mechanism);
        throw pending;
    }

    private void checkAsync(String username, String password, ServerSession session, AsyncAuthException pending,
            String mechanism) {
        try {
            scope.fork("auth-" + username, () -> {
                boolean ok = false;
                try {
                    Principal p = config.portal().authenticate(new UsernamePassword(username, password));
                    session.setAttribute(PRINCIPAL, new Principal(p.name(), mechanism));
                    ok = true;
                } catch (AuthenticationException e) {
                    ok = false;
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "password check for " + username + " failed", e);
                } finally {
                    if (!ok) {
                        failed(session);
                    }
                    pending.setAuthed(ok);
                }
            });
        } catch (IllegalStateException closed) {
            pending.setAuthed(false);
        }
    }

    /**
     * A failed attempt: wait before answering (so that guessing is slow), and disconnect once
     * the connection has used up its attempts (RFC 4252 §4: the server may limit attempts).
     */
    private void failed(ServerSession session) {
        AtomicInteger n = session.computeAttributeIfAbsent(FAILURES, k -> new AtomicInteger());
        int count = n.incrementAndGet();
        try {
            Thread.sleep(config.failureDelay());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (count >= config.maxAuthFailures()) {
            try {
                session.disconnect(SshConstants.SSH2_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
                        "too many authentication failures");
            } catch (IOException e) {
                session.close(true);
            }
        }
    }

    /**
     * RFC 4252 §7 publickey. MINA asks here both for the query (no signature yet) and for the
     * signed request, and only succeeds if the signature also verifies.
     */
    private boolean authenticateKey(String username, PublicKey key, ServerSession session) {
        try {
            InetAddress client = session.getClientAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            Principal p = config.portal().authenticate(new PublicKeyCredentials(username, key, client));
            session.setAttribute(PRINCIPAL, p);
            return true;
        } catch (AuthenticationException e) {
            return false;
        }
    }

    /** RFC 4256: one "Password:" prompt without echo, checked like a password. */
    private final class Interactive implements KeyboardInteractiveAuthenticator {
        @Override
        public InteractiveChallenge generateChallenge(ServerSession session, String username, String lang,
                String subMethods) {
            InteractiveChallenge c = new InteractiveChallenge();
            c.setInteractionName("");
            c.setInteractionInstruction("");
            c.setLanguageTag("");
            c.addPrompt("Password: ", false);
            return c;
        }

        @Override
        public boolean authenticate(ServerSession session, String username, List<String> responses) {
            if (responses == null || responses.size() != 1) {
                return false;
            }
            AsyncAuthException pending = new AsyncAuthException();
            checkAsync(username, responses.getFirst(), session, pending, "keyboard-interactive");
            throw pending;
        }
    }

    // ---------------------------------------------------------------- limits

    /** Counts connections: refuses those above the maximum and those arriving while draining. */
    private final class Limits implements SessionListener {
        @Override
        public void sessionCreated(Session session) {
            boolean refuse;
            lock.lock();
            try {
                refuse = draining || (config.maxSessions() > 0 && sessions.size() >= config.maxSessions());
                if (!refuse) {
                    sessions.add(session);
                    sessionsChanged.signalAll();
                }
            } finally {
                lock.unlock();
            }
            if (refuse) {
                // RFC 4253 §11.1: SSH_DISCONNECT_TOO_MANY_CONNECTIONS
                try {
                    session.disconnect(SshConstants.SSH2_DISCONNECT_TOO_MANY_CONNECTIONS, "too many connections");
                } catch (IOException | RuntimeException e) {
                    session.close(true);
                }
            }
        }

        @Override
        public void sessionClosed(Session session) {
            lock.lock();
            try {
                if (sessions.remove(session)) {
                    sessionsChanged.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    private static ForwardingFilter forwardingFilter(boolean allowLocal) {
        return new ForwardingFilter() {
            @Override
            public boolean canForwardAgent(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canForwardX11(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canListen(SshdSocketAddress address, Session session) {
                return false; // remote (tcpip-forward) forwarding is never allowed
            }

            @Override
            public boolean canConnect(TcpForwardingFilter.Type type, SshdSocketAddress address, Session session) {
                // RFC 4254 §7.2 direct-tcpip: `ssh -L`
                return allowLocal && type == TcpForwardingFilter.Type.Direct;
            }
        };
    }

    /** MINA's server, with a way to stop accepting without closing open connections. */
    static final class Sshd extends org.apache.sshd.server.SshServer {
        void unbindAll() {
            if (acceptor != null) {
                acceptor.unbind();
            }
        }
    }
}

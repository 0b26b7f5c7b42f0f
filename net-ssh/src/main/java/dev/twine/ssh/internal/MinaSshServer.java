package dev.twine.ssh.internal;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.Handle;
import dev.twine.core.Scope;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginRefusedException;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.PublicKeyCredentials;
import dev.twine.core.auth.Realm;
import dev.twine.core.auth.UsernamePassword;
import dev.twine.ssh.AuthorizedKeysDirectory;
import dev.twine.ssh.ForwardingPermits;
import dev.twine.ssh.SshCommandHandler;
import dev.twine.ssh.SshServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.auth.AsyncAuthException;
import org.apache.sshd.server.auth.keyboard.InteractiveChallenge;
import org.apache.sshd.server.auth.keyboard.KeyboardInteractiveAuthenticator;
import org.apache.sshd.server.auth.keyboard.UserAuthKeyboardInteractiveFactory;
import org.apache.sshd.server.auth.password.UserAuthPasswordFactory;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKey;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.session.ServerSession;

/**
 * Twine's SSH server on MINA SSHD: MINA speaks the protocol on its own NIO2 threads; password
 * checks and handlers run on virtual threads in this server's {@link Scope}.
 */
public final class MinaSshServer {

    private static final System.Logger LOG = System.getLogger("dev.twine.ssh");
    private static final AttributeKey<Principal> PRINCIPAL = new AttributeKey<>();
    private static final AttributeKey<ConnectionLimits.Permit> PERMIT = new AttributeKey<>();
    private static final AttributeKey<Logins> LOGINS = new AttributeKey<>();
    /** The force-command of the certificate the session logged in with, if it has one. */
    private static final AttributeKey<String> FORCED_COMMAND = new AttributeKey<>();
    /** What the key the session logged in with may forward; absent: no per-key limit. */
    private static final AttributeKey<ForwardingPermits> PERMITS = new AttributeKey<>();
    /** PROTOCOL.certkeys: the certificate extension without which sshd refuses forwarding. */
    private static final String PERMIT_PORT_FORWARDING = "permit-port-forwarding";
    /** Refusals are logged at most this often, so that a flood cannot flood the log too. */
    private static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(10);

    private final ServerConfig config;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Set<Session> authenticated = ConcurrentHashMap.newKeySet();
    private final AtomicLong lastRefusalLog = new AtomicLong(System.nanoTime() - REFUSAL_LOG_INTERVAL.toNanos());
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition sessionsChanged = lock.newCondition();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean draining;
    private Scope scope;
    private Sshd sshd;
    private InetSocketAddress bound;

    /** SSH_MSG_USERAUTH_REQUESTs of any method allowed per connection (MINA's MAX_AUTH_REQUESTS). */
    static final int MAX_AUTH_REQUESTS = 24;

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

    /**
     * The command a session must run whatever it asks for: the {@code force-command} critical
     * option of the user certificate it logged in with (PROTOCOL.certkeys), if any.
     */
    static Optional<String> forcedCommand(ServerSession session) {
        return Optional.ofNullable(session.getAttribute(FORCED_COMMAND));
    }

    /**
     * Asks {@code realm} for the avatar of the user logged in on {@code session}, for one channel
     * request. The realm runs on a virtual thread in this server's scope while the calling
     * thread, one of MINA's, waits: MINA answers channel requests synchronously, and the realm
     * may block. Every answer the realm gives is returned to the caller, never left in the scope,
     * where it would count as the server's failure.
     *
     * @param request what the client asked for ({@code "exec"}, {@code "shell"}, {@code "sftp"})
     * @throws IOException if the realm refuses the user, fails, or the server is closing: MINA
     *     then answers the request with SSH_MSG_CHANNEL_FAILURE (RFC 4254 §6.5)
     */
    <A> A avatar(Realm<A> realm, ServerSession session, String request) throws IOException {
        Principal principal = principalOf(session);
        Handle<Answer<A>> asked;
        try {
            asked = scope.fork(request + "-realm-" + principal.name(), () -> {
                try {
                    return new Answer<>(Objects.requireNonNull(realm.avatar(principal), "the realm returned null"), null);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Answer<A>(null, e);
                } catch (Exception e) {
                    return new Answer<A>(null, e);
                }
            });
        } catch (IllegalStateException closed) {
            throw new IOException("the ssh server is closing");
        }
        Answer<A> answer;
        try {
            answer = asked.await();
        } catch (InterruptedException e) {
            asked.cancel();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(request + " for " + principal.name() + ": interrupted");
        } catch (CancellationException e) {
            throw new IOException("the ssh server is closing");
        }
        String who = principal.name() + "@" + clientAddress(session);
        switch (answer.refusal()) {
            case null -> {
                return answer.avatar();
            }
            case AuthenticationException e -> {
                LOG.log(Level.INFO, "ssh: " + request + " refused for " + who + " by the realm: " + e.getMessage());
                throw new IOException(request + " refused for " + principal.name());
            }
            case IOException e -> {
                LOG.log(Level.WARNING, "ssh: " + request + " for " + who + " unavailable: " + e);
                throw new IOException(request + " unavailable for " + principal.name(), e);
            }
            case InterruptedException e -> throw new IOException("the ssh server is closing");
            default -> {
                // the realm's contract: anything else closes the connection, logged
                LOG.log(Level.WARNING, "ssh: the " + request + " realm failed for " + who + "; closing", answer.refusal());
                session.close(false);
                throw new IOException(request + " realm failed for " + principal.name(), answer.refusal());
            }
        }
    }

    /** A realm's answer: the avatar, or the exception it threw instead. */
    private record Answer<A>(A avatar, Exception refusal) {
    }

    private static String clientAddress(ServerSession session) {
        return session.getClientAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().getHostAddress() : String.valueOf(session.getClientAddress());
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
                .signatureFactories(Algorithms.serverSignatures())
                .forwardingFilter(new Forwarding())
                .build();
        s.setHost(config.host().isEmpty() ? null : config.host());
        s.setPort(config.port());
        s.setKeyPairProvider(KeyPairProvider.wrap(hostKeys));
        if (config.hostCertificate() != null) {
            OpenSshCertificate cert = hostCertificate(config.hostCertificate(), hostKeys);
            s.setHostKeyCertificateProvider(session -> List.of(cert));
        }
        s.setPasswordAuthenticator(this::authenticatePassword);
        s.setPublickeyAuthenticator(this::authenticateKey);
        s.setKeyboardInteractiveAuthenticator(new Interactive());
        s.setUserAuthFactories(List.of(new GuardedPublicKeyFactory(), UserAuthKeyboardInteractiveFactory.INSTANCE,
                UserAuthPasswordFactory.INSTANCE));
        Realm<SshCommandHandler> handlers = config.handlers();
        if (handlers != null) {
            s.setCommandFactory((channel, command) ->
                    new HandlerCommand(this, avatar(handlers, channel.getServerSession(), "exec"), command));
            s.setShellFactory(channel ->
                    new HandlerCommand(this, avatar(handlers, channel.getServerSession(), "shell"), null));
        } else {
            s.setCommandFactory(null);
            s.setShellFactory(null);
        }
        s.setSubsystemFactories(config.sftp() == null ? List.of() : List.of(new RealmSftpFactory(this, config.sftp())));
        CoreModuleProperties.SERVER_IDENTIFICATION.set(s, "Twine");
        // every auth request counts (none, publickey queries, passwords): a hard upper bound
        // beside the portal's policy, like OpenSSH's MaxAuthTries
        CoreModuleProperties.MAX_AUTH_REQUESTS.set(s, MAX_AUTH_REQUESTS);
        // OpenSSH's LoginGraceTime: MINA counts it from the connection's start, not from the
        // last byte, so a dripping client is closed as surely as a silent one; zero: none
        CoreModuleProperties.AUTH_TIMEOUT.set(s, config.limits().preauthTimeout());
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
            if (e instanceof java.net.BindException) {
                // named as net-core's servers name theirs: the endpoint, then why
                dev.twine.core.Endpoint where = new dev.twine.core.Endpoint.Tcp(config.host(), config.port(), 0);
                java.net.BindException named = new java.net.BindException("cannot listen on " + where + ": " + e.getMessage());
                named.initCause(e);
                throw named;
            }
            throw e;
        }
        sshd = s;
        SocketAddress a = s.getBoundAddresses().iterator().next();
        InetSocketAddress ia = (InetSocketAddress) a;
        bound = new InetSocketAddress(ia.getAddress(), s.getPort());
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
        login(session, username, pending, () -> {
            Principal p = config.portal().authenticate(new UsernamePassword(username, password));
            session.setAttribute(PRINCIPAL, new Principal(p.name(), mechanism));
            session.removeAttribute(FORCED_COMMAND);
            session.removeAttribute(PERMITS);
        });
    }

    /** One credential check; throws AuthenticationException if it fails. */
    private interface Check {
        void run() throws AuthenticationException;
    }

    /** A session's login attempts under the portal's policy, one at a time. */
    private static final class Logins {
        final ReentrantLock lock = new ReentrantLock();
        final LoginAttempts attempts;
        /** The address check for publickey: null until answered, then whether it passed. */
        final java.util.concurrent.atomic.AtomicReference<Boolean> addressAdmitted =
                new java.util.concurrent.atomic.AtomicReference<>();

        Logins(LoginAttempts attempts) {
            this.attempts = attempts;
        }
    }

    /** The session's login state, made (and its address check started) on first use. */
    private Logins logins(ServerSession session) {
        boolean[] made = {false};
        Logins logins = session.computeAttributeIfAbsent(LOGINS, k -> {
            made[0] = true;
            return new Logins(config.portal().policy().open("ssh", session.getClientAddress()));
        });
        if (made[0]) {
            admitAddress(session, logins);
        }
        return logins;
    }

    /**
     * Runs one login attempt on a virtual thread under the portal's {@link
     * dev.twine.core.auth.AuthPolicy}: refused without a check while the address or the user is
     * penalised, delayed after a failure, and the connection closed once it has failed as often as
     * the policy allows (RFC 4252 §4: the server may limit attempts). MINA waits for the answer
     * through {@code pending}, so neither the check nor the delay holds one of its I/O threads.
     * Attempts of one session run one after another (a client may send requests without waiting
     * for the answers; they queue here rather than being checked in parallel).
     */
    private void login(ServerSession session, String username, AsyncAuthException pending, Check check) {
        try {
            scope.fork("auth-" + username, () -> {
                boolean ok = false;
                boolean mayRetry = true;
                Logins logins = logins(session);
                try {
                    logins.lock.lockInterruptibly();
                    try {
                        if (!session.isOpen()) {
                            return;
                        }
                        logins.attempts.admit(username);
                        check.run();
                        logins.attempts.succeeded(username);
                        ok = true;
                    } catch (LoginRefusedException e) {
                        mayRetry = e.mayRetry();
                    } catch (AuthenticationException e) {
                        mayRetry = logins.attempts.failed(username);
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "ssh login check failed", e);
                    } finally {
                        logins.lock.unlock();
                    }
                } catch (InterruptedException e) {
                    // the server is closing: this login simply fails; an escaping exception
                    // would count as a failure of the server's scope
                    Thread.currentThread().interrupt();
                } finally {
                    pending.setAuthed(ok);
                    if (!mayRetry) {
                        tooManyFailures(session);
                    }
                }
            });
        } catch (IllegalStateException closed) {
            pending.setAuthed(false);
        }
    }

    private static void tooManyFailures(ServerSession session) {
        try {
            session.disconnect(SshConstants.SSH2_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
                    "too many authentication failures");
        } catch (IOException e) {
            session.close(true);
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
            // the last key accepted is the one the login succeeds with: its certificate's
            // force-command (if any) binds the session, whichever store admitted it
            String forced = key instanceof OpenSshCertificate cert
                    ? cert.getCriticalOptionsMap().get(OpenSshCertificate.FORCE_COMMAND) : null;
            if (forced != null) {
                session.setAttribute(FORCED_COMMAND, forced);
            } else {
                session.removeAttribute(FORCED_COMMAND);
            }
            session.setAttribute(PERMITS, permits(username, key, client));
            return true;
        } catch (AuthenticationException e) {
            return false;
        }
    }

    /**
     * RFC 4252 §7 publickey, with the portal's policy. MINA answers publickey requests on its own
     * I/O threads and allows no asynchronous answer for them, so nothing here may wait: the
     * address is checked once per connection, on a virtual thread, as soon as the client has sent
     * its identification line ({@link Logins#addressAdmitted}), and every publickey request fails while that
     * check refuses (until it has answered, {@link LoginAttempts#isRefused} decides, which does
     * not wait). A query without a signature ("would this key do?") is
     * never a failure, as in OpenSSH; a signed request whose key is not accepted or whose
     * signature does not verify is one, counted (and its delay spent) on a virtual thread, and
     * the connection is closed once it has failed as often as the policy allows. The policy's
     * per-user penalty, which is there against password guessing, applies to passwords and
     * keyboard-interactive only: a private key cannot be guessed.
     */
    private final class GuardedPublicKey extends UserAuthPublicKey {
        GuardedPublicKey(List<org.apache.sshd.common.NamedFactory<org.apache.sshd.common.signature.Signature>> factories) {
            super(factories);
        }

        @Override
        public Boolean doAuth(Buffer buffer, boolean init) throws Exception {
            ServerSession session = getServerSession();
            Logins logins = logins(session);
            Boolean admitted = logins.addressAdmitted.get();
            // not answered yet (its virtual thread has not run, as on a loaded machine): the
            // policy's own check, which neither waits nor counts, decides instead
            if (admitted == null ? logins.attempts.isRefused(null) : !admitted) {
                return Boolean.FALSE; // penalised: fail, without counting
            }
            // RFC 4252 §7: after the method name comes the boolean "has signature"
            boolean signed = init && buffer.available() > 0 && buffer.rawByte(buffer.rpos()) != 0;
            if (!signed) {
                return super.doAuth(buffer, init);
            }
            boolean verified;
            try {
                verified = Boolean.TRUE.equals(super.doAuth(buffer, init));
            } catch (Exception badSignature) {
                verified = false;
            }
            String username = getUsername();
            if (verified) {
                logins.attempts.succeeded(username);
                return Boolean.TRUE;
            }
            keyFailed(session, logins, username);
            return Boolean.FALSE;
        }

        /**
         * PROTOCOL.certkeys critical options: a certificate with one the server does not enforce
         * must be refused. {@code source-address} is checked here (MINA's check against the
         * client's address), {@code force-command} is enforced on every exec, shell and
         * subsystem request ({@link #forcedCommand}); {@code verify-required} (FIDO user
         * verification) and anything unknown refuse the certificate.
         */
        @Override
        protected void verifyCriticalOptions(ServerSession session, OpenSshCertificate cert)
                throws java.security.cert.CertificateException {
            for (String option : cert.getCriticalOptionsMap().keySet()) {
                switch (option) {
                    case OpenSshCertificate.SOURCE_ADDRESS -> verifyCertificateSources(session, cert);
                    case OpenSshCertificate.FORCE_COMMAND -> {
                        // enforced per channel request
                    }
                    default -> throw new java.security.cert.CertificateException(
                            "critical option " + option + " is not supported");
                }
            }
        }
    }

    /**
     * The host certificate in {@code file}, which must certify one of the server's host keys
     * (sshd's {@code HostCertificate}); clients trusting its CA ({@code @cert-authority} in
     * known_hosts) then accept the server without its key listed.
     *
     * @throws IllegalArgumentException naming the file if it is not a host certificate for one
     *     of {@code hostKeys}
     */
    private static OpenSshCertificate hostCertificate(java.nio.file.Path file, List<KeyPair> hostKeys)
            throws IOException {
        OpenSshCertificate cert = Keys.readCertificate(file);
        if (cert.getType() != OpenSshCertificate.Type.HOST) {
            throw new IllegalArgumentException(file + ": a user certificate, not a host certificate (ssh-keygen -h)");
        }
        if (hostKeys.stream().noneMatch(k -> Keys.sameKey(k.getPublic(), cert.getCertPubKey()))) {
            throw new IllegalArgumentException(file + ": certifies a key that is not one of the host keys");
        }
        return cert;
    }

    /** Counts a failed signed publickey request, off MINA's thread (the policy's delay is spent there). */
    private void keyFailed(ServerSession session, Logins logins, String username) {
        try {
            scope.fork("auth-key-" + username, () -> {
                try {
                    logins.lock.lockInterruptibly();
                    boolean mayRetry;
                    try {
                        mayRetry = logins.attempts.failed(username);
                    } finally {
                        logins.lock.unlock();
                    }
                    if (!mayRetry) {
                        tooManyFailures(session);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        } catch (IllegalStateException closed) {
            session.close(true);
        }
    }

    /**
     * Checks the client's address against the policy once per connection, so that publickey
     * requests, which MINA answers without waiting, know whether the address is penalised.
     */
    private void admitAddress(ServerSession session, Logins logins) {
        try {
            scope.fork("auth-address", () -> {
                try {
                    logins.lock.lockInterruptibly();
                    try {
                        logins.attempts.admit(null);
                        logins.addressAdmitted.set(Boolean.TRUE);
                    } catch (LoginRefusedException e) {
                        logins.addressAdmitted.set(Boolean.FALSE);
                        if (!e.mayRetry()) {
                            tooManyFailures(session);
                        }
                    } finally {
                        logins.lock.unlock();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        } catch (IllegalStateException closed) {
            session.close(true);
        }
    }

    private final class GuardedPublicKeyFactory extends UserAuthPublicKeyFactory {
        @Override
        public UserAuthPublicKey createUserAuth(ServerSession session) {
            return new GuardedPublicKey(getSignatureFactories());
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

    /**
     * Admits connections (OpenSSH's MaxStartups and PerSourceMaxStartups): each new connection
     * takes a permit from the server's {@link ConnectionLimits}, so a flood of unauthenticated
     * connections from one address is refused by that address's own count and never takes the
     * places of other addresses or of logged-in users. {@code maxSessions} counts logged-in
     * sessions only. Refused connections get SSH_DISCONNECT_TOO_MANY_CONNECTIONS (RFC 4253 §11.1).
     */
    private final class Limits implements SessionListener {
        @Override
        public void sessionCreated(Session session) {
            SocketAddress peer = session.getIoSession().getRemoteAddress();
            if (!draining && dropEarly(config.limits().preauthConnections(),
                    java.util.concurrent.ThreadLocalRandom.current().nextInt(100),
                    config.earlyDropStart(), config.earlyDropRate(), config.limits().preauth())) {
                logRefusal(peer, "early drop of connections not logged in yet (max startups)");
                refuse(session, "too many connections");
                return;
            }
            Optional<ConnectionLimits.Permit> permit = draining || peer == null
                    ? Optional.empty() : config.limits().tryAdmit(peer);
            boolean full = config.maxSessions() > 0 && authenticated.size() >= config.maxSessions();
            if (permit.isPresent() && !full) {
                session.setAttribute(PERMIT, permit.get());
                lock.lock();
                try {
                    sessions.add(session);
                    sessionsChanged.signalAll();
                } finally {
                    lock.unlock();
                }
                return;
            }
            permit.ifPresent(ConnectionLimits.Permit::close);
            if (!draining) {
                logRefusal(peer, full ? "max sessions" : "connection limits");
            }
            refuse(session, "too many connections");
        }

        @Override
        public void sessionPeerIdentificationReceived(Session session, String version, List<String> extraLines) {
            // a real client (not a silent flood): start the address check now, a whole key
            // exchange before the first publickey request can arrive
            if (session instanceof ServerSession server && session.getAttribute(PERMIT) != null) {
                logins(server);
            }
        }

        @Override
        public void sessionEvent(Session session, Event event) {
            if (event != Event.Authenticated) {
                return;
            }
            ConnectionLimits.Permit permit = session.getAttribute(PERMIT);
            if (permit != null) {
                permit.authenticated();
            }
            boolean full;
            lock.lock();
            try {
                full = config.maxSessions() > 0 && authenticated.size() >= config.maxSessions();
                if (!full) {
                    authenticated.add(session);
                }
            } finally {
                lock.unlock();
            }
            if (full) {
                // several logins finished at once for the last place
                logRefusal(session.getIoSession().getRemoteAddress(), "max sessions");
                refuse(session, "too many sessions");
            }
        }

        @Override
        public void sessionClosed(Session session) {
            ConnectionLimits.Permit permit = session.getAttribute(PERMIT);
            if (permit != null) {
                permit.close();
            }
            lock.lock();
            try {
                authenticated.remove(session);
                if (sessions.remove(session)) {
                    sessionsChanged.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * OpenSSH's MaxStartups {@code start:rate:full} decision for a new connection while {@code
     * waiting} others have not logged in: never below start; from there a drop when {@code roll}
     * (uniform in 0..99) is under the rate, which rises linearly from {@code rate} at start to 100
     * at full (the limits' pre-auth cap; without one it stays at {@code rate}).
     */
    static boolean dropEarly(int waiting, int roll, int start, int rate, int full) {
        if (start <= 0 || waiting < start) {
            return false;
        }
        long percent = full <= start ? (full > 0 ? 100 : rate)
                : rate + (long) (100 - rate) * (waiting - start) / (full - start);
        return roll < Math.min(100, percent);
    }

    private static void refuse(Session session, String why) {
        try {
            session.disconnect(SshConstants.SSH2_DISCONNECT_TOO_MANY_CONNECTIONS, why);
        } catch (IOException | RuntimeException e) {
            session.close(true);
        }
    }

    private void logRefusal(SocketAddress peer, String limit) {
        long now = System.nanoTime();
        long last = lastRefusalLog.get();
        if (now - last >= REFUSAL_LOG_INTERVAL.toNanos() && lastRefusalLog.compareAndSet(last, now)) {
            String address = peer instanceof InetSocketAddress a && a.getAddress() != null
                    ? a.getAddress().getHostAddress() : String.valueOf(peer);
            LOG.log(Level.WARNING, "ssh: refusing connections over the " + limit + " (address=" + address
                    + "; further refusals are not logged for " + REFUSAL_LOG_INTERVAL.toSeconds() + " s)");
        }
    }

    /**
     * The forwarding a key login may do: a certificate's {@code permit-port-forwarding}
     * extension, else the {@code authorized_keys} line's permits when the server was given the
     * directory (a key admitted by another store is not limited here).
     */
    private ForwardingPermits permits(String username, PublicKey key, InetAddress client) {
        if (key instanceof OpenSshCertificate cert) {
            return cert.getExtensionsMap().containsKey(PERMIT_PORT_FORWARDING) ? ForwardingPermits.ANY : ForwardingPermits.NONE;
        }
        AuthorizedKeysDirectory keys = config.forwardingPermits();
        return keys == null ? ForwardingPermits.ANY
                : keys.forwardingPermits(username, key, client).orElse(ForwardingPermits.ANY);
    }

    private static ForwardingPermits permitsOf(Session session) {
        ForwardingPermits p = session.getAttribute(PERMITS);
        return p == null ? ForwardingPermits.ANY : p;
    }

    /**
     * RFC 4254 §7: local ({@code direct-tcpip}) and remote ({@code tcpip-forward}) forwarding,
     * each only if allowed, within the login's {@link ForwardingPermits}; remote listeners on
     * loopback only (sshd's {@code GatewayPorts no}). Agent and X11 forwarding never.
     */
    private final class Forwarding implements ForwardingFilter {
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
            boolean ok = config.forwarding().contains(SshServer.Forwarding.REMOTE) && loopback(address.getHostName())
                    && permitsOf(session).allowsListen(address.getHostName(), address.getPort());
            if (!ok) {
                LOG.log(Level.INFO, "ssh: remote forwarding refused on " + address + " for " + session.getUsername());
            }
            return ok;
        }

        @Override
        public boolean canConnect(TcpForwardingFilter.Type type, SshdSocketAddress address, Session session) {
            boolean ok = type == TcpForwardingFilter.Type.Direct
                    && config.forwarding().contains(SshServer.Forwarding.LOCAL)
                    && permitsOf(session).allowsOpen(address.getHostName(), address.getPort());
            if (!ok) {
                LOG.log(Level.INFO, "ssh: forwarding to " + address + " refused for " + session.getUsername());
            }
            return ok;
        }
    }

    /** A bind address that stays on this machine: a loopback literal or {@code localhost}. */
    private static boolean loopback(String host) {
        if (host == null) {
            return false;
        }
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        return h.equalsIgnoreCase("localhost") || h.equals("::1") || h.matches("127(\\.\\d{1,3}){3}");
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

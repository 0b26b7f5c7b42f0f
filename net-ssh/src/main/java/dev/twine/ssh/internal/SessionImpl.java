package dev.twine.ssh.internal;

import dev.twine.core.auth.Principal;
import dev.twine.ssh.Pty;
import dev.twine.ssh.SshSession;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/** The {@link SshSession} a handler gets; streams come from MINA's channel. */
final class SessionImpl implements SshSession {

    private final Principal principal;
    private final String command;
    private final InputStream stdin;
    private final OutputStream stdout;
    private final OutputStream stderr;
    private final SocketAddress remote;
    private final BooleanSupplier draining;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition windowChanged = lock.newCondition();
    private Map<String, String> env;
    private Pty pty;
    private long windowVersion;
    private long seenVersion;

    SessionImpl(Principal principal, String command, InputStream stdin, OutputStream stdout, OutputStream stderr,
            SocketAddress remote, BooleanSupplier draining, Map<String, String> env) {
        this.principal = principal;
        this.command = command;
        this.stdin = stdin;
        this.stdout = new Flushing(stdout);
        this.stderr = new Flushing(stderr);
        this.remote = remote;
        this.draining = draining;
        update(env);
    }

    /** Takes a new environment snapshot (at start and on each window-change). */
    void update(Map<String, String> newEnv) {
        lock.lock();
        try {
            env = Map.copyOf(newEnv);
            // MINA puts COLUMNS and LINES in the environment only for a pty-req (RFC 4254 §6.2)
            if (env.containsKey("COLUMNS") || env.containsKey("LINES")) {
                pty = new Pty(env.getOrDefault("TERM", ""), number(env.get("COLUMNS")), number(env.get("LINES")));
            }
        } finally {
            lock.unlock();
        }
    }

    void windowChanged(Map<String, String> newEnv) {
        lock.lock();
        try {
            update(newEnv);
            windowVersion++;
            windowChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static int number(String s) {
        try {
            return s == null ? 0 : Math.max(0, Integer.parseInt(s.strip()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    public Principal principal() {
        return principal;
    }

    @Override
    public Optional<String> command() {
        return Optional.ofNullable(command);
    }

    @Override
    public Map<String, String> env() {
        lock.lock();
        try {
            return env;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Optional<Pty> pty() {
        lock.lock();
        try {
            seenVersion = windowVersion;
            return Optional.ofNullable(pty);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Pty awaitWindowChange() throws InterruptedException {
        lock.lock();
        try {
            if (pty == null) {
                throw new IllegalStateException("the session has no terminal");
            }
            while (windowVersion == seenVersion) {
                windowChanged.await();
            }
            seenVersion = windowVersion;
            return pty;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public InputStream stdin() {
        return stdin;
    }

    @Override
    public OutputStream stdout() {
        return stdout;
    }

    @Override
    public OutputStream stderr() {
        return stderr;
    }

    @Override
    public SocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public boolean draining() {
        return draining.getAsBoolean();
    }

    /**
     * Sends what each write call wrote at once: a handler that writes a prompt and then blocks
     * reading must not leave the prompt in a buffer.
     */
    private static final class Flushing extends FilterOutputStream {
        Flushing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            out.flush();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            out.flush();
        }

        @Override
        public void close() throws IOException {
            // the session owns the channel's streams; closing here would only flush
            out.flush();
        }
    }
}

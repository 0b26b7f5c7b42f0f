package dev.twine.ssh.internal;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.spi.CommandPlugin;
import dev.twine.ssh.HostKeyException;
import dev.twine.ssh.PortForward;
import dev.twine.ssh.Pty;
import dev.twine.ssh.RemoteProcess;
import dev.twine.ssh.SshClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code twine conch}: an SSH client command with OpenSSH's {@code ssh} options and meanings,
 * on {@link SshClient}. Its exit status is the remote command's, or 255 when it could not connect,
 * log in or verify the host (as {@code ssh}); bad arguments exit 255 too, as with {@code ssh}.
 */
public final class ConchCommand implements CommandPlugin {

    /** Exit status for a connection, login or host key failure, and bad arguments (as ssh). */
    static final int FAILED = 255;

    private static final String SYNOPSIS = "Usage: twine conch [-p PORT] [-l USER] [-i KEY]"
            + " [-o StrictHostKeyChecking=yes|no|accept-new]\n"
            + "                   [-o UserKnownHostsFile=F] [-L spec] [-R spec] [-D port] [-N] [-t|-T]"
            + " [user@]host [command]\n";

    private final Map<String, String> env;
    private final Path home;

    /** The command as the launcher runs it: the process's environment and home directory. */
    public ConchCommand() {
        this(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /**
     * With the environment ({@code SSH_AUTH_SOCK}) and home ({@code ~/.ssh}) given: for tests
     * (this package is not exported).
     */
    public ConchCommand(Map<String, String> env, Path home) {
        this.env = Map.copyOf(env);
        this.home = home;
    }

    @Override
    public String name() {
        return "conch";
    }

    @Override
    public String summary() {
        return "SSH client with OpenSSH's options: commands, a terminal, -L/-R/-D forwarding, known_hosts, ssh-agent";
    }

    @Override
    public String usage() {
        return SYNOPSIS + """

                Log in to host over SSH and run command there, or a shell on a terminal.
                Exit status: the remote command's; 255 if the connection, login or host key check failed.

                  -p PORT       port to connect to (default 22)
                  -l USER       user to log in as (default: user@ in the destination, else the local user)
                  -i KEY        private key file (OpenSSH format: ed25519, ecdsa, rsa); repeatable; without
                                it ~/.ssh/id_rsa, id_ecdsa and id_ed25519 are tried. The agent at
                                SSH_AUTH_SOCK is tried first. An encrypted key asks for its passphrase
                                only on a terminal.
                  -o OPT=V      StrictHostKeyChecking=yes (default: an unknown host is refused),
                                accept-new (add unknown hosts to known_hosts) or no (also accept a changed
                                key; test hosts only); UserKnownHostsFile=F (default ~/.ssh/known_hosts);
                                also Port, User, IdentityFile, BatchMode=yes (never ask). Repeatable.
                  -L [bind:]port:host:hostport
                                listen on bind (default localhost) and forward each connection through
                                the server to host:hostport; repeatable
                  -R [bind:]port:host:hostport
                                the server listens on port and forwards each connection back to
                                host:hostport from here; port 0: the server picks one; repeatable
                  -D [bind:]port
                                a SOCKS 4/4a/5 proxy on port whose connections the server makes; repeatable
                  -N            run no command (just forward)
                  -t            ask for a terminal even with a command (-tt: even without a local one)
                  -T            ask for no terminal
                  -q            quiet: no warnings or notes
                On a terminal, ~. at the start of a line closes the connection.
                """;
    }

    @Override
    public int run(List<String> args, InputStream in, PrintStream out, PrintStream err) throws Exception {
        ConchArguments a;
        try {
            a = ConchArguments.ssh(args);
        } catch (ConchArguments.BadArguments e) {
            err.println("twine conch: " + e.getMessage());
            err.print(SYNOPSIS);
            return FAILED;
        }
        boolean terminal = in == System.in && Terminal.interactive();
        Optional<SshClient> connected = connect(a, 22, terminal, "conch", env, home, err);
        if (connected.isEmpty()) {
            return FAILED;
        }
        try (SshClient ssh = connected.get()) {
            if (!forward(ssh, a, err)) {
                return FAILED;
            }
            if (a.noCommand) {
                ssh.awaitClosed();
                return 0;
            }
            return session(ssh, a, terminal, in, out, err);
        }
    }

    /**
     * Connects and logs in as the arguments say, with OpenSSH's defaults for what they leave out;
     * a failure is reported on {@code err} (as {@code ssh} words it) and gives empty.
     */
    static Optional<SshClient> connect(ConchArguments a, int defaultPort, boolean terminal, String command,
            Map<String, String> env, Path home, PrintStream err) throws InterruptedException {
        String user = a.user != null ? a.user : System.getProperty("user.name");
        int port = a.port != null ? a.port : defaultPort;
        Path knownHosts = a.knownHosts != null ? a.knownHosts : home.resolve(".ssh/known_hosts");
        SshClient.Builder b = SshClient.builder(a.host, port)
                .user(user)
                .knownHosts(knownHosts)
                .hostKeyChecking(a.checking != null ? a.checking : SshClient.HostKeyChecking.STRICT);
        boolean any = false;
        String agent = env.get("SSH_AUTH_SOCK");
        if (agent != null && !agent.isEmpty() && Files.exists(Path.of(agent))) {
            b.agent(Path.of(agent));
            any = true;
        }
        List<Path> keys = a.identities.isEmpty()
                ? List.of(home.resolve(".ssh/id_rsa"), home.resolve(".ssh/id_ecdsa"), home.resolve(".ssh/id_ed25519"))
                : a.identities;
        for (Path key : keys) {
            try {
                any |= identity(b, key, terminal && !a.batchMode, !a.identities.isEmpty() && !a.quiet, err);
            } catch (IOException | IllegalArgumentException e) {
                err.println("twine " + command + ": " + e.getMessage());
                return Optional.empty();
            }
        }
        if (!any) {
            err.println("twine " + command + ": no key to log in with: give -i KEY, put one in ~/.ssh/id_*, or run an"
                    + " ssh-agent (SSH_AUTH_SOCK)");
            return Optional.empty();
        }
        try {
            SshClient ssh = b.connect();
            if (ssh.addedHostKey().isPresent() && !a.quiet) {
                err.println("Warning: added " + ssh.addedHostKey().get() + " host key for '"
                        + KnownHosts.hostName(a.host, port) + "' to " + knownHosts + ".");
            }
            return Optional.of(ssh);
        } catch (HostKeyException e) {
            err.print(hostKeyRefusal(e));
        } catch (AuthenticationException e) {
            err.println(user + "@" + a.host + ": Permission denied (" + e.getMessage() + ").");
        } catch (java.io.InterruptedIOException e) {
            throw new InterruptedException(e.getMessage());
        } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
            err.println("twine " + command + ": connect to host " + a.host + " port " + port + ": " + rootMessage(e));
        }
        return Optional.empty();
    }

    /** The innermost cause's message: "Connection refused", not MINA's wrapping of it. */
    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /**
     * Adds a key file to the builder: unencrypted as it is, encrypted with a passphrase asked on
     * the terminal (and skipped without one). A missing file is a warning when it was named.
     *
     * @return whether a key was added
     */
    private static boolean identity(SshClient.Builder b, Path key, boolean mayAsk, boolean warn, PrintStream err)
            throws IOException {
        if (!Files.isReadable(key)) {
            if (warn) {
                err.println("Warning: identity file " + key + " is not readable: skipped.");
            }
            return false;
        }
        if (!Keys.isEncrypted(key)) {
            b.identity(key);
            return true;
        }
        if (!mayAsk || System.console() == null) {
            if (warn) {
                err.println("Warning: " + key + " is encrypted and there is no terminal to ask for its passphrase: skipped.");
            }
            return false;
        }
        char[] passphrase = System.console().readPassword("Enter passphrase for key '%s': ", key);
        if (passphrase == null || passphrase.length == 0) {
            return false;
        }
        try {
            b.identity(key, passphrase);
            return true;
        } finally {
            java.util.Arrays.fill(passphrase, '\0');
        }
    }

    /** A refused host key as OpenSSH shows it: a banner for a changed key, then the verdict. */
    static String hostKeyRefusal(HostKeyException e) {
        StringBuilder s = new StringBuilder();
        switch (e.reason()) {
            case CHANGED -> {
                String rule = "@".repeat(59) + "\n";
                s.append(rule)
                        .append("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n")
                        .append(rule)
                        .append("The ").append(e.keyType()).append(" key that ").append(e.host())
                        .append(" sent is not the one on record for it.\n")
                        .append("Either its key was replaced, or someone is between you and it (a man-in-the-middle).\n")
                        .append("The key it sent has the fingerprint\n")
                        .append(e.fingerprint()).append(".\n")
                        .append("Ask the host's administrator; once you know the new key is right, replace the old one.\n")
                        .append("Offending ").append(e.keyType()).append(" key in ").append(e.knownHosts()).append(':')
                        .append(e.line()).append('\n')
                        .append("Host key for ").append(e.host()).append(" has changed and strict checking refuses it.\n");
            }
            case REVOKED -> s.append("@".repeat(59)).append("\n@       WARNING: REVOKED HOST KEY DETECTED!               @\n")
                    .append("@".repeat(59)).append('\n')
                    .append("The ").append(e.keyType()).append(" host key for ").append(e.host()).append(" is marked as revoked")
                    .append(" in ").append(e.knownHosts()).append(':').append(e.line()).append(".\n");
            case UNKNOWN -> s.append("No ").append(e.keyType()).append(" host key is known for ").append(e.host())
                    .append(" in ").append(e.knownHosts()).append(" and strict checking refuses it (")
                    .append(e.fingerprint()).append("; -o StrictHostKeyChecking=accept-new adds it on first use).\n");
        }
        return s.append("Host key verification failed.\n").toString();
    }

    /** Opens the -L, -R and -D forwardings; a failure is reported and gives false. */
    private static boolean forward(SshClient ssh, ConchArguments a, PrintStream err) {
        ConchArguments.Forward current = null;
        String kind = "";
        try {
            for (ConchArguments.Forward f : a.local) {
                current = f;
                kind = "-L";
                ssh.forwardLocal(f.listen(), f.target());
            }
            for (ConchArguments.Forward f : a.dynamic) {
                current = f;
                kind = "-D";
                ssh.forwardDynamic(f.listen());
            }
            for (ConchArguments.Forward f : a.remote) {
                current = f;
                kind = "-R";
                PortForward r = ssh.forwardRemote(f.listen(), f.target());
                if (f.listen().getPort() == 0 && !a.quiet) {
                    err.println("Allocated port " + r.listening().getPort() + " on the server for remote forward to "
                            + f.target().getHostString() + ":" + f.target().getPort());
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            err.println("twine conch: " + kind + " " + current.listen().getHostString() + ":" + current.listen().getPort()
                    + ": forwarding failed: " + e.getMessage());
            return false;
        }
    }

    /** Runs the command or shell, streaming both ways; returns its exit status. */
    private static int session(SshClient ssh, ConchArguments a, boolean terminal, InputStream in, PrintStream out,
            PrintStream err) throws IOException, InterruptedException {
        Optional<String> command = a.commandLine();
        boolean pty = !a.noTty && (a.ttyRequests > 0 || command.isEmpty());
        if (pty && !terminal && a.ttyRequests < 2) {
            if (a.ttyRequests == 1 && !a.quiet) {
                err.println("Pseudo-terminal not requested: standard input is not a terminal (-tt forces one).");
            }
            pty = false;
        }
        Pty size = pty ? Terminal.pty() : null;
        Terminal raw = pty && terminal ? Terminal.raw() : null;
        try (RemoteProcess p = command.isPresent() ? ssh.start(command.get(), size) : ssh.shell(size)) {
            if (raw != null) {
                Terminal.onResize(() -> {
                    try {
                        int[] now = Terminal.size();
                        p.resize(now[0], now[1]);
                    } catch (IOException | InterruptedException e) {
                        // the session is ending; the next resize, if any, tries again
                    }
                });
            }
            Escape escape = new Escape(raw != null);
            // a platform daemon thread: a read of the process's standard input cannot be
            // interrupted, so it must not keep the JVM (or a scope) from ending with the session
            Thread input = Thread.ofPlatform().daemon().name("conch-stdin").start(() -> pump(in, p, escape));
            Thread output = Thread.ofVirtual().name("conch-stdout").start(() -> copy(p.stdout(), out));
            Thread errors = Thread.ofVirtual().name("conch-stderr").start(() -> copy(p.stderr(), err));
            int status = p.awaitExit(Duration.ofDays(3650));
            output.join(Duration.ofSeconds(5));
            errors.join(Duration.ofSeconds(5));
            if (input.isAlive()) {
                input.interrupt();
            }
            if (raw != null) {
                raw.close();
            }
            if (pty && !a.quiet) {
                err.println("Connection to " + a.host + " closed" + (escape.used ? " by ~." : "") + ".");
            }
            return escape.used || status < 0 ? FAILED : status;
        } finally {
            if (raw != null) {
                raw.close();
            }
        }
    }

    /** OpenSSH's escape: {@code ~.} at the start of a line ends the session; {@code ~~} sends one {@code ~}. */
    private static final class Escape {
        private final boolean enabled;
        private boolean lineStart = true;
        private boolean tilde;
        volatile boolean used;

        Escape(boolean enabled) {
            this.enabled = enabled;
        }

        /** The bytes to send for {@code b}, or null to end the session. */
        byte[] filter(int b) {
            if (!enabled) {
                return new byte[] {(byte) b};
            }
            if (tilde) {
                tilde = false;
                if (b == '.') {
                    used = true;
                    return null;
                }
                lineStart = b == '\r' || b == '\n';
                return b == '~' ? new byte[] {'~'} : new byte[] {'~', (byte) b};
            }
            if (lineStart && b == '~') {
                tilde = true;
                return new byte[0];
            }
            lineStart = b == '\r' || b == '\n';
            return new byte[] {(byte) b};
        }
    }

    private static void pump(InputStream in, RemoteProcess p, Escape escape) {
        OutputStream to = p.stdin();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                java.io.ByteArrayOutputStream chunk = new java.io.ByteArrayOutputStream(n);
                for (int i = 0; i < n; i++) {
                    byte[] send = escape.filter(buf[i] & 0xff);
                    if (send == null) {
                        to.write(chunk.toByteArray());
                        to.flush();
                        p.close();
                        return;
                    }
                    chunk.writeBytes(send);
                }
                to.write(chunk.toByteArray());
                to.flush();
            }
            to.close(); // EOF to the remote command (RFC 4254 §5.3)
        } catch (IOException e) {
            // the channel closed: the session is over, its status says how
        }
    }

    private static void copy(InputStream from, OutputStream to) {
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = from.read(buf)) >= 0) {
                to.write(buf, 0, n);
                to.flush();
            }
        } catch (IOException e) {
            // the channel closed under us: what came has been written
        }
    }
}

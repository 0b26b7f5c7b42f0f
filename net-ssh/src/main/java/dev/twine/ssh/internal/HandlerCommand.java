package dev.twine.ssh.internal;

import dev.twine.core.Handle;
import dev.twine.core.auth.Principal;
import dev.twine.ssh.SshCommandHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.session.ServerSession;

/**
 * Adapts a {@link SshCommandHandler} to MINA's {@link Command}: MINA calls {@link #start} on one of
 * its I/O threads, which forks the handler on a virtual thread in the server's scope and returns
 * at once; {@link #destroy} (the channel or the connection closed) interrupts it.
 */
final class HandlerCommand implements Command {

    private static final System.Logger LOG = System.getLogger("dev.twine.ssh");

    private final MinaSshServer server;
    private final SshCommandHandler handler;
    private final String command;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;
    private volatile Handle<Void> running;

    HandlerCommand(MinaSshServer server, SshCommandHandler handler, String command) {
        this.server = server;
        this.handler = handler;
        this.command = command;
    }

    @Override
    public void setInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public void setOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void setErrorStream(OutputStream err) {
        this.err = err;
    }

    @Override
    public void setExitCallback(ExitCallback exit) {
        this.exit = exit;
    }

    @Override
    public void start(ChannelSession channel, Environment env) throws IOException {
        ServerSession session = channel.getServerSession();
        Principal principal = MinaSshServer.principalOf(session);
        // a certificate's force-command replaces whatever the client asked for, exec or shell;
        // the handler finds the client's command where sshd puts it (sshd(8) ENVIRONMENT)
        Optional<String> forced = MinaSshServer.forcedCommand(session);
        Supplier<Map<String, String>> environment = () -> {
            if (forced.isEmpty() || command == null) {
                return env.getEnv();
            }
            Map<String, String> e = new HashMap<>(env.getEnv());
            e.put("SSH_ORIGINAL_COMMAND", command);
            return e;
        };
        SessionImpl s = new SessionImpl(principal, forced.orElse(command), in, out, err, session.getClientAddress(),
                server::draining, environment.get());
        // RFC 4254 §6.7: window-change arrives as a signal from MINA
        env.addSignalListener((ch, signal) -> s.windowChanged(environment.get()), Signal.WINCH);
        String what = forced.isPresent() || command != null ? "exec" : "shell";
        running = server.scope().fork(what + "-" + principal.name(), () -> runHandler(s));
    }

    private void runHandler(SessionImpl s) {
        int code;
        try {
            code = handler.run(s);
        } catch (InterruptedException | InterruptedIOException e) {
            // the client went away or the server is closing: nobody is left to tell
            code = 130;
        } catch (Throwable t) {
            if (!Thread.currentThread().isInterrupted()) {
                LOG.log(Level.WARNING, "ssh handler for " + s.principal().name() + "@" + s.remoteAddress()
                        + " failed", t);
            }
            code = 1;
        }
        try {
            out.flush();
            err.flush();
        } catch (IOException ignored) {
            // the channel is gone; the exit status below is dropped too
        }
        try {
            exit.onExit(code);
        } catch (RuntimeException ignored) {
            // the channel closed under us
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        Handle<Void> h = running;
        if (h != null) {
            h.cancel();
        }
    }
}

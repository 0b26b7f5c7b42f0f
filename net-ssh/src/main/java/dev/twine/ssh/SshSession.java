package dev.twine.ssh;

import dev.twine.core.auth.Principal;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Optional;

/**
 * One {@code exec} or {@code shell} session as a {@link SshCommandHandler} sees it: the
 * authenticated user, the command, the client's environment and terminal, and three blocking
 * streams. The session owns the streams: the handler need not close them, and returning from
 * the handler flushes them, sends the exit status and closes the channel.
 *
 * <p>Reads from {@link #stdin()} block until the client sends data, and return -1 once the
 * client sends EOF or goes away. Writes to {@link #stdout()} and {@link #stderr()} block while
 * the client's flow-control window is full (RFC 4254 §5.2). All methods are safe to call from the
 * handler's thread and from threads it forks.
 */
public interface SshSession {

    /**
     * Who logged in, and how ({@code "password"}, {@code "publickey"} or
     * {@code "keyboard-interactive"}).
     *
     * @return the authenticated principal
     */
    Principal principal();

    /**
     * The command of an {@code exec} request (RFC 4254 §6.5), exactly as the client sent it.
     *
     * @return the command, or empty for an interactive {@code shell}
     */
    Optional<String> command();

    /**
     * The environment: variables the client sent with {@code env} requests (RFC 4254 §6.4), plus
     * {@code USER} and, with a terminal, {@code TERM}, {@code COLUMNS} and {@code LINES}.
     *
     * @return an unmodifiable snapshot
     */
    Map<String, String> env();

    /**
     * The terminal, if the client asked for one, with its size as of the last
     * {@code window-change} (RFC 4254 §6.7).
     *
     * @return the current terminal, or empty without a {@code pty-req}
     */
    Optional<Pty> pty();

    /**
     * Blocks until the client changes the terminal size, then returns the new size. A change
     * that arrived after the last call to {@link #pty()} or to this method counts, so none is
     * missed between looking at the size and waiting for the next one.
     *
     * @return the terminal after the change
     * @throws InterruptedException if the handler is interrupted (the client went away)
     * @throws IllegalStateException if the session has no terminal
     */
    Pty awaitWindowChange() throws InterruptedException;

    /**
     * Data from the client.
     *
     * @return the standard input stream
     */
    InputStream stdin();

    /**
     * Data to the client.
     *
     * @return the standard output stream
     */
    OutputStream stdout();

    /**
     * Extended data to the client (RFC 4254 §5.2, type 1).
     *
     * @return the standard error stream
     */
    OutputStream stderr();

    /**
     * The client's address.
     *
     * @return the remote socket address
     */
    SocketAddress remoteAddress();

    /**
     * Whether the server is shutting down gracefully: a shell should say goodbye and return.
     *
     * @return true once {@link SshServer#shutdown} has begun
     */
    boolean draining();
}

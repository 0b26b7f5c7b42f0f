package dev.twine.ssh;

/**
 * What an SSH {@code exec} request or {@code shell} runs: plain blocking code on its own virtual
 * thread, reading {@link SshSession#stdin()} and writing {@link SshSession#stdout()} and
 * {@link SshSession#stderr()}. The returned number is sent to the client as the exit status
 * (RFC 4254 §6.10).
 *
 * <h2>Error handling</h2>
 * An exception that escapes {@link #run} ends only this session: the client gets exit status 1
 * and the channel is closed; other sessions are unaffected. When the client disconnects or closes
 * the channel, the handler's thread is interrupted: blocking reads then throw (an
 * {@link java.io.InterruptedIOException} or an {@link java.io.IOException}) or return end of
 * stream, and the handler should return.
 */
@FunctionalInterface
public interface SshCommandHandler {

    /**
     * Runs one session.
     *
     * @param session the session's streams, user, command, environment and terminal
     * @return the exit status for the client, 0 for success (values are sent modulo 2^32)
     * @throws Exception anything; the client then sees exit status 1
     */
    int run(SshSession session) throws Exception;
}

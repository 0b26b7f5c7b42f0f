package dev.twine.ssh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.channel.PtyCapableChannelSession;

/**
 * A command or shell running on the server, driven through blocking streams: what
 * {@link SshClient#start} and {@link SshClient#shell} return.
 *
 * <p>{@link #stdout()} and {@link #stderr()} must be read (from one or two threads) while the
 * process runs: the server stops sending once the flow-control window is full (RFC 4254 §5.2).
 * Closing {@link #stdin()} sends EOF. {@link #close()} closes the channel; the connection stays
 * open for other work.
 */
public final class RemoteProcess implements AutoCloseable {

    private final PtyCapableChannelSession channel;
    private final boolean pty;

    RemoteProcess(PtyCapableChannelSession channel, boolean pty) {
        this.channel = channel;
        this.pty = pty;
    }

    /**
     * The process's standard input; closing it sends EOF (RFC 4254 §5.3).
     *
     * @return the stream to the server
     */
    public OutputStream stdin() {
        return channel.getInvertedIn();
    }

    /**
     * The process's standard output; ends when the server sends EOF or closes the channel.
     *
     * @return the stream from the server
     */
    public InputStream stdout() {
        return channel.getInvertedOut();
    }

    /**
     * The process's standard error (extended data type 1); empty with a terminal, where the
     * server mixes it into standard output.
     *
     * @return the stream from the server
     */
    public InputStream stderr() {
        return channel.getInvertedErr();
    }

    /**
     * Tells the server the terminal changed size ({@code window-change}, RFC 4254 §6.7).
     *
     * @param columns the new width in characters
     * @param rows the new height in rows
     * @throws IllegalStateException if this process has no terminal
     * @throws IOException if the message cannot be sent
     */
    public void resize(int columns, int rows) throws IOException {
        if (!pty) {
            throw new IllegalStateException("no terminal: start the process with a Pty");
        }
        channel.sendWindowChange(columns, rows);
    }

    /**
     * Blocks until the process ends (the server closes the channel) or {@code timeout} passes.
     *
     * @param timeout how long to wait at most
     * @return the exit status (RFC 4254 §6.10), or -1 if the server sent none
     * @throws IOException if the process is still running when the timeout passes
     * @throws InterruptedException if interrupted while waiting
     */
    public int awaitExit(Duration timeout) throws IOException, InterruptedException {
        Set<ClientChannelEvent> events = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted while waiting for the remote process");
        }
        if (!events.contains(ClientChannelEvent.CLOSED)) {
            throw new IOException("the remote process did not end within " + timeout);
        }
        Integer status = channel.getExitStatus();
        return status == null ? -1 : status;
    }

    /** Closes the channel at once; the remote process gets EOF and is usually ended. Idempotent. */
    @Override
    public void close() {
        channel.close(true);
    }
}

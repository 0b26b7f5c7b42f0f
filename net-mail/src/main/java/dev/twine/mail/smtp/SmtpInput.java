package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * An SMTP session's input: command lines and message text read from the connection into one array
 * the session owns, so a line is looked at where it lies instead of being copied out, and a message
 * arrives in reads as large as the client's writes rather than in pieces of the connection's small
 * idle buffer.
 *
 * <p>Lines follow {@link LineReader}'s rules: CRLF or a bare LF ends a line ({@link #lastTerminator}
 * tells which); a line longer than the limit throws {@link LineTooLongException} after at most
 * {@code limit + 2} bytes were buffered, and the next read first skips the rest of it; end of
 * stream between lines is {@code -1}, inside a line an {@link EOFException}. Timeouts and a
 * draining server come from the connection's reads.
 *
 * <p>The line timeout (the session's idle timeout) bounds, as {@link LineReader} does, the wait for
 * a line's first byte and then the time for all the rest of it: while a line is incomplete, each
 * read is given only what is left of that time, so a client that sends a byte every few seconds
 * gets a {@link SocketTimeoutException} once the line has taken longer than the timeout.
 *
 * <p>Memory: {@value #SMALL} bytes until the first message; {@link #expectText} then grows the
 * array to {@value #LARGE}, which the session keeps for its next messages (allocating it for each
 * one cost more than the rest of the message's handling).
 */
final class SmtpInput {
    /**
     * Enough for any command line but AUTH's, which grow the array to their own limit; the same
     * as the connection's idle buffer, which this one replaces (reads this large bypass it).
     */
    static final int SMALL = 512;
    /** Once a message arrives: most messages come in one read. */
    static final int LARGE = 8 * 1024;
    /**
     * The least free space to read into. The connection's input hands a read this large straight
     * to the socket, without copying through its own buffer.
     */
    private static final int MIN_READ = 512;

    private final InputStream in;
    private final Connection conn;
    private final Clock clock;
    private final Duration lineTimeout;
    /** When the line being read must be complete by, or null between lines. */
    private Instant lineDeadline;
    /** When the message text being read began, or null outside it (see {@link #beginText}). */
    private Instant textStart;
    /** Bytes read since {@link #textStart}. */
    private long textBytes;
    /** The least bytes per second the message text must arrive at. */
    private int minRate;
    private byte[] buf = new byte[SMALL];
    private int pos;
    private int lim;
    private int lineStart;
    private boolean skipping;
    private LineReader.Terminator last = LineReader.Terminator.CRLF;

    /**
     * Reads from {@code conn}'s input.
     *
     * @param lineTimeout the connection's read timeout, which also bounds a whole line; zero for none
     */
    SmtpInput(Connection conn, Duration lineTimeout) {
        this.conn = conn;
        this.in = conn.input();
        this.lineTimeout = lineTimeout;
        this.clock = conn.clock();
    }

    /**
     * Reads the next line. It stays in {@link #buffer()} from {@link #lineStart()} for the returned
     * number of bytes, terminator excluded, until the next call.
     *
     * @return the line's length, or -1 at end of stream between lines
     * @throws LineTooLongException if the line is longer than {@code maxLength}
     * @throws EOFException if the stream ends inside a line
     */
    int readLine(int maxLength) throws IOException {
        try {
            return readLine0(maxLength);
        } finally {
            endLine();
        }
    }

    private int readLine0(int maxLength) throws IOException {
        if (skipping && !skipRestOfLine()) {
            return -1;
        }
        if (pos == lim && !refill()) {
            return -1;
        }
        int scanned = 0;
        while (true) {
            int lf = indexOfLf(pos + scanned);
            if (lf >= 0) {
                int start = pos;
                int end = lf;
                last = LineReader.Terminator.LF;
                if (end > start && buf[end - 1] == '\r') {
                    end--;
                    last = LineReader.Terminator.CRLF;
                }
                pos = lf + 1;
                if (end - start > maxLength) {
                    throw new LineTooLongException(maxLength);
                }
                lineStart = start;
                return end - start;
            }
            scanned = lim - pos;
            // the limit plus CR and LF: a line of exactly maxLength bytes still fits
            if (scanned > maxLength + 1) {
                pos = lim;
                skipping = true;
                throw new LineTooLongException(maxLength);
            }
            beginLine();
            if (!readMore(maxLength + 2)) {
                pos = lim;
                throw new EOFException("stream ended inside a line (" + scanned + " bytes without a line end)");
            }
        }
    }

    /** The array holding the last line; valid until the next read. */
    byte[] buffer() {
        return buf;
    }

    /** Where the last line starts in {@link #buffer()}. */
    int lineStart() {
        return lineStart;
    }

    /** How the last line ended. */
    LineReader.Terminator lastTerminator() {
        return last;
    }

    /** Bytes received and not read yet, here or in the connection's buffer (not the kernel's). */
    int available() throws IOException {
        return lim - pos + in.available();
    }

    /** Drops everything buffered: plaintext sent before a TLS handshake must not count (RFC 3207 §4.2). */
    void discard() {
        pos = lim = 0;
        skipping = false;
    }

    /**
     * Waits until at least one byte is buffered, consuming nothing.
     *
     * @return false at end of stream
     */
    boolean awaitInput() throws IOException {
        return pos < lim || refill();
    }

    /**
     * Reads raw bytes (a BDAT chunk): at most {@code max}, at least one. They stay in
     * {@link #buffer()} from {@link #lineStart()} for the returned count, until the next read.
     *
     * @return how many, or -1 at end of stream
     */
    int readBytes(long max) throws IOException {
        if (pos == lim && !refill()) {
            return -1;
        }
        int n = (int) Math.min(max, lim - pos);
        lineStart = pos;
        pos += n;
        return n;
    }

    /** A message follows: read it in large pieces. */
    void expectText() {
        if (buf.length < LARGE) {
            grow(LARGE);
        }
    }

    /** With nothing buffered: reads into the whole array. */
    private boolean refill() throws IOException {
        pos = lim = 0;
        return readMore(0);
    }

    /**
     * Reads at least one more byte after those buffered, keeping them contiguous: compacts, or
     * grows the array so that {@code need} bytes fit with room for a read.
     *
     * @return false at end of stream
     */
    private boolean readMore(int need) throws IOException {
        if (buf.length - lim < MIN_READ) {
            int pending = lim - pos;
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, pending);
                pos = 0;
                lim = pending;
            }
            if (buf.length - lim < MIN_READ && buf.length < need + MIN_READ) {
                grow(Math.max(buf.length * 2, need + MIN_READ));
            }
        }
        limitWait();
        while (true) {
            int n = in.read(buf, lim, buf.length - lim);
            if (n < 0) {
                return false;
            }
            if (n > 0) {
                lim += n;
                textBytes += n;
                return true;
            }
        }
    }

    private void grow(int size) {
        byte[] bigger = new byte[size];
        System.arraycopy(buf, pos, bigger, 0, lim - pos);
        lim -= pos;
        pos = 0;
        buf = bigger;
    }

    /**
     * A line has begun and needs another read: from now on the reads for it may wait only for
     * what is left of the line's time (see {@link #limitWait}).
     */
    private void beginLine() {
        if (!lineTimeout.isZero() && lineDeadline == null) {
            lineDeadline = clock.instant().plus(lineTimeout);
        }
    }

    /** The line is complete, or reading it failed: the next wait for a line gets the whole timeout. */
    private void endLine() {
        lineDeadline = null;
    }

    /**
     * Message text follows: until {@link #endText}, the whole of it must arrive within the line
     * timeout plus one second for every {@code minBytesPerSecond} bytes received, so that a client
     * sending complete lines just slowly enough to beat the line timeout still cannot keep a
     * transaction open forever. Zero turns the rate off.
     */
    void beginText(int minBytesPerSecond) {
        if (!lineTimeout.isZero() && minBytesPerSecond > 0) {
            textStart = clock.instant();
            textBytes = 0;
            minRate = minBytesPerSecond;
        }
    }

    /** The message text has ended. */
    void endText() {
        textStart = null;
    }

    /**
     * Before a read: bounds it by the line's and the text's deadlines, whichever comes first, as
     * the connection's {@linkplain Connection#readDeadline read deadline}; none between lines
     * outside message text, where the read timeout alone applies.
     *
     * @throws SocketTimeoutException if a deadline has passed
     */
    private void limitWait() throws IOException {
        if (lineTimeout.isZero()) {
            return;
        }
        Instant deadline = lineDeadline;
        boolean byRate = false;
        if (textStart != null) {
            Instant d = textStart.plus(lineTimeout).plusMillis(textBytes * 1000 / minRate);
            if (deadline == null || d.isBefore(deadline)) {
                deadline = d;
                byRate = true;
            }
        }
        if (deadline != null && !clock.instant().isBefore(deadline)) {
            throw new SocketTimeoutException(byRate
                    ? "message text slower than " + minRate + " bytes/s"
                    : "line not complete within " + lineTimeout);
        }
        conn.readDeadline(deadline);
    }

    private boolean skipRestOfLine() throws IOException {
        while (true) {
            if (pos == lim) {
                beginLine(); // still inside the long line
            }
            if (pos == lim && !refill()) {
                return false;
            }
            int lf = indexOfLf(pos);
            if (lf >= 0) {
                pos = lf + 1;
                skipping = false;
                return true;
            }
            pos = lim;
        }
    }

    private int indexOfLf(int from) {
        for (int i = from; i < lim; i++) {
            if (buf[i] == '\n') {
                return i;
            }
        }
        return -1;
    }
}

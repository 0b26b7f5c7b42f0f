package dev.twine.core;

import dev.twine.core.internal.StreamTransport;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Reads lines ending in CRLF or a bare LF, with a hard maximum length. Over a {@link Connection}
 * it reads straight from the connection's buffer, so lines and raw reads of
 * {@link Connection#input()} can be mixed.
 *
 * <p>Memory is bounded by the limit: a line longer than {@code maxLength} bytes (terminator not
 * counted) throws {@link LineTooLongException} after at most {@code maxLength + 2} bytes were
 * buffered; the next {@link #readLine()} first skips the rest of that line, so the protocol can
 * answer and go on. {@link #lastTerminator()} tells how the last line ended, for protocols that
 * must reject a bare LF (SMTP, RFC 5321 §2.3.8).
 *
 * <pre>{@code
 * LineReader in = LineReader.of(conn, 512);
 * for (String line; (line = in.readLine()) != null; ) {       // null: the peer closed between lines
 *     handle(line);
 * }
 * // a line over 512 bytes throws LineTooLongException; the next readLine() skips its rest
 * }</pre>
 *
 * <h2>Error handling</h2>
 * End of stream between lines returns {@code null}; end of stream inside a line throws
 * {@link EOFException}, as a command cut off by a vanished peer must not be acted on. Timeouts and
 * {@link DrainingException} come from the connection's reads.
 *
 * <h2>Timeouts</h2>
 * Over a connection with a read timeout, the timeout bounds the wait for a line's first byte and
 * then, once the line has begun, the time for <em>all</em> of the rest of it: a peer that sends a
 * byte every few seconds cannot keep one command open longer than the read timeout. (Each read of
 * {@link Connection#input()} is still bounded on its own.) Past it, the read throws
 * {@link java.net.SocketTimeoutException}, as a read timeout does.
 */
public final class LineReader {
    /** How a line ended. */
    public enum Terminator {
        /** {@code \r\n}, as network protocols require. */
        CRLF,
        /** A bare {@code \n}. */
        LF
    }

    private final InputBuffer in;
    private final int maxLength;
    private final Charset charset;
    private boolean skipping;
    private Terminator last = Terminator.CRLF;

    private LineReader(InputBuffer in, int maxLength, Charset charset) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be positive: " + maxLength);
        }
        this.in = in;
        this.maxLength = maxLength;
        this.charset = Objects.requireNonNull(charset, "charset");
    }

    /** A UTF-8 line reader over a connection's input. */
    public static LineReader of(Connection connection, int maxLength) {
        return new LineReader(connection.in(), maxLength, StandardCharsets.UTF_8);
    }

    /** A line reader over a connection's input, decoding with {@code charset}. */
    public static LineReader of(Connection connection, int maxLength, Charset charset) {
        return new LineReader(connection.in(), maxLength, charset);
    }

    /**
     * A UTF-8 line reader over any stream. Unless the stream is a connection's input, the reader
     * buffers it and owns it from then on: do not read {@code in} directly afterwards.
     */
    public static LineReader of(InputStream in, int maxLength) {
        InputBuffer buffer;
        if (in instanceof InputBuffer b) {
            buffer = b;
        } else {
            StreamTransport t = new StreamTransport(in);
            buffer = new InputBuffer(null, t);
        }
        return new LineReader(buffer, maxLength, StandardCharsets.UTF_8);
    }

    /** The limit in bytes, terminator excluded. */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Reads the next line and decodes it, without its terminator. Malformed bytes become U+FFFD.
     *
     * @return the line, or {@code null} at end of stream
     * @throws LineTooLongException if the line is longer than the limit
     * @throws EOFException if the stream ends inside a line
     */
    public String readLine() throws IOException {
        byte[] b = readLineBytes();
        return b == null ? null : new String(b, charset);
    }

    /**
     * Reads the next line's bytes, without its terminator.
     *
     * @return the bytes, or {@code null} at end of stream
     * @throws LineTooLongException if the line is longer than the limit
     * @throws EOFException if the stream ends inside a line
     */
    public byte[] readLineBytes() throws IOException {
        Connection conn = in.connection();
        try {
            return readLineBytes(conn);
        } finally {
            if (conn != null) {
                conn.endLine();
            }
        }
    }

    private byte[] readLineBytes(Connection conn) throws IOException {
        if (skipping && !skipRestOfLine(conn)) {
            return null;
        }
        if (!in.fill()) {
            return null;
        }
        int scanned = 0;
        while (true) {
            int start = in.pos;
            int from = start + scanned;
            int lf = indexOf(in.buf, from, in.lim, (byte) '\n');
            if (lf >= 0) {
                int end = lf;
                last = Terminator.LF;
                if (end > start && in.buf[end - 1] == '\r') {
                    end--;
                    last = Terminator.CRLF;
                }
                if (end - start > maxLength) {
                    in.pos = lf + 1;
                    throw new LineTooLongException(maxLength);
                }
                byte[] line = Arrays.copyOfRange(in.buf, start, end);
                in.pos = lf + 1;
                return line;
            }
            scanned = in.lim - start;
            // the limit plus CR and LF: a line of exactly maxLength bytes still fits
            if (scanned > maxLength + 1) {
                in.pos = in.lim;
                skipping = true;
                throw new LineTooLongException(maxLength);
            }
            if (conn != null) {
                // the line has begun: the rest must come within the read timeout in all, so a peer
                // sending a byte now and then cannot hold the command open forever
                conn.beginLine();
            }
            int n = in.fillMore(maxLength + 2);
            if (n < 0) {
                in.pos = in.lim;
                throw new EOFException("stream ended inside a line (" + scanned + " bytes without a line end)");
            }
        }
    }

    /** How the last line returned ended. */
    public Terminator lastTerminator() {
        return last;
    }

    private boolean skipRestOfLine(Connection conn) throws IOException {
        if (conn != null) {
            conn.beginLine();
        }
        while (in.fill()) {
            int lf = indexOf(in.buf, in.pos, in.lim, (byte) '\n');
            if (lf >= 0) {
                in.pos = lf + 1;
                skipping = false;
                return true;
            }
            in.pos = in.lim;
        }
        return false;
    }

    private static int indexOf(byte[] b, int from, int to, byte v) {
        for (int i = from; i < to; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }
}

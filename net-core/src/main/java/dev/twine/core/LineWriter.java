package dev.twine.core;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Writes lines to a connection's output, each followed by CRLF (or a chosen terminator). Writes
 * are buffered: call {@link #flush()} when a reply is complete, so pipelined replies go out in one
 * packet.
 */
public final class LineWriter {
    private static final byte[] CRLF = {'\r', '\n'};

    private final OutputStream out;
    private final Charset charset;
    private final byte[] terminator;

    private LineWriter(OutputStream out, Charset charset, byte[] terminator) {
        this.out = Objects.requireNonNull(out, "out");
        this.charset = Objects.requireNonNull(charset, "charset");
        this.terminator = terminator;
    }

    /** A UTF-8 writer ending lines with CRLF. */
    public static LineWriter of(Connection connection) {
        return new LineWriter(connection.output(), StandardCharsets.UTF_8, CRLF);
    }

    /** A writer over any stream with the given charset and terminator (for example {@code "\n"}). */
    public static LineWriter of(OutputStream out, Charset charset, String terminator) {
        return new LineWriter(out, charset, terminator.getBytes(charset));
    }

    /**
     * Buffers {@code line} and the terminator.
     *
     * @throws IllegalArgumentException if {@code line} contains CR or LF, which would let text
     *     smuggle in an extra protocol line
     */
    public LineWriter writeLine(String line) throws IOException {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\r' || c == '\n') {
                throw new IllegalArgumentException("line contains a line break at index " + i);
            }
        }
        out.write(line.getBytes(charset));
        out.write(terminator);
        return this;
    }

    /** Buffers {@code text} as it is, without a terminator. */
    public LineWriter write(String text) throws IOException {
        out.write(text.getBytes(charset));
        return this;
    }

    /** Sends what is buffered (bounded by the connection's write timeout). */
    public void flush() throws IOException {
        out.flush();
    }
}

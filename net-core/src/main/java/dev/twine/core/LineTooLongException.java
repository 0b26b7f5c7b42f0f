package dev.twine.core;

import java.io.IOException;

/**
 * A line was longer than its reader's limit. The reader buffered no more than the limit and skips
 * the rest of the line on the next {@link LineReader#readLine()}, so a protocol can answer with its
 * own error (SMTP {@code 500}, IMAP {@code BAD}) and go on reading.
 */
public final class LineTooLongException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int limit;

    /** Made by {@link LineReader}; public so that other framers can say the same. */
    public LineTooLongException(int limit) {
        super("line longer than " + limit + " bytes");
        this.limit = limit;
    }

    /** The limit that was exceeded, in bytes, excluding the line terminator. */
    public int limit() {
        return limit;
    }
}

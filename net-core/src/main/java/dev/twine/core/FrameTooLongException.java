package dev.twine.core;

import java.io.IOException;

/**
 * A length-prefixed frame announced more bytes than its reader's limit. Nothing of it was
 * buffered; the stream is no longer in step, so the connection should be closed.
 */
public final class FrameTooLongException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long length;
    private final int limit;

    /** Made by {@link Frames}. */
    public FrameTooLongException(long length, int limit) {
        super("frame of " + length + " bytes exceeds the limit of " + limit);
        this.length = length;
        this.limit = limit;
    }

    /** The announced length. */
    public long length() {
        return length;
    }

    /** The limit. */
    public int limit() {
        return limit;
    }
}

package dev.twine.dns.internal;

/** A zone file that cannot be served; the message names the file and, where known, the line. */
public final class ZoneFileException extends Exception {
    private static final long serialVersionUID = 1L;

    /** With a message naming the file. */
    public ZoneFileException(String message) {
        super(message);
    }
}

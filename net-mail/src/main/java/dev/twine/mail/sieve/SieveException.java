package dev.twine.mail.sieve;

/**
 * A Sieve script that cannot be used: a syntax error, an unknown command, test or extension, or an
 * argument of the wrong kind (RFC 5228 §2.10.6, §3.2). The message names the line, as a
 * ManageSieve client shows it (RFC 5804 §2.6).
 */
public final class SieveException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int line;

    /**
     * An error at a line of the script.
     *
     * @param line the line, from 1
     * @param message what is wrong, without the line number
     */
    public SieveException(int line, String message) {
        super("line " + line + ": " + message);
        this.line = line;
    }

    /**
     * Where the error is.
     *
     * @return the line, from 1
     */
    public int line() {
        return line;
    }
}

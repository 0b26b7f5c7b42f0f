package dev.twine.core.auth;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A users file has a line Twine cannot accept. The message is one line for a person to read:
 * {@code users.txt:3: unsupported password scheme {SHA512-CRYPT}}.
 */
public final class UsersFileException extends IOException {

    /** The file; not serialized, since {@code Path} is not serializable. */
    private final transient Path path;
    /** The 1-based line number. */
    private final int line;

    /**
     * Creates the exception.
     *
     * @param path the file, as the caller named it
     * @param line the 1-based line number
     * @param detail what is wrong with the line, without the file and line prefix
     */
    public UsersFileException(Path path, int line, String detail) {
        super(Objects.requireNonNull(path, "path") + ":" + line + ": " + detail);
        this.path = path;
        this.line = line;
    }

    /**
     * The file in which the error is.
     *
     * @return the path as the caller named it
     */
    public Path path() {
        return path;
    }

    /**
     * The line on which the error is.
     *
     * @return the 1-based line number
     */
    public int line() {
        return line;
    }
}

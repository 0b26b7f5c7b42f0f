package dev.twine.ssh;

import java.util.Objects;

/**
 * A pseudo-terminal as the client asked for it in its {@code pty-req} (RFC 4254 §6.2), updated by
 * {@code window-change} requests (RFC 4254 §6.7).
 *
 * @param term the TERM environment value, such as {@code xterm-256color}; may be empty
 * @param columns terminal width in characters (0 if the client did not say)
 * @param rows terminal height in rows (0 if the client did not say)
 */
public record Pty(String term, int columns, int rows) {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if {@code term} is null
     * @throws IllegalArgumentException if a dimension is negative
     */
    public Pty {
        Objects.requireNonNull(term, "term");
        if (columns < 0 || rows < 0) {
            throw new IllegalArgumentException("negative terminal size: " + columns + "x" + rows);
        }
    }
}

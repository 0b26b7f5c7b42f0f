package dev.twine.ssh;

import java.util.Objects;

/**
 * One name in a remote directory, as an SFTP server lists it (draft-ietf-secsh-filexfer-02 §7,
 * {@code SSH_FXP_NAME}).
 *
 * @param name the file name, without its directory
 * @param longName the server's {@code ls -l} style line for it, which {@code sftp}'s {@code ls -l}
 *     prints as it is (may be empty if the server sent none)
 * @param directory whether it is a directory
 * @param size its size in bytes (0 if the server did not say)
 */
public record SftpEntry(String name, String longName, boolean directory, long size) {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if a name is null
     */
    public SftpEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(longName, "longName");
    }
}

package dev.twine.mail.maildir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Creates the store's directories (0700) and files (0600) private to the user running the
 * server, as Dovecot does, whatever the umask: mail is nobody else's business. The mode is given
 * to {@code mkdir}/{@code open} itself, so there is no moment at which a file exists with wider
 * permissions (the umask can only narrow it further). On a file system without POSIX
 * permissions, the file system's defaults apply.
 */
final class PrivateFiles {
    private static final FileAttribute<Set<PosixFilePermission>> DIRECTORY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<?>[] NONE = new FileAttribute<?>[0];

    private PrivateFiles() {}

    private static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    /** {@link Files#createDirectories}, each directory it makes being 0700. */
    static void createDirectories(Path dir) throws IOException {
        if (posix(dir)) {
            Files.createDirectories(dir, DIRECTORY);
        } else {
            Files.createDirectories(dir);
        }
    }

    /** {@link FileChannel#open(Path, Set, FileAttribute[])}, a file it creates being 0600. */
    static FileChannel open(Path file, Set<? extends OpenOption> options) throws IOException {
        return FileChannel.open(file, options, posix(file) ? new FileAttribute<?>[] {FILE} : NONE);
    }
}

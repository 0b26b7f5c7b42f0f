package dev.twine.ssh;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.Realm;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/**
 * The shipped SFTP realm: every user's SFTP root is one directory, or one directory per user
 * when the path contains {@code %u} (the user name, as in OpenSSH's {@code ChrootDirectory};
 * {@code %%} is a literal {@code %}). A missing directory is made on the user's first SFTP
 * session, with its parents, the directory itself 0700 where the file system has POSIX modes.
 * The {@link SshServer} confines each session to the directory (see "SFTP confinement" there).
 *
 * <pre>{@code
 * SshServer.builder()
 *         .portal(portal)
 *         .sftp(SftpDirectory.of(Path.of("/srv/sftp/%u")))    // alice gets /srv/sftp/alice
 *         .build();
 * }</pre>
 *
 * <p>The path may be in any file system: {@code SftpDirectory.of(zip.getPath("/home/%u"))} gives
 * each user a directory inside one zip file system.
 *
 * <h2>Error handling</h2>
 * With {@code %u}, a user name that is not a plain file name ({@code ""}, {@code "."}, {@code
 * ".."}, or containing {@code /} or NUL) is refused with {@link AuthenticationException}, so no
 * user name can point the root elsewhere; the server then refuses that user's SFTP request.
 * Failing to make the directory is an {@link IOException} (the request is refused and logged).
 * Thread-safe.
 */
public final class SftpDirectory implements Realm<Path> {

    private final Path template;
    private final boolean perUser;

    private SftpDirectory(Path template, boolean perUser) {
        this.template = template;
        this.perUser = perUser;
    }

    /**
     * A realm giving each user {@code template} with {@code %u} replaced by their name.
     *
     * @param template the directory; {@code %u} and {@code %%} are replaced in its names
     * @return the realm
     * @throws IllegalArgumentException if the path has a {@code %} followed by anything but
     *     {@code u} or {@code %}
     * @throws NullPointerException if {@code template} is null
     */
    public static SftpDirectory of(Path template) {
        Objects.requireNonNull(template, "template");
        String t = template.toString();
        boolean perUser = false;
        for (int i = 0; i < t.length(); i++) {
            if (t.charAt(i) != '%') {
                continue;
            }
            char next = i + 1 < t.length() ? t.charAt(i + 1) : 0;
            if (next != 'u' && next != '%') {
                throw new IllegalArgumentException(t + ": only %u (the user name) and %% may follow a %");
            }
            perUser |= next == 'u';
            i++;
        }
        return new SftpDirectory(template, perUser);
    }

    /**
     * The user's directory, made (0700) if missing.
     *
     * @param principal who logged in
     * @return their SFTP root
     * @throws AuthenticationException if the path has {@code %u} and the name is not a plain
     *     file name
     * @throws IOException if the directory cannot be made
     */
    @Override
    public Path avatar(Principal principal) throws AuthenticationException, IOException {
        Path dir = directoryOf(principal.name());
        if (!Files.isDirectory(dir)) {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try {
                if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectory(dir);
                }
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(dir)) {
                    throw e; // a file, not a directory: no SFTP root
                }
                // else: the user's other session made it first
            }
        }
        return dir;
    }

    /** {@code template} for {@code user}, without touching the disk. */
    Path directoryOf(String user) throws AuthenticationException {
        if (perUser && (user.isEmpty() || user.equals(".") || user.equals("..") || user.indexOf('/') >= 0
                || user.indexOf('\0') >= 0)) {
            throw new AuthenticationException("user name " + user + " cannot name an SFTP directory");
        }
        String t = template.toString();
        StringBuilder out = new StringBuilder(t.length() + 16);
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '%') {
                out.append(t.charAt(++i) == 'u' ? user : "%");
            } else {
                out.append(c);
            }
        }
        return template.getFileSystem().getPath(out.toString());
    }

    @Override
    public String toString() {
        return "SftpDirectory[" + template + "]";
    }
}

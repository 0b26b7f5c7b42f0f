package dev.twine.ssh.internal;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.sshd.common.file.root.RootedFileSystem;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpFileSystemAccessor;
import org.apache.sshd.sftp.server.SftpSubsystemProxy;

/**
 * Keeps SFTP inside its root. MINA's rooted file system already maps {@code ..} at the root back
 * to the root, but it follows a symbolic link that sits inside the root and points outside. So
 * every path a client names is checked: the deepest part of it that exists must resolve (links
 * followed) to a place under the root's real path, else the client gets "permission denied";
 * a dangling link is refused too, since writing through it would create a file wherever it points.
 * Clients may not create symbolic links (hard links, to files under the root, they may). Links changed on disk between the check and the use
 * (by someone with shell access to the root) are not covered.
 *
 * <p>Modes stay private to the server's user, as with OpenSSH's {@code sftp-server -u 077} but
 * for {@code setstat} too: every mode a client asks for (SSH_FXP_OPEN and SSH_FXP_MKDIR
 * attributes, SSH_FXP_SETSTAT/FSETSTAT, i.e. {@code chmod}) loses its group and other bits, and
 * files and directories created without a mode are 0600 and 0700. Every file under the root
 * belongs to the server's own user, so a group- or world-writable one would let any other local
 * account change what SFTP users read (OpenSSH's {@code sftp mkdir} asks for 0777, and
 * {@code put} for the local file's mode). Setuid, setgid and sticky bits never reach the disk
 * (MINA maps modes to {@link PosixFilePermission}, which has none).
 */
final class ConfinedSftpAccess implements SftpFileSystemAccessor {

    private static final Set<PosixFilePermission> GROUP_AND_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwx------");

    /** {@code requested} without its group and other bits: the umask 077. */
    static Set<PosixFilePermission> privateMode(Set<PosixFilePermission> requested) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        out.addAll(requested);
        out.removeAll(GROUP_AND_OTHERS);
        return out;
    }

    static boolean posix(Path p) {
        return p.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    @Override
    public void setFilePermissions(SftpSubsystemProxy subsystem, Path file, Set<PosixFilePermission> perms,
            LinkOption... options) throws IOException {
        SftpFileSystemAccessor.super.setFilePermissions(subsystem, file, privateMode(perms), options);
    }

    @Override
    public void createDirectory(SftpSubsystemProxy subsystem, Path path) throws IOException {
        if (!posix(path)) {
            SftpFileSystemAccessor.super.createDirectory(subsystem, path);
            return;
        }
        // created private, whatever the process umask; a mode in the request is applied after
        // this through setFilePermissions, and masked there
        Files.createDirectory(path, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
    }

    @Override
    public SeekableByteChannel openFile(SftpSubsystemProxy subsystem, FileHandle fileHandle, Path file, String handle,
            Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        if (!posix(file) || !(options.contains(StandardOpenOption.CREATE) || options.contains(StandardOpenOption.CREATE_NEW))) {
            return SftpFileSystemAccessor.super.openFile(subsystem, fileHandle, file, handle, options, attrs);
        }
        // a file this open creates gets the requested mode masked with 077, or 0600 if none
        Set<PosixFilePermission> mode = FILE_MODE;
        List<FileAttribute<?>> kept = new ArrayList<>();
        for (FileAttribute<?> a : attrs) {
            if (a.name().equals("posix:permissions") && a.value() instanceof Set<?> requested) {
                Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
                for (Object o : requested) {
                    if (o instanceof PosixFilePermission p) {
                        perms.add(p);
                    }
                }
                mode = privateMode(perms);
            } else {
                kept.add(a);
            }
        }
        kept.add(PosixFilePermissions.asFileAttribute(mode));
        return SftpFileSystemAccessor.super.openFile(subsystem, fileHandle, file, handle, options,
                kept.toArray(FileAttribute<?>[]::new));
    }

    @Override
    public Path resolveLocalFilePath(SftpSubsystemProxy subsystem, Path rootDir, String remotePath) throws IOException {
        Path p = SftpFileSystemAccessor.super.resolveLocalFilePath(subsystem, rootDir, remotePath);
        if (!(p.getFileSystem() instanceof RootedFileSystem rooted)) {
            return p;
        }
        Path root = rooted.getRoot().toRealPath();
        Path onDisk = rooted.getRoot();
        for (Path name : p.toAbsolutePath().normalize()) {
            onDisk = onDisk.resolve(name.toString());
        }
        Path existing = onDisk;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw new AccessDeniedException(remotePath);
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (NoSuchFileException dangling) {
            throw new AccessDeniedException(remotePath, null, "dangling link");
        }
        if (!real.startsWith(root)) {
            throw new AccessDeniedException(remotePath, null, "outside the SFTP root");
        }
        return p;
    }

    /**
     * Symbolic links are refused: one could be aimed outside the root at any time. Hard links
     * ({@code hardlink@openssh.com}, OpenSSH's {@code sftp ln}) are made: both names have been
     * through {@link #resolveLocalFilePath}, so the existing file is under the root, and a hard
     * link names the same file, never a path that could later lead out.
     */
    @Override
    public void createLink(SftpSubsystemProxy subsystem, Path link, Path existing, boolean symLink) throws IOException {
        if (symLink) {
            throw new AccessDeniedException(String.valueOf(link), null, "symbolic links cannot be created over SFTP here");
        }
        SftpFileSystemAccessor.super.createLink(subsystem, link, existing, false);
    }
}

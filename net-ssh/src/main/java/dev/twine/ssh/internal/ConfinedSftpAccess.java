package dev.twine.ssh.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.apache.sshd.common.file.root.RootedFileSystem;
import org.apache.sshd.sftp.server.SftpFileSystemAccessor;
import org.apache.sshd.sftp.server.SftpSubsystemProxy;

/**
 * Keeps SFTP inside its root. MINA's rooted file system already maps {@code ..} at the root back
 * to the root, but it follows a symbolic link that sits inside the root and points outside. So
 * every path a client names is checked: the deepest part of it that exists must resolve (links
 * followed) to a place under the root's real path, else the client gets "permission denied";
 * a dangling link is refused too, since writing through it would create a file wherever it points.
 * Clients may not create links at all. Links changed on disk between the check and the use
 * (by someone with shell access to the root) are not covered.
 */
final class ConfinedSftpAccess implements SftpFileSystemAccessor {

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

    @Override
    public void createLink(SftpSubsystemProxy subsystem, Path link, Path existing, boolean symLink) throws IOException {
        throw new AccessDeniedException(String.valueOf(link), null, "links cannot be created over SFTP here");
    }
}

package dev.twine.ssh;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.sshd.sftp.client.SftpClient;

/**
 * An SFTP session on an {@link SshClient}'s connection (the {@code sftp} subsystem,
 * draft-ietf-secsh-filexfer-02): what {@link SshClient#sftp()} opens. Every method blocks until
 * the server has answered. Remote paths are the server's: relative ones are resolved by the
 * server against the session's starting directory (often the user's home).
 *
 * <p>Error handling: a refusal by the server (no such file, permission denied) is an
 * {@link IOException} whose message is the server's. One session serves one thread at a time;
 * close it when done (the connection stays open).
 */
public final class SftpSession implements AutoCloseable {

    private final SftpClient sftp;

    SftpSession(SftpClient sftp) {
        this.sftp = sftp;
    }

    /**
     * The absolute form of a path ({@code SSH_FXP_REALPATH}): {@code "."} gives the starting
     * directory.
     *
     * @param path a remote path
     * @return the server's absolute path for it
     * @throws IOException if the server refuses
     */
    public String canonical(String path) throws IOException {
        return sftp.canonicalPath(path);
    }

    /**
     * What a remote path is.
     *
     * @param path a remote path
     * @return its entry (the name as given)
     * @throws IOException if it does not exist or the server refuses
     */
    public SftpEntry stat(String path) throws IOException {
        SftpClient.Attributes a = sftp.stat(path);
        return new SftpEntry(path, "", a.isDirectory(), a.getSize());
    }

    /**
     * The entries of a remote directory, sorted by name, without {@code .} and {@code ..}.
     *
     * @param dir a remote directory
     * @return its entries
     * @throws IOException if it cannot be listed
     */
    public List<SftpEntry> list(String dir) throws IOException {
        List<SftpEntry> entries = new ArrayList<>();
        for (SftpClient.DirEntry e : sftp.readDir(dir)) {
            if (!e.getFilename().equals(".") && !e.getFilename().equals("..")) {
                SftpClient.Attributes a = e.getAttributes();
                entries.add(new SftpEntry(e.getFilename(), e.getLongFilename() == null ? "" : e.getLongFilename(),
                        a.isDirectory(), a.getSize()));
            }
        }
        entries.sort(Comparator.comparing(SftpEntry::name));
        return entries;
    }

    /**
     * Makes a remote directory.
     *
     * @throws IOException if it exists or cannot be made
     */
    public void mkdir(String dir) throws IOException {
        sftp.mkdir(dir);
    }

    /**
     * Removes a remote file.
     *
     * @throws IOException if it does not exist or cannot be removed
     */
    public void remove(String path) throws IOException {
        sftp.remove(path);
    }

    /**
     * Renames a remote file or directory; an existing target is refused unless the server
     * replaces it (OpenSSH's {@code posix-rename} extension is used when the server offers it).
     *
     * @throws IOException if the server refuses
     */
    public void rename(String from, String to) throws IOException {
        sftp.rename(from, to);
    }

    /**
     * Uploads a local file, replacing {@code remotePath}.
     *
     * @throws IOException if the file cannot be read or the server refuses
     */
    public void upload(Path local, String remotePath) throws IOException {
        try (InputStream in = Files.newInputStream(local); OutputStream out = sftp.write(remotePath)) {
            in.transferTo(out);
        }
    }

    /**
     * Downloads a remote file into {@code local}, written to a temporary file beside it and then
     * renamed, so that a failed transfer leaves no partial file.
     *
     * @throws IOException if the server refuses or the file cannot be written
     */
    public void download(String remotePath, Path local) throws IOException {
        Path tmp = local.toAbsolutePath().resolveSibling("." + local.getFileName() + ".part");
        try (InputStream in = sftp.read(remotePath)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Closes the session (its channel); the connection stays open. Idempotent. */
    @Override
    public void close() throws IOException {
        sftp.close();
    }
}

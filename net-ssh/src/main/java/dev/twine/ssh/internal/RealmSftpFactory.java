package dev.twine.ssh.internal;

import dev.twine.core.auth.Realm;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.sshd.common.file.FileSystemFactory;
import org.apache.sshd.common.file.root.RootedFileSystemProvider;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.common.util.io.FileInfoExtractor;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.extensions.openssh.AbstractOpenSSHExtensionParser.OpenSSHExtension;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.sftp.server.SftpSubsystem;
import org.apache.sshd.sftp.server.SftpSubsystemConfigurator;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * The {@code sftp} subsystem (draft-ietf-secsh-filexfer) rooted, per user, where the server's SFTP
 * realm says: the realm's directory, in whatever file system it lives, becomes the session's
 * {@code /} through MINA's rooted file system (which keeps {@code ..} at the root), and
 * {@link ConfinedSftpAccess} keeps symbolic links and modes in check. The realm is asked when the
 * subsystem is requested, so a refusal fails that request (RFC 4254 §6.5) and nothing else.
 */
final class RealmSftpFactory extends SftpSubsystemFactory {

    /** OpenSSH's file system statistics extension (PROTOCOL §4.4), used by {@code sftp df}. */
    private static final String STATVFS = "statvfs@openssh.com";

    private final MinaSshServer server;
    private final Realm<Path> realm;

    RealmSftpFactory(MinaSshServer server, Realm<Path> realm) {
        this.server = server;
        this.realm = realm;
        setFileSystemAccessor(new ConfinedSftpAccess());
    }

    @Override
    public Command createSubsystem(ChannelSession channel) throws IOException {
        if (MinaSshServer.forcedCommand(channel.getServerSession()).isPresent()) {
            // sshd would run the forced command instead of sftp-server; a session bound to one
            // command gets no file access
            throw new IOException("sftp refused for " + channel.getServerSession().getUsername()
                    + ": the certificate forces a command");
        }
        Path root = server.avatar(realm, channel.getServerSession(), "sftp");
        if (!Files.isDirectory(root)) {
            throw new IOException("sftp for " + channel.getServerSession().getUsername() + ": the realm's " + root
                    + " is not a directory");
        }
        // a provider of its own per session, as MINA's VirtualFileSystemFactory does: a provider
        // refuses a second file system on the same root
        FileSystem rooted = new RootedFileSystemProvider().newFileSystem(root, Map.of());
        return new RootedSubsystem(channel, this, rooted);
    }

    /**
     * MINA's SFTP subsystem on the file system the realm chose, not the server-wide factory's, and
     * at home in file systems without POSIX attributes (zip, in-memory ones).
     */
    private static final class RootedSubsystem extends SftpSubsystem {
        RootedSubsystem(ChannelSession channel, SftpSubsystemConfigurator configurator, FileSystem fs) {
            super(channel, configurator);
            setFileSystem(fs);
        }

        @Override
        public void setFileSystemFactory(FileSystemFactory factory, SessionContext session) {
            // the file system was chosen by the realm when the subsystem was made
        }

        /** MINA's OpenSSH extensions, and {@code statvfs@openssh.com}, which it does not offer. */
        @Override
        protected List<OpenSSHExtension> resolveOpenSSHExtensions(ServerSession session) {
            List<OpenSSHExtension> extensions = new ArrayList<>(super.resolveOpenSSHExtensions(session));
            extensions.add(new OpenSSHExtension(STATVFS, "2"));
            return extensions;
        }

        @Override
        protected void executeExtendedCommand(Buffer buffer, int id, String extension) throws IOException {
            if (!extension.equals(STATVFS)) {
                super.executeExtendedCommand(buffer, id, extension);
                return;
            }
            String path = buffer.getString();
            FileStore store;
            try {
                // resolved like every other path: confined to the root
                store = Files.getFileStore(resolveFile(path));
            } catch (IOException | RuntimeException e) {
                sendStatus(prepareReply(buffer), id, e, SftpConstants.SSH_FXP_EXTENDED, path);
                return;
            }
            Buffer reply = prepareReply(buffer);
            reply.putByte((byte) SftpConstants.SSH_FXP_EXTENDED_REPLY);
            reply.putInt(id);
            for (long field : statvfs(store)) {
                reply.putLong(field);
            }
            send(reply);
        }

        /**
         * OpenSSH's PROTOCOL §4.4 {@code statvfs} reply fields, in order: block size, fragment
         * size, blocks, free blocks, blocks available to the user, then inodes (total, free,
         * available: unknown to Java, so 0), file system id (0), flags (read-only, and nosuid:
         * SFTP here never sets setuid bits) and the longest name.
         */
        private static long[] statvfs(FileStore store) throws IOException {
            long block;
            try {
                block = Math.max(1, store.getBlockSize());
            } catch (UnsupportedOperationException e) {
                block = 4096;
            }
            long flags = (store.isReadOnly() ? 0x1 : 0) | 0x2;
            return new long[] {block, block, store.getTotalSpace() / block, store.getUnallocatedSpace() / block,
                    store.getUsableSpace() / block, 0, 0, 0, 0, flags, 255};
        }

        /**
         * Where a file system has no POSIX view, MINA makes up a file's permissions through
         * {@code Path.toFile()}, which only the default file system has, and its other guesses
         * may throw {@link UnsupportedOperationException}, which would fail the whole
         * {@code SSH_FXP_STAT} or {@code READDIR}. Such a file reports the modes this server
         * gives new files (0600, directories 0700), and an attribute the file system cannot tell
         * is left out of the reply, as the SFTP attribute flags allow (draft-ietf-secsh-filexfer-02
         * §5).
         */
        @Override
        protected Object resolveMissingFileAttributeValue(Path file, String name, Object value, FileInfoExtractor<?> x,
                LinkOption... options) throws IOException {
            if (value == null && name.equals("permissions") && !ConfinedSftpAccess.posix(file)) {
                return Files.isDirectory(file, options) ? ConfinedSftpAccess.DIRECTORY_MODE : ConfinedSftpAccess.FILE_MODE;
            }
            try {
                return super.resolveMissingFileAttributeValue(file, name, value, x, options);
            } catch (UnsupportedOperationException notInThisFileSystem) {
                return value;
            }
        }
    }
}

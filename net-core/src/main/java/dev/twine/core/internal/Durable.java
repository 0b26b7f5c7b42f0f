package dev.twine.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The two halves of replacing a file durably: a synced temporary file, then a synced directory. */
public final class Durable {
    private static final System.Logger LOG = System.getLogger(Durable.class.getName());

    private Durable() {
    }

    /**
     * Writes all of {@code bytes} into an existing (empty) file and forces them to disk, so that
     * a rename can then make the file visible: without the force a crash could leave an empty file
     * under the final name.
     */
    public static void writeAndForce(Path file, byte[] bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
    }

    /**
     * Forces a directory's entries to disk: a rename into it is durable only then. Opening a
     * directory for reading works on Linux and macOS; where it does not (Windows) there is no
     * equivalent, and the failure is only logged.
     */
    public static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot fsync directory " + dir + ": " + e);
        }
    }
}

package dev.twine.core;

import dev.twine.core.internal.Durable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Set;

/**
 * Replacing a file so that a crash at any moment leaves either the old content or the new, never
 * a mix or an empty file: the one way every Twine module writes state it has acknowledged (a
 * queue entry, a UID list, a roster, a key).
 *
 * <pre>{@code
 * DurableFiles.replace(dir.resolve("roster.xml"), xml.getBytes(UTF_8));
 * DurableFiles.replace(queueFile, out -> message.writeTo(out));   // streamed
 * }</pre>
 *
 * <h2>What it does, and the choices it makes once for everyone</h2>
 * <ol>
 *   <li>The temporary file is made in the target's own directory (a rename is atomic only within
 *       one file system), under a hidden name {@code .<name>.<random>.tmp}, readable and writable
 *       by its owner only from the moment it exists.</li>
 *   <li>It is written and forced to disk ({@code fsync}).</li>
 *   <li>If the target exists, the new file takes its POSIX permissions, so an operator's
 *       {@code chmod} survives a rewrite; a new target stays owner-only, and so does every file
 *       written with {@link #replacePrivate}.</li>
 *   <li>It is renamed over the target atomically. A file system that cannot rename atomically is
 *       an {@link IOException}: there is no non-atomic fallback, since it could lose the file.</li>
 *   <li>The directory is forced, which makes the rename itself durable. Where directories cannot
 *       be opened for it at all (Windows), this step is skipped; where the force fails, that is
 *       an {@link IOException}, because the rename may then not survive a crash.</li>
 * </ol>
 * On any failure the temporary file is removed and the target is untouched. Two writers replacing
 * the same file concurrently each leave a whole file; the last rename wins.
 */
public final class DurableFiles {
    private static final System.Logger LOG = System.getLogger(DurableFiles.class.getName());
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private DurableFiles() {}

    /** Writes a replacement's content; called once, with the temporary file's stream. */
    @FunctionalInterface
    public interface Content {
        /** Writes everything to {@code out} (buffering is the caller's; do not close it). */
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Replaces (or creates) {@code target} with {@code bytes}, durably. Blocks for the writes and
     * the two forces.
     *
     * @throws IOException if any step fails; {@code target} is then as it was
     */
    public static void replace(Path target, byte[] bytes) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        replace(target, out -> out.write(bytes));
    }

    /**
     * Replaces (or creates) {@code target} with what {@code content} writes, durably.
     *
     * @throws IOException if any step fails or {@code content} throws; {@code target} is then as
     *     it was
     */
    public static void replace(Path target, Content content) throws IOException {
        replace(target, content, true);
    }

    /**
     * Replaces (or creates) {@code target} with {@code bytes}, durably, as a file only its owner
     * may read and write whatever the old file's permissions were: for keys and secrets.
     *
     * @throws IOException if any step fails; {@code target} is then as it was
     */
    public static void replacePrivate(Path target, byte[] bytes) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        replace(target, out -> out.write(bytes), false);
    }

    private static void replace(Path target, Content content, boolean keepPermissions) throws IOException {
        Objects.requireNonNull(content, "content");
        Path file = target.toAbsolutePath();
        Path dir = file.getParent();
        Path temp = createTemp(dir, file.getFileName().toString());
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                OutputStream out = Channels.newOutputStream(ch);
                content.writeTo(out);
                out.flush();
                force(ch, temp, true);
            }
            if (keepPermissions) {
                keepPermissions(file, temp);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + file + " atomically on this file system", e);
            }
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
        forceDirectory(dir);
    }

    /**
     * Forces what was written through {@code channel}, open on {@code file}, to disk
     * ({@link FileChannel#force(boolean)}): the one {@code fsync} of every durable write in Twine's
     * modules (the replace methods here, the Maildir writer, the UID lists), so that a test can
     * make it fail with {@link dev.twine.core.testing.FsyncFailures}. Blocks until the device has
     * the data.
     *
     * @param channel the open channel
     * @param file the file it is open on (what a test's injected failure is matched against)
     * @param metadata true to force the file's metadata too ({@code fsync}); false for the data
     *     and what is needed to read it back, such as its size ({@code fdatasync})
     * @throws IOException if the force fails: what was written may then not survive a crash, and
     *     must not be acknowledged
     */
    public static void force(FileChannel channel, Path file, boolean metadata) throws IOException {
        Durable.force(channel, file, metadata);
    }

    /**
     * Forces {@code dir}'s entries to disk, making renames and creations in it durable. Skipped
     * where a directory cannot be opened for this (Windows).
     *
     * @throws IOException if the force itself fails (or a test made it fail, see
     *     {@link dev.twine.core.testing.FsyncFailures})
     */
    public static void forceDirectory(Path dir) throws IOException {
        Durable.checkFault(dir);
        FileChannel ch;
        try {
            ch = FileChannel.open(dir, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException | UnsupportedOperationException e) {
            // not a platform where directories can be synced this way; the rename is all there is
            LOG.log(System.Logger.Level.DEBUG, () -> "cannot open directory " + dir + " to sync it: " + e);
            return;
        }
        try (ch) {
            ch.force(true);
        }
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        String prefix = "." + name + ".";
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return Files.createTempFile(dir, prefix, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        }
        return Files.createTempFile(dir, prefix, ".tmp");
    }

    private static void keepPermissions(Path target, Path temp) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(target, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (NoSuchFileException e) {
            return; // a new file: owner-only, as created
        }
        Files.setPosixFilePermissions(temp, perms);
    }
}

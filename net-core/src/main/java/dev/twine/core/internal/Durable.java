package dev.twine.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The two halves of replacing a file durably: a synced temporary file, then a synced directory;
 * and the faults a test injects into forces ({@code dev.twine.core.testing.FsyncFailures}).
 */
public final class Durable {
    private static final System.Logger LOG = System.getLogger(Durable.class.getName());
    private static final List<Fault> FAULTS = new CopyOnWriteArrayList<>();

    /** An injected fsync failure for everything at or under one directory. */
    public static final class Fault {
        private final Path root;
        private final AtomicInteger failures = new AtomicInteger();

        private Fault(Path root) {
            this.root = root;
        }

        /** How many forces it has failed. */
        public int failures() {
            return failures.get();
        }
    }

    private Durable() {
    }

    /** Makes every force at or under {@code dir} fail until {@link #remove}. */
    public static Fault inject(Path dir) {
        Fault f = new Fault(dir.toAbsolutePath().normalize());
        FAULTS.add(f);
        return f;
    }

    /** Ends an injected fault. */
    public static void remove(Fault f) {
        FAULTS.remove(f);
    }

    /**
     * Throws the injected failure if a test made forces of {@code path} fail; with no fault
     * injected (always, outside tests) it only looks at an empty list.
     */
    public static void checkFault(Path path) throws IOException {
        if (FAULTS.isEmpty()) {
            return;
        }
        Path p = path.toAbsolutePath().normalize();
        for (Fault f : FAULTS) {
            if (p.startsWith(f.root)) {
                f.failures.incrementAndGet();
                throw new IOException(path + ": fsync failed (injected by FsyncFailures)");
            }
        }
    }

    /** {@code channel.force(metadata)}, unless a test made forces of {@code file} fail. */
    public static void force(FileChannel channel, Path file, boolean metadata) throws IOException {
        checkFault(file);
        channel.force(metadata);
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
            force(channel, file, true);
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

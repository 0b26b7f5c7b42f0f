package dev.twine.mail.smtp;

import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Delivers into a {@link Maildir} with the same protocol as {@link Maildir#deliver} (write to
 * {@code tmp/}, force, rename into {@code new/}, force {@code new/}), the same file names, and one
 * difference: sessions delivering into the same {@code new/} at the same moment share one
 * directory force (group commit). Each caller still returns only after a directory force that
 * began after its own rename, so what the 250 reply promises is on disk.
 */
final class MaildirDelivery {
    private final Maildir maildir;
    private final Set<Path> prepared = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<Path, DirSync> syncs = new ConcurrentHashMap<>();

    MaildirDelivery(Maildir maildir) {
        this.maildir = maildir;
    }

    /**
     * Writes {@code head} then {@code body} as one message into {@code user}'s inbox.
     *
     * @throws IOException if it cannot be stored; nothing is then left in {@code new/}
     * @throws IllegalArgumentException for a user name that is not a safe directory name
     */
    Path deliver(String user, byte[] head, byte[] body) throws IOException {
        try {
            return write(user, head, body);
        } catch (java.nio.file.NoSuchFileException e) {
            // the directories were removed behind our back since we made them: make them again
            prepared.remove(maildir.inbox(user));
            return write(user, head, body);
        }
    }

    private Path write(String user, byte[] head, byte[] body) throws IOException {
        Path box = maildir.inbox(user);
        Path tmp = box.resolve("tmp");
        Path nu = box.resolve("new");
        if (!prepared.contains(box)) {
            Files.createDirectories(tmp);
            Files.createDirectories(nu);
            Files.createDirectories(box.resolve("cur"));
            prepared.add(box);
        }
        String unique = Maildir.uniqueName();
        Path file = tmp.resolve(unique);
        long size = (long) head.length + body.length;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer[] bufs = {ByteBuffer.wrap(head), ByteBuffer.wrap(body)};
            while (bufs[1].hasRemaining() || bufs[0].hasRemaining()) {
                ch.write(bufs);
            }
            // fdatasync: the data and the size needed to read it back (POSIX), not the timestamps
            ch.force(false);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        Path target = nu.resolve(unique + ",S=" + size);
        try {
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(file);
            throw new IOException(box + ": tmp/ and new/ are on different file systems", e);
        }
        syncs.computeIfAbsent(nu, DirSync::new).awaitSyncedAfterNow();
        return target;
    }

    /** Group commit of one directory's entries. */
    private static final class DirSync {
        private final Path dir;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private long requested;
        private long synced;
        private boolean syncing;

        DirSync(Path dir) {
            this.dir = dir;
        }

        /** Returns once a force of the directory that started after this call has completed. */
        void awaitSyncedAfterNow() throws IOException {
            lock.lock();
            try {
                long mine = ++requested;
                while (synced < mine) {
                    if (syncing) {
                        changed.awaitUninterruptibly();
                        continue;
                    }
                    // lead: force for everyone who asked so far
                    syncing = true;
                    long upTo = requested;
                    lock.unlock();
                    boolean ok = false;
                    try {
                        Maildir.forceDirectory(dir);
                        ok = true;
                    } finally {
                        lock.lock();
                        syncing = false;
                        if (ok) {
                            synced = Math.max(synced, upTo);
                        }
                        changed.signalAll();
                    }
                }
            } finally {
                lock.unlock();
            }
        }
    }
}

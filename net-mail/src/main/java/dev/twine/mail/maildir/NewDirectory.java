package dev.twine.mail.maildir;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code new/} directory of one Maildir, with group commit of what enters it: deliveries that
 * arrive at the same moment are renamed in by one thread, one after the other, and share one force
 * of the directory.
 *
 * <p>Why one thread renames: a rename from {@code tmp/} into {@code new/} takes the file system's
 * cross-directory rename lock and both directories' locks; dozens of sessions renaming at once
 * queue on those locks in the kernel, each wait a sleep and a wake-up, which cost more than the
 * renames themselves (seen in the SMTP benchmark's kernel profile). Serial renames by the thread
 * that forces the directory anyway meet no such contention, and the others wait in user space.
 *
 * <p>What an acknowledgement promises: {@link #moveIn} returns only after its own rename succeeded
 * and a force of the directory that began after that rename completed. A rename that fails fails
 * only its own delivery; the rest of the batch is renamed and forced as usual. If the force fails,
 * every delivery of the batch fails, and its file is taken out of {@code new/} again (best effort:
 * an unlink that fails too is logged), so that a message its sender was told to retry is not also
 * left in the mailbox to be read twice after the retry.
 */
final class NewDirectory {
    private static final System.Logger LOG = System.getLogger(NewDirectory.class.getName());

    /** One delivery's rename, and what became of it. */
    static final class Move {
        final Path from;
        final Path to;
        // set by the committing thread, read by the mover once done is set, both under the lock
        /** Why the rename failed. */
        Exception failure;
        /** Why the directory force failed, after a successful rename. */
        Exception forceFailure;
        /** Renamed and forced: the only state in which the delivery may be acknowledged. */
        boolean durable;
        boolean done;

        Move(Path from, Path to) {
            this.from = from;
            this.to = to;
        }
    }

    private final Path dir;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition committed = lock.newCondition();
    private List<Move> pending = new ArrayList<>();
    private boolean committing;

    NewDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * Renames {@code from} (a file in {@code tmp/}, already forced) to {@code to} in this directory
     * and forces the directory. Blocks until both are done, by this thread or by the one
     * committing the batch this move joined. Not interruptible: a delivery's outcome must be known
     * before its caller answers.
     *
     * @throws IOException if this rename failed ({@code from} is then still in {@code tmp/}, for
     *     the caller to retry or remove) or the force failed ({@code to} is then removed again,
     *     as far as the file system lets it)
     */
    void moveIn(Path from, Path to) throws IOException {
        Move mine = new Move(from, to);
        lock.lock();
        try {
            pending.add(mine);
            while (!mine.done) {
                if (committing) {
                    committed.awaitUninterruptibly();
                    continue;
                }
                // lead: commit everything that is pending, ours included
                committing = true;
                List<Move> batch = pending;
                pending = new ArrayList<>();
                lock.unlock();
                try {
                    commit(dir, batch);
                } finally {
                    lock.lock();
                    committing = false;
                    for (Move m : batch) {
                        m.done = true;
                    }
                    committed.signalAll();
                }
            }
        } finally {
            lock.unlock();
        }
        if (mine.failure != null) {
            if (mine.failure instanceof IOException e) {
                throw e;
            }
            throw (RuntimeException) mine.failure;
        }
        if (mine.forceFailure != null) {
            // one exception per delivery: the force's is shared by the whole batch
            throw new IOException(dir + ": cannot force the directory", mine.forceFailure);
        }
        if (!mine.durable) {
            // the committing thread died of an Error before it got to this move
            throw new IOException(dir + ": the batch commit ended before this delivery was forced");
        }
    }

    /**
     * Renames each move's file into {@code dir}, then forces {@code dir} once if any rename
     * succeeded. Records failures in the moves instead of throwing, so one bad move does not stop
     * the others.
     */
    static void commit(Path dir, List<Move> batch) {
        boolean any = false;
        for (Move m : batch) {
            try {
                Files.move(m.from, m.to, StandardCopyOption.ATOMIC_MOVE);
                any = true;
            } catch (AtomicMoveNotSupportedException e) {
                m.failure = new IOException(dir + ": tmp/ and new/ are on different file systems", e);
            } catch (IOException | RuntimeException e) {
                m.failure = e;
            }
        }
        if (!any) {
            return;
        }
        try {
            Maildir.forceDirectory(dir);
        } catch (IOException | RuntimeException e) {
            for (Move m : batch) {
                if (m.failure == null) {
                    m.forceFailure = e;
                    unmove(m);
                }
            }
            return;
        }
        for (Move m : batch) {
            m.durable = m.failure == null;
        }
    }

    /** Removes a renamed file whose directory force failed: its delivery is refused, not kept. */
    private static void unmove(Move m) {
        try {
            Files.deleteIfExists(m.to);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot remove " + m.to + " after a failed force of its directory: " + e);
        }
    }
}

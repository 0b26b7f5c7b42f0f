package dev.twine.mail.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One mailbox of an {@link MailStore.Account}: messages with UIDs and flags, as IMAP (RFC 9051)
 * and POP3 (RFC 1939) see them. Every method may block on the store and is called on the thread of
 * the connection using it; several connections use one mailbox at once, and each sees the others'
 * changes the next time it calls {@link #messages()}.
 *
 * <p>A complete, if simple, read-only mailbox of one message:
 *
 * <pre>{@code
 * final class Motd implements Mailbox {
 *     private final byte[] text = "Subject: hello\r\n\r\nWelcome.\r\n".getBytes(US_ASCII);
 *     public long uidValidity() { return 1; }
 *     public long uidNext() { return 2; }
 *     public List<StoredMessage> messages() {
 *         return List.of(new StoredMessage(1, "motd", Set.of(StoredMessage.SEEN), false));
 *     }
 *     public byte[] read(long uid) throws IOException { return check(uid).clone(); }
 *     public long size(long uid) throws IOException { return check(uid).length; }
 *     public Instant internalDate(long uid) throws IOException { check(uid); return Instant.EPOCH; }
 *     public StoredMessage append(InputStream m, Set<String> f, Instant d) throws IOException {
 *         throw new IOException("read-only");
 *     }
 *     public Optional<StoredMessage> setFlags(long uid, Set<String> f) { return find(uid); }
 *     public void expunge(Collection<Long> uids) throws IOException { throw new IOException("read-only"); }
 *     private byte[] check(long uid) throws NoSuchMessageException {
 *         if (uid != 1) throw new NoSuchMessageException(uid, null);
 *         return text;
 *     }
 * }
 * }</pre>
 *
 * <h2>Error handling</h2>
 * A message that is gone throws {@link NoSuchMessageException}; any other {@link IOException} is a
 * failure of the store, which the servers log and answer with an error id (IMAP
 * {@code NO [SERVERBUG]}, POP3 {@code -ERR [SYS/TEMP]}); the session goes on.
 */
public interface Mailbox {

    /**
     * The mailbox's UIDVALIDITY (RFC 9051 §2.3.1.1): while it stays the same, a UID always names
     * the same message.
     *
     * @throws IOException if the store cannot be read
     */
    long uidValidity() throws IOException;

    /**
     * The UID the next new message will get, or a smaller one than that never used.
     *
     * @throws IOException if the store cannot be read
     */
    long uidNext() throws IOException;

    /**
     * The mailbox's highest mod-sequence (RFC 7162 §3.1.2.1, HIGHESTMODSEQ): at least every
     * message's {@link StoredMessage#modSeq()}, and larger after any flag change, new message or
     * expunge. Default: the largest of the messages' (1 when empty), which does not grow on
     * expunge; a store offering QRESYNC clients exact answers keeps its own.
     *
     * @throws IOException if the store cannot be read
     */
    default long highestModSeq() throws IOException {
        long h = 1;
        for (StoredMessage m : messages()) {
            h = Math.max(h, m.modSeq());
        }
        return h;
    }

    /**
     * The messages now in the mailbox, in ascending UID order: a snapshot, including what other
     * sessions and deliveries added, changed or removed since the last call.
     *
     * @throws IOException if the store cannot be read
     */
    List<StoredMessage> messages() throws IOException;

    /**
     * The message with this UID, if it is still there.
     *
     * @throws IOException if the store cannot be read
     */
    default Optional<StoredMessage> find(long uid) throws IOException {
        return messages().stream().filter(m -> m.uid() == uid).findFirst();
    }

    /**
     * The whole message with CRLF line ends, as IMAP and POP3 send it. This is the FETCH fast
     * path: a store that keeps messages in files reads the file in one go.
     *
     * @throws NoSuchMessageException if the message is gone
     * @throws IOException if it cannot be read
     */
    byte[] read(long uid) throws IOException;

    /**
     * The message as a stream (the bytes of {@link #read}); the caller closes it.
     *
     * @throws NoSuchMessageException if the message is gone
     * @throws IOException if it cannot be read
     */
    default InputStream open(long uid) throws IOException {
        return new ByteArrayInputStream(read(uid));
    }

    /**
     * The size of {@link #read}'s result in bytes (RFC822.SIZE, POP3's LIST).
     *
     * @throws NoSuchMessageException if the message is gone
     * @throws IOException if it cannot be read
     */
    long size(long uid) throws IOException;

    /**
     * The message's internal date (RFC 9051 §2.3.3): when it arrived, or the date APPEND gave.
     *
     * @throws NoSuchMessageException if the message is gone
     * @throws IOException if it cannot be read
     */
    Instant internalDate(long uid) throws IOException;

    /**
     * The keywords defined in this mailbox, for IMAP's FLAGS and PERMANENTFLAGS (default: none
     * beyond those set on messages).
     *
     * @throws IOException if they cannot be read
     */
    default List<String> keywords() throws IOException {
        return List.of();
    }

    /**
     * Stores a new message. Durable when it returns: an IMAP server answers APPEND's OK only
     * then (RFC 9051 §6.3.12), and the message has its UID.
     *
     * @param message the message, read to its end (not closed)
     * @param flags flags to set, as in {@link StoredMessage#flags()}; keywords the store cannot
     *     hold are dropped
     * @param internalDate the internal date, or null for now
     * @return the stored message
     * @throws IOException if it cannot be stored; nothing is then stored
     */
    StoredMessage append(InputStream message, Set<String> flags, Instant internalDate) throws IOException;

    /**
     * Replaces a message's flags (keywords the store cannot hold are dropped); durable when it
     * returns. If they changed, the message gets a mod-sequence above the mailbox's
     * {@link #highestModSeq()} before the call (RFC 7162 §3.1.1).
     *
     * @return the message as it is now, or empty if it is gone
     * @throws IOException if they cannot be stored
     */
    Optional<StoredMessage> setFlags(long uid, Set<String> flags) throws IOException;

    /**
     * Takes the recent messages for the calling session, so only one IMAP session reports each
     * as {@code \Recent} (RFC 3501 §2.3.2); default: none are recent.
     *
     * @return the UIDs that were recent
     * @throws IOException if the store cannot be updated
     */
    default Set<Long> claimRecent() throws IOException {
        return Set.of();
    }

    /**
     * Removes the messages with these UIDs (those already gone are skipped); UIDs are never used
     * again. Durable when it returns.
     *
     * @throws IOException if they cannot be removed
     */
    void expunge(Collection<Long> uids) throws IOException;

    /**
     * Takes the advisory lock a POP3 session keeps from login to QUIT (RFC 1939 §8); IMAP sessions
     * ignore it. Default: the lock is always free.
     *
     * @return false if another session holds it
     */
    default boolean tryLockExclusive() {
        return true;
    }

    /** Releases {@link #tryLockExclusive()}. */
    default void unlockExclusive() {}

    /**
     * A change feed for IMAP IDLE (RFC 2177): a watch that blocks until this mailbox changes. Open
     * it before looking at {@link #messages()}, so a change between the two is not missed.
     * Default: a watch that sees no change and only times out, so IDLE looks again each
     * recheck interval.
     *
     * @throws IOException if it cannot be set up
     */
    default Watch watch() throws IOException {
        return new Watch() {
            private volatile boolean closed;

            @Override
            public boolean awaitChange(Duration timeout) throws InterruptedException {
                if (closed) {
                    throw new IllegalStateException("closed");
                }
                Thread.sleep(timeout);
                return false;
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    /** The change feed of one mailbox; close it when done. Used by one thread at a time. */
    interface Watch extends AutoCloseable {
        /**
         * Blocks until the mailbox may have changed since the watch was opened or this last
         * returned true, or {@code timeout} passes.
         *
         * @return true if a change was seen (false: the time passed)
         * @throws InterruptedException if interrupted while waiting
         * @throws IllegalStateException once the watch is closed
         * @throws IOException if the store fails
         */
        boolean awaitChange(Duration timeout) throws InterruptedException, IOException;

        /** Ends the watch; idempotent. */
        @Override
        void close() throws IOException;
    }
}

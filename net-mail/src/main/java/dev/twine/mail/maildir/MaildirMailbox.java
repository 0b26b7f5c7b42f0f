package dev.twine.mail.maildir;

import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.NoSuchMessageException;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link MailFolder} as a {@link Mailbox}: IMAP flags become Maildir's letters in file names
 * ({@code \Seen} is {@code S}, {@code \Answered} {@code R}, {@code \Flagged} {@code F},
 * {@code \Deleted} {@code T}, {@code \Draft} {@code D}), keywords Dovecot's letters {@code a}-{@code z}
 * named in {@code dovecot-keywords} (26 at most per folder; more are dropped). Maildir's
 * {@code P}assed, which IMAP cannot show, is kept as it was.
 *
 * <p>There is one per folder ({@link MailFolder#mailbox()}), shared by every session on it and
 * safe for concurrent use: the messages it converted for one session serve the others.
 */
final class MaildirMailbox implements Mailbox {
    /** IMAP's system flags and their Maildir letters, in the order the servers list them. */
    private static final String[] NAMES = {StoredMessage.SEEN, StoredMessage.ANSWERED, StoredMessage.FLAGGED,
        StoredMessage.DELETED, StoredMessage.DRAFT};
    private static final String LETTERS = "SRFTD";

    private final MailFolder folder;
    /** The last conversion of each message, reused while its file name stays the same. */
    private final Map<Long, Converted> converted = new ConcurrentHashMap<>();

    private record Converted(MailMessage from, StoredMessage to) {}

    /** {@link #messages()}'s last answer, for the folder's list it was converted from. */
    private volatile Listing listed;

    private record Listing(List<MailMessage> from, List<StoredMessage> to) {}

    MaildirMailbox(MailFolder folder) {
        this.folder = folder;
    }

    /** The folder behind this mailbox. */
    MailFolder folder() {
        return folder;
    }

    @Override
    public long uidValidity() throws IOException {
        return folder.uidValidity();
    }

    @Override
    public long uidNext() throws IOException {
        return folder.uidNext();
    }

    @Override
    public long highestModSeq() throws IOException {
        return folder.highestModSeq();
    }

    @Override
    public List<StoredMessage> messages() throws IOException {
        List<MailMessage> all = folder.messages();
        Listing last = listed;
        if (last != null && last.from() == all) {
            // the folder's messages did not change since: every session woken by one delivery
            // (or selecting after one change) shares one conversion
            return last.to();
        }
        List<StoredMessage> out = new ArrayList<>(all.size());
        for (MailMessage m : all) {
            out.add(stored(m));
        }
        if (converted.size() > all.size() * 2 + 16) {
            converted.keySet().retainAll(all.stream().map(MailMessage::uid).toList());
        }
        List<StoredMessage> shared = java.util.Collections.unmodifiableList(out);
        listed = new Listing(all, shared);
        return shared;
    }

    @Override
    public Optional<StoredMessage> find(long uid) throws IOException {
        Optional<MailMessage> m = folder.find(uid);
        return m.isEmpty() ? Optional.empty() : Optional.of(stored(m.get()));
    }

    private StoredMessage stored(MailMessage m) throws IOException {
        Converted c = converted.get(m.uid());
        if (c != null && c.from().equals(m)) {
            return c.to();
        }
        Set<String> flags = new LinkedHashSet<>();
        for (int i = 0; i < NAMES.length; i++) {
            if (m.has(LETTERS.charAt(i))) {
                flags.add(NAMES[i]);
            }
        }
        for (char ch : m.flags().toCharArray()) {
            if (ch >= 'a' && ch <= 'z') {
                // an unreadable keywords file hides the keyword, nothing worse
                folder.keywords().name(ch).filter(k -> !k.isEmpty()).ifPresent(flags::add);
            }
        }
        StoredMessage s = new StoredMessage(m.uid(), m.name(), flags, m.recent(), m.modSeq());
        converted.put(m.uid(), new Converted(m, s));
        return s;
    }

    /** What is read from a message's file. */
    private interface FileRead<T> {
        T from(MailMessage m) throws IOException;
    }

    /**
     * Reads from the file of message {@code uid}; a file that is gone is the message gone. The
     * message as last listed is used without a rescan (the FETCH fast path): the folder follows
     * a file that another session renamed.
     */
    private <T> T read(long uid, FileRead<T> what) throws IOException {
        Converted listed = converted.get(uid);
        MailMessage m = listed != null ? listed.from()
                : folder.find(uid).orElseThrow(() -> new NoSuchMessageException(uid, null));
        try {
            return what.from(m);
        } catch (NoSuchFileException e) {
            throw new NoSuchMessageException(uid, e);
        }
    }

    @Override
    public byte[] read(long uid) throws IOException {
        return read(uid, folder::read);
    }

    @Override
    public long size(long uid) throws IOException {
        return read(uid, folder::size);
    }

    @Override
    public Instant internalDate(long uid) throws IOException {
        return read(uid, folder::internalDate);
    }

    @Override
    public List<String> keywords() throws IOException {
        return folder.keywords().all().stream().filter(k -> !k.isEmpty()).toList();
    }

    /** Maildir letters for {@code flags}, allocating keyword letters on first use. */
    private String letters(Set<String> flags) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : flags) {
            int i = indexOf(f);
            if (i >= 0) {
                sb.append(LETTERS.charAt(i));
            } else if (!f.startsWith("\\")) {
                folder.keywords().letter(f, true).ifPresent(sb::append);
            }
        }
        return sb.toString();
    }

    private static int indexOf(String flag) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equalsIgnoreCase(flag)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public StoredMessage append(InputStream message, Set<String> flags, Instant internalDate) throws IOException {
        return stored(folder.append(message, letters(flags), internalDate));
    }

    @Override
    public Optional<StoredMessage> setFlags(long uid, Set<String> flags) throws IOException {
        String letters = letters(flags);
        Optional<MailMessage> was = folder.find(uid);
        if (was.isEmpty()) {
            return Optional.empty();
        }
        if (was.get().has('P')) {
            letters += "P";
        }
        Optional<MailMessage> now = folder.setFlags(uid, letters);
        return now.isEmpty() ? Optional.empty() : Optional.of(stored(now.get()));
    }

    @Override
    public Set<Long> claimRecent() throws IOException {
        return folder.claimRecent();
    }

    @Override
    public void expunge(Collection<Long> uids) throws IOException {
        folder.expunge(uids);
    }

    @Override
    public boolean tryLockExclusive() {
        return folder.tryLockExclusive();
    }

    @Override
    public void unlockExclusive() {
        folder.unlockExclusive();
    }

    /**
     * A share of the folder's watch ({@link FolderWatches}); the first session a change wakes
     * rescans the folder, the others find it scanned.
     */
    @Override
    public Watch watch() throws IOException {
        FolderWatch w = folder.watch();
        return new Watch() {
            @Override
            public boolean awaitChange(Duration timeout) throws InterruptedException, IOException {
                boolean changed;
                try {
                    changed = w.awaitChange(timeout);
                } catch (ClosedWatchServiceException e) {
                    throw new IllegalStateException("watch closed", e);
                }
                if (changed) {
                    // an event may come within one clock tick of the last scan
                    folder.rescanFor(w.seen());
                }
                return changed;
            }

            @Override
            public void close() {
                w.close();
            }
        };
    }

    @Override
    public String toString() {
        return "MaildirMailbox[" + folder.directory() + "]";
    }
}

package dev.twine.mail.maildir;

import dev.twine.mail.internal.Crlf;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One Maildir folder ({@code new/}, {@code cur/}, {@code tmp/}) read as a mailbox with stable
 * UIDs, as IMAP (RFC 3501 §2.3.1.1) and POP3's UIDL (RFC 1939 §7) need; {@link MaildirMailbox}
 * shows it to the servers as a {@link dev.twine.mail.store.Mailbox}.
 *
 * <h2>UIDs</h2>
 * UIDs are kept in the folder's {@link UidList}, rewritten durably whenever messages appear or
 * go; mail that other programs drop into {@code new/} gets the next UIDs on the next scan.
 *
 * <h2>Flags</h2>
 * Flags live in the file name, Maildir style: {@code <base>:2,<letters>} in {@code cur/}, letters
 * in ASCII order ({@code D}raft, {@code F}lagged, {@code P}assed, {@code R}eplied, {@code S}een,
 * {@code T}rashed), so mutt, Dovecot and Python's {@code mailbox} see the same flags.
 *
 * <h2>Concurrency</h2>
 * There is one instance per directory in each {@link Maildir} ({@link Maildir#folderAt}); every method takes the
 * folder's {@link ReentrantLock} for its duration, so sessions on the same folder see each other's
 * changes. Changes made by other processes are found by the directory modification times.
 * {@link #tryLockExclusive()} is a separate, long-held lock for POP3 sessions (RFC 1939 §8).
 */
final class MailFolder {
    /**
     * Directory times this close to "now" may hide a later change in the same clock tick, on a
     * file system with times in whole seconds (FAT's are even coarser: two).
     */
    private static final long RACY_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * The same on a file system with sub-second times (ext4, XFS, Btrfs, tmpfs), which the kernel
     * takes from its coarse clock, a tick of 10 ms at most; also the least time between two
     * scans that only look again.
     */
    private static final long FINE_RACY_MILLIS = 50;
    private static final long TMP_CLEAN_EVERY = TimeUnit.HOURS.toNanos(1);

    private final Path dir;
    private final UidList uidList;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicBoolean exclusive = new AtomicBoolean();
    /** When tmp/ was last cleaned ({@link System#nanoTime}), 0 for never. */
    private final AtomicLong tmpCleanedAt = new AtomicLong();

    // guarded by lock
    private boolean loaded;
    private final TreeMap<Long, MailMessage> byUid = new TreeMap<>();
    private final Map<String, Long> sizes = new HashMap<>();
    private FileTime newTime;
    private FileTime curTime;
    private long scannedAt;
    /** {@link #messages()}'s last answer, shared until the messages change; null once they do. */
    private List<MailMessage> snapshot;

    private final FolderKeywords keywords;
    private final FolderWatches watches;
    private final MaildirMailbox mailbox;
    /** The newest watch generation a rescan was made for (changed with the lock held). */
    private volatile long rescannedFor;

    MailFolder(Path dir) {
        this(dir, FolderWatches.shared());
    }

    MailFolder(Path dir, FolderWatches watches) {
        this.dir = dir;
        this.uidList = new UidList(dir);
        this.keywords = new FolderKeywords(dir);
        this.watches = watches;
        this.mailbox = new MaildirMailbox(this);
    }

    /**
     * The folder as a {@link dev.twine.mail.store.Mailbox}, one for every session on it, so the
     * messages converted for one session serve all (10,000 IDLE sessions on one inbox hold one
     * list of its messages, not 10,000).
     */
    MaildirMailbox mailbox() {
        return mailbox;
    }

    /** The folder's keywords (Dovecot's {@code dovecot-keywords}). */
    FolderKeywords keywords() {
        return keywords;
    }

    /**
     * Creates the directories of the folder at {@code dir} (a Maildir directory holding
     * {@code cur/}, {@code new/} and {@code tmp/}) if missing.
     *
     * @throws IOException if the directories cannot be created
     */
    static void prepare(Path dir) throws IOException {
        PrivateFiles.createDirectories(dir.resolve("cur"));
        PrivateFiles.createDirectories(dir.resolve("new"));
        PrivateFiles.createDirectories(dir.resolve("tmp"));
    }

    /**
     * Removes crashed deliveries' leftovers from tmp/ when the folder is first opened in this
     * process, and again when it is opened after an hour, so a server that runs for months
     * still cleans (Maildir: after 36 hours).
     */
    void cleanTmpIfDue() {
        long now = System.nanoTime();
        long last = tmpCleanedAt.get();
        if ((last == 0 || now - last >= TMP_CLEAN_EVERY) && tmpCleanedAt.compareAndSet(last, now == 0 ? 1 : now)) {
            Maildir.removeStaleTmp(dir);
        }
    }

    /** The folder's directory. */
    public Path directory() {
        return dir;
    }

    /** The folder's UIDVALIDITY (RFC 3501 §2.3.1.1). Blocks while the UID list is read. */
    public long uidValidity() throws IOException {
        lock.lock();
        try {
            refresh();
            return uidList.uidValidity();
        } finally {
            lock.unlock();
        }
    }

    /** The UID the next new message will get. */
    public long uidNext() throws IOException {
        lock.lock();
        try {
            refresh();
            return uidList.uidNext();
        } finally {
            lock.unlock();
        }
    }

    /** The folder's HIGHESTMODSEQ (RFC 7162 §3.1.2.1), after a rescan if the directories changed. */
    public long highestModSeq() throws IOException {
        lock.lock();
        try {
            refresh();
            return uidList.highestModSeq();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The messages now in the folder, in UID order. Rescans the directories if they changed
     * and records UIDs for new files durably before returning.
     */
    public List<MailMessage> messages() throws IOException {
        lock.lock();
        try {
            refresh();
            return current();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Scans the directories now even if their times look unchanged (after a file-system event,
     * which may come within one clock tick of the previous scan).
     */
    public void rescan() throws IOException {
        lock.lock();
        try {
            forceRescan();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Rescans once for a change a watch reported as {@code generation}: of the sessions a change
     * wakes, the first rescans and the others find the scan done.
     */
    void rescanFor(long generation) throws IOException {
        if (generation <= rescannedFor) {
            return; // without the lock: 10,000 sessions woken at once need not queue for it
        }
        lock.lock();
        try {
            if (generation > rescannedFor) {
                rescannedFor = generation;
                forceRescan();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The message with this UID, if it is still there. */
    public Optional<MailMessage> find(long uid) throws IOException {
        lock.lock();
        try {
            refresh();
            return Optional.ofNullable(byUid.get(uid));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads a message with CRLF line ends (bare LF, as Python's {@code mailbox} writes, becomes
     * CRLF), as IMAP and POP3 send it. Follows the file if another session renamed it.
     *
     * @throws NoSuchFileException if the message is gone
     */
    public byte[] read(MailMessage message) throws IOException {
        byte[] raw;
        try {
            raw = Files.readAllBytes(message.file());
        } catch (NoSuchFileException e) {
            Optional<MailMessage> now = find(message.uid());
            if (now.isEmpty() || now.get().file().equals(message.file())) {
                throw e;
            }
            raw = Files.readAllBytes(now.get().file());
        }
        byte[] data = Crlf.of(raw);
        lock.lock();
        try {
            sizes.put(message.name(), (long) data.length);
        } finally {
            lock.unlock();
        }
        return data;
    }

    /** The size of {@link #read}'s result, remembered after the first read. */
    public long size(MailMessage message) throws IOException {
        lock.lock();
        try {
            Long s = sizes.get(message.name());
            if (s != null) {
                return s;
            }
        } finally {
            lock.unlock();
        }
        return read(message).length;
    }

    /** The message's internal date: the file's modification time (set by {@link #append}). */
    public Instant internalDate(MailMessage message) throws IOException {
        try {
            return Files.getLastModifiedTime(message.file()).toInstant();
        } catch (NoSuchFileException e) {
            Optional<MailMessage> now = find(message.uid());
            if (now.isEmpty()) {
                throw e;
            }
            return Files.getLastModifiedTime(now.get().file()).toInstant();
        }
    }

    /**
     * Stores a message durably in {@code cur/} with the given flags: written to {@code tmp/},
     * forced, renamed, the directory forced, and its UID recorded in the forced UID list, all
     * before this returns (so an IMAP APPEND may answer OK, RFC 3501 §6.3.11).
     *
     * @param flags Maildir flag letters
     * @param internalDate the internal date to keep as the file's modification time, or null for now
     * @return the stored message with its UID
     */
    public MailMessage append(InputStream message, String flags, Instant internalDate) throws IOException {
        Path delivered = Maildir.write(dir, message, watches);
        if (internalDate != null) {
            Files.setLastModifiedTime(delivered, FileTime.from(internalDate));
        }
        String base = delivered.getFileName().toString();
        Path target = dir.resolve("cur").resolve(base + ":2," + normalizeFlags(flags));
        watches.expect(dir, "new", delivered.getFileName().toString());
        watches.expect(dir, "cur", target.getFileName().toString());
        try {
            Files.move(delivered, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            watches.unexpect(dir, "new", delivered.getFileName().toString());
            // another session claimed it as \Recent (new/ to cur/) in between: it is in cur/
            // now under its own name and no flags, and takes the APPEND's flags from there
            Path claimed = claimedCopy(base).orElseThrow(() -> e);
            Files.move(claimed, target, StandardCopyOption.ATOMIC_MOVE);
        }
        Maildir.forceDirectory(dir.resolve("cur"));
        Maildir.forceDirectory(dir.resolve("new"));
        lock.lock();
        try {
            refresh();
            Long uid = uidList.uid(base);
            if (uid == null) {
                // the scan may have run before the rename was visible
                uid = assign(base, target, normalizeFlags(flags), false);
                writeUidList();
            }
            return byUid.get(uid);
        } finally {
            lock.unlock();
            watches.changed(dir);
        }
    }

    /** The file in {@code cur/} of the message whose unique name is {@code base}, if there is one. */
    private Optional<Path> claimedCopy(String base) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir.resolve("cur"), p -> p.getFileName().toString().startsWith(base + ":2,"))) {
            for (Path p : files) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Sets a message's flags by renaming it into {@code cur/} with the new {@code :2,} info.
     *
     * @return the message as it is now, or empty if it is gone
     */
    public Optional<MailMessage> setFlags(long uid, String flags) throws IOException {
        String f = normalizeFlags(flags);
        try {
            return rename(uid, current -> f);
        } finally {
            watches.changed(dir);
        }
    }

    /**
     * Renames a message into {@code cur/} with the flags {@code flags} makes of its current ones,
     * applied to the message as found at the moment of the rename (after a rescan if the file
     * moved since the last scan), never to an older view of it.
     */
    private Optional<MailMessage> rename(long uid, java.util.function.UnaryOperator<String> flags) throws IOException {
        lock.lock();
        try {
            for (int attempt = 0; attempt < 2; attempt++) {
                MailMessage m = byUid.get(uid);
                if (m == null) {
                    refresh();
                    m = byUid.get(uid);
                    if (m == null) {
                        return Optional.empty();
                    }
                }
                String f = flags.apply(m.flags());
                if (m.flags().equals(f) && !m.recent()) {
                    return Optional.of(m);
                }
                Path target = dir.resolve("cur").resolve(m.name() + ":2," + f);
                // this process's sessions learn of it from the folder itself (setFlags wakes
                // them; a \Recent claim changes nothing they show): not from the file system
                String from = m.file().getParent().getFileName().toString();
                watches.expect(dir, from, m.file().getFileName().toString());
                watches.expect(dir, "cur", target.getFileName().toString());
                try {
                    Files.move(m.file(), target, StandardCopyOption.ATOMIC_MOVE);
                } catch (NoSuchFileException e) {
                    watches.unexpect(dir, from, m.file().getFileName().toString());
                    watches.unexpect(dir, "cur", target.getFileName().toString());
                    forceRescan();
                    continue;
                }
                long modSeq = uidList.flagsChanged(m.name(), f);
                MailMessage now = new MailMessage(uid, m.name(), target, f, false, modSeq);
                put(now);
                return Optional.of(now);
            }
            return Optional.empty();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves every message still in {@code new/} to {@code cur/}, so that only one IMAP session
     * reports it as {@code \Recent} (RFC 3501 §2.3.2).
     *
     * @return the UIDs that were recent
     */
    public Set<Long> claimRecent() throws IOException {
        lock.lock();
        try {
            refresh();
            Set<Long> claimed = new HashSet<>();
            for (MailMessage m : current()) {
                // its flags as they are when it moves: another session's APPEND with flags, or
                // another Maildir client, may have moved it to cur/ since this scan
                if (m.recent() && rename(m.uid(), current -> current).isPresent()) {
                    claimed.add(m.uid());
                }
            }
            return claimed;
        } finally {
            lock.unlock();
        }
    }

    /** Deletes the messages with these UIDs; UIDs never come back (RFC 3501 §2.3.1.1). */
    public void expunge(Collection<Long> uids) throws IOException {
        lock.lock();
        try {
            refresh();
            boolean changed = false;
            for (long uid : uids) {
                MailMessage m = byUid.remove(uid);
                if (m == null) {
                    continue;
                }
                snapshot = null;
                uidList.remove(m.name());
                sizes.remove(m.name());
                changed = true;
                String from = m.file().getParent().getFileName().toString();
                watches.expect(dir, from, m.file().getFileName().toString());
                try {
                    Files.delete(m.file());
                } catch (NoSuchFileException e) {
                    watches.unexpect(dir, from, m.file().getFileName().toString());
                    Files.deleteIfExists(dir.resolve("cur").resolve(m.name() + ":2," + m.flags()));
                }
            }
            if (changed) {
                writeUidList();
                Maildir.forceDirectory(dir.resolve("cur"));
            }
        } finally {
            lock.unlock();
            watches.changed(dir);
        }
    }

    /**
     * Takes the long-held exclusive lock a POP3 session keeps from authentication to QUIT
     * (RFC 1939 §8). It is advisory and per process: IMAP sessions still work.
     *
     * @return false if another session holds it
     */
    public boolean tryLockExclusive() {
        return exclusive.compareAndSet(false, true);
    }

    /** Releases {@link #tryLockExclusive()}. */
    public void unlockExclusive() {
        exclusive.set(false);
    }

    /**
     * A watch on {@code new/} and {@code cur/} for IMAP IDLE (RFC 2177), shared with every other
     * session on this folder ({@link FolderWatches}): the file system tells it of deliveries and
     * flag changes by other programs, this process's deliveries and appends wake it at once.
     */
    FolderWatch watch() throws IOException {
        return watches.open(dir);
    }


    /** Maildir flag letters in ASCII order without duplicates or unknown letters. */
    public static String normalizeFlags(String flags) {
        StringBuilder sb = new StringBuilder();
        for (char c : "DFPRST".toCharArray()) {
            if (flags.indexOf(c) >= 0) {
                sb.append(c);
            }
        }
        // keywords: lowercase letters, Dovecot's convention (see FolderKeywords)
        for (char c = 'a'; c <= 'z'; c++) {
            if (flags.indexOf(c) >= 0) {
                sb.append(c);
            }
        }
        return sb.toString();
    }


    private void forceRescan() throws IOException {
        newTime = null;
        curTime = null;
        refresh();
    }

    // ---- scanning and the UID list (lock held) ----

    private void refresh() throws IOException {
        if (!loaded) {
            byUid.clear();
            snapshot = null;
            uidList.read();
            loaded = true;
        }
        FileTime n = Files.getLastModifiedTime(dir.resolve("new"));
        FileTime c = Files.getLastModifiedTime(dir.resolve("cur"));
        long now = System.currentTimeMillis();
        // a scan soon after a change may have missed a later change in the same clock tick: look
        // again, but at most every 50 ms (and, with fine times, once: a look 50 ms after the
        // change sees all of its tick; 20 sessions selecting a folder just changed rescan it once
        // between them, not once each)
        long window = racyWindowMillis(n, c);
        boolean racy = scannedAt - Math.max(n.toMillis(), c.toMillis()) < window && now - scannedAt > FINE_RACY_MILLIS;
        if (n.equals(newTime) && c.equals(curTime) && !racy) {
            return;
        }
        scan();
        newTime = n;
        curTime = c;
        scannedAt = now;
    }

    /**
     * How long after the latest of these directory times a listing may still have missed a change
     * in the same clock tick: {@link #FINE_RACY_MILLIS} if any of them has a fraction of a second
     * (the file system keeps fine times), else {@link #RACY_NANOS}. For every look at a directory
     * that trusts its time ({@link Maildir#quota} too).
     */
    static long racyWindowMillis(FileTime... times) {
        for (FileTime t : times) {
            if (subSecond(t)) {
                return FINE_RACY_MILLIS;
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(RACY_NANOS);
    }

    /** Whether a file time has a fraction of a second, as those of file systems with fine times do. */
    private static boolean subSecond(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS) % 1_000_000_000L != 0;
    }

    private record Found(String name, Path file, String flags, boolean recent) {}

    private void scan() throws IOException {
        Map<String, Found> found = new HashMap<>();
        for (String sub : List.of("cur", "new")) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve(sub))) {
                for (Path p : ds) {
                    String fn = p.getFileName().toString();
                    if (fn.startsWith(".")) {
                        continue;
                    }
                    int info = fn.indexOf(":2,");
                    String base = info >= 0 ? fn.substring(0, info) : fn;
                    String flags = info >= 0 ? normalizeFlags(fn.substring(info + 3)) : "";
                    // a name in both cur/ and new/ (a crash mid-move): keep the cur/ one
                    found.putIfAbsent(base, new Found(base, p, flags, sub.equals("new")));
                }
            }
        }
        boolean changed = false;
        for (String name : List.copyOf(uidList.names())) {
            if (!found.containsKey(name)) {
                // deleted by another program: an expunge, which QRESYNC clients learn of
                byUid.remove(uidList.uid(name));
                snapshot = null;
                sizes.remove(name);
                uidList.remove(name);
                changed = true;
            }
        }
        List<Found> fresh = new ArrayList<>();
        for (Found f : found.values()) {
            Long uid = uidList.uid(f.name());
            if (uid == null) {
                fresh.add(f);
            } else {
                // flags another program changed get a new mod-sequence (RFC 7162 §3.1)
                long modSeq = uidList.flagsChanged(f.name(), f.flags());
                put(new MailMessage(uid, f.name(), f.file(), f.flags(), f.recent(), modSeq));
            }
        }
        // Maildir names start with the delivery time in seconds: name order is arrival order
        fresh.sort((a, b) -> compareNames(a.name(), b.name()));
        for (Found f : fresh) {
            assign(f.name(), f.file(), f.flags(), f.recent());
            changed = true;
        }
        if (changed) {
            writeUidList();
        }
    }

    private static int compareNames(String a, String b) {
        long ta = leadingNumber(a);
        long tb = leadingNumber(b);
        if (ta != tb) {
            return Long.compare(ta, tb);
        }
        // "<secs>.M<usecs>P...": compare the microseconds as numbers, not text
        long ua = micros(a);
        long ub = micros(b);
        return ua != ub ? Long.compare(ua, ub) : a.compareTo(b);
    }

    private static long micros(String name) {
        int dot = name.indexOf('.');
        if (dot < 0 || dot + 1 >= name.length() || name.charAt(dot + 1) != 'M') {
            return -1;
        }
        return leadingNumber(name.substring(dot + 2));
    }

    private static long leadingNumber(String s) {
        long v = 0;
        int i = 0;
        for (; i < s.length() && i < 18 && Character.isDigit(s.charAt(i)); i++) {
            v = v * 10 + (s.charAt(i) - '0');
        }
        return i == 0 ? Long.MAX_VALUE : v;
    }

    private long assign(String name, Path file, String flags, boolean recent) {
        long uid = uidList.assign(name, flags).uid();
        put(new MailMessage(uid, name, file, flags, recent, uidList.entry(name).modSeq()));
        return uid;
    }

    /** The messages as last scanned, in UID order, shared until they change. */
    private List<MailMessage> current() {
        if (snapshot == null) {
            snapshot = List.copyOf(byUid.values());
        }
        return snapshot;
    }

    /** Records a message as it is now; the snapshot goes only if that changes something. */
    private void put(MailMessage m) {
        if (!m.equals(byUid.put(m.uid(), m))) {
            snapshot = null;
        }
    }

    private void writeUidList() throws IOException {
        uidList.write(byUid.values());
    }

    @Override
    public String toString() {
        return "MailFolder[" + dir + "]";
    }
}

package dev.twine.mail.maildir;

import dev.twine.core.DurableFiles;
import dev.twine.core.auth.AuthenticationException;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Quota;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A Maildir++ store: {@code ROOT/<user>/{tmp,new,cur}} for the inbox and
 * {@code ROOT/<user>/.<Folder>/{tmp,new,cur}} for folders, so Dovecot, mutt or Python's
 * {@code mailbox.Maildir} can read the same files.
 *
 * <h2>Delivery and durability</h2>
 * {@link #deliver} writes the message to {@code tmp/}, forces it to disk, renames it into
 * {@code new/} and forces the directory, and only then returns: a server answers "250 OK" (or an
 * IMAP APPEND's OK) after {@code deliver} returns, so a crash at any point loses no acknowledged
 * message and never leaves half a message in {@code new/} (a crash before the rename leaves a file
 * in {@code tmp/}, which readers ignore).
 *
 * <h2>As a mail store</h2>
 * A {@code Maildir} is the {@link MailStore} the IMAP and POP3 servers ship with:
 * {@link #account} gives a user's folders as {@link dev.twine.mail.store.Mailbox}es, with UIDs in
 * {@code twine-uidlist}, flags in file names and keywords in {@code dovecot-keywords} in each
 * folder (see {@link MaildirMailbox}). Each instance keeps one in-memory view per folder, shared by
 * every session that uses the folder through it: open one instance per root and share it.
 *
 * <p>File names follow the Maildir convention {@code <secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>}
 * (the {@code ,S=} part is Maildir++'s size, which lets readers skip a stat).
 */
public final class Maildir implements MailStore {
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final AtomicLong LAST_MICROS = new AtomicLong();
    /**
     * Maildirs whose tmp/, new/ and cur/ are known to exist, with their resolved paths and the
     * group commit of their new/.
     */
    private static final ConcurrentHashMap<Path, Box> PREPARED = new ConcurrentHashMap<>();
    /** Base names of the tmp/ files deliveries of this process are writing now. */
    private static final Set<String> WRITING = ConcurrentHashMap.newKeySet();
    /** How long a file may sit in tmp/ before it counts as a crashed delivery's leftover. */
    static final Duration STALE_TMP = Duration.ofHours(36);
    private static final System.Logger LOG = System.getLogger(Maildir.class.getName());
    private static final Set<StandardOpenOption> CREATE = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    /** Serialises read-modify-write of subscription files in this process. */
    private static final ReentrantLock SUBSCRIPTIONS = new ReentrantLock();
    private static final String HOST = hostName();
    private static final long PID = ProcessHandle.current().pid();

    private final Path root;
    /** Each user's storage quota in bytes, 0 for none. */
    private final long quota;
    /** The folders sessions opened through this instance, by absolute directory. */
    private final ConcurrentHashMap<Path, MailFolder> open = new ConcurrentHashMap<>();
    /** The folder watches IDLE waits on, which this store's deliveries wake. */
    private final FolderWatches watches;
    /** What each cur/ and new/ held at its last listing for a quota, by directory. */
    private final ConcurrentHashMap<Path, Usage> usage = new ConcurrentHashMap<>();

    /** The bytes in a directory's files, listed at {@code listedAt} (epoch ms), when its time was {@code modified}. */
    private record Usage(FileTime modified, long listedAt, long bytes) {}

    private Maildir(Path root, long quota, FolderWatches watches) {
        this.root = root;
        this.quota = quota;
        this.watches = watches;
    }

    /**
     * The mail of {@code user} (the Maildir under {@link #inbox(String)}), whose folders are
     * made when first used. Does not block.
     *
     * @throws AuthenticationException if {@code user} cannot name a directory here (see
     *     {@link #inbox(String)}): such a user has no mail
     */
    @Override
    public Account account(String user) throws AuthenticationException {
        try {
            inbox(user);
        } catch (IllegalArgumentException e) {
            throw new AuthenticationException("user name not usable as a mailbox");
        }
        return new MaildirAccount(this, user);
    }

    /** The store under {@code root} (created on first delivery). */
    public static Maildir open(Path root) {
        return open(root, FolderWatches.shared());
    }

    /** The store under {@code root} whose folders are watched by {@code watches}; for tests. */
    static Maildir open(Path root, FolderWatches watches) {
        return new Maildir(Objects.requireNonNull(root, "root").toAbsolutePath(), 0, watches);
    }

    /**
     * This store with a storage quota of {@code bytes} for each user (RFC 9208's STORAGE): IMAP
     * then refuses APPEND and COPY past it, and {@link #quota(String)} tells a delivery whether a
     * message still fits. Call it before the store is used: the new instance shares no state with
     * this one.
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Maildir withQuota(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("quota must be positive: " + bytes);
        }
        return new Maildir(root, bytes, watches);
    }

    /**
     * {@code user}'s quota and what their mail takes now (the sizes of the files in {@code cur/}
     * and {@code new/} of the inbox and every folder), or empty if this store has no quota.
     * Blocks while it reads the user's folders: each folder's directory times, and the sizes in a
     * directory only when it changed since this store last added them up (Maildir files never
     * change in place); a delivery that wants to refuse mail over
     * quota ({@code 452 4.2.2} or {@code 552 5.2.2}, RFC 3463) asks this before storing.
     *
     * @throws IllegalArgumentException if {@code user} cannot name a directory here
     * @throws IOException if the directories cannot be read
     */
    public Optional<Quota> quota(String user) throws IOException {
        if (quota == 0) {
            return Optional.empty();
        }
        Path inbox = inbox(user);
        long used = 0;
        List<Path> folders = new ArrayList<>(List.of(inbox));
        if (Files.isDirectory(inbox)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(inbox, p -> p.getFileName().toString().startsWith("."))) {
                ds.forEach(folders::add);
            }
        }
        for (Path folder : folders) {
            used += bytesIn(folder.resolve("cur")) + bytesIn(folder.resolve("new"));
        }
        return Optional.of(new Quota(used, quota));
    }

    /**
     * The sizes of the files in {@code dir} added up: listed again only when the directory's time
     * changed since the last listing, or when that listing came so soon after a change that a later
     * change in the same clock tick could have left the time as it was (2 s on file systems with
     * whole-second times, 50 ms with finer ones: {@link MailFolder#racyWindowMillis}, the window its
     * rescans use). So an APPEND or a
     * delivery checking the quota stats each folder, not each message, while nothing changes.
     */
    private long bytesIn(Path dir) throws IOException {
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(dir); // before the listing: a change during it shows next time
        } catch (NoSuchFileException gone) {
            usage.remove(dir);
            return 0; // a folder not made yet holds nothing
        }
        long now = System.currentTimeMillis();
        Usage last = usage.get(dir);
        if (last != null && last.modified().equals(modified)
                && last.listedAt() - modified.toMillis() >= MailFolder.racyWindowMillis(modified)) {
            return last.bytes();
        }
        long bytes = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                try {
                    bytes += Files.size(p);
                } catch (NoSuchFileException gone) {
                    // renamed or expunged meanwhile
                }
            }
        } catch (NoSuchFileException | NotDirectoryException none) {
            usage.remove(dir);
            return 0;
        }
        usage.put(dir, new Usage(modified, now, bytes));
        return bytes;
    }

    /** The store's root directory. */
    public Path root() {
        return root;
    }

    /**
     * The Maildir of {@code user}'s inbox.
     *
     * @throws IllegalArgumentException if {@code user} could escape the root ({@code /},
     *     {@code ..}, a leading dot, control characters) or is empty
     */
    public Path inbox(String user) {
        checkName("user", user);
        return root.resolve(user);
    }

    /**
     * The Maildir of one of {@code user}'s folders: {@code ""} or {@code "INBOX"} is the inbox,
     * anything else is Maildir++'s {@code .Name} (hierarchy separated by {@code .}).
     *
     * @throws IllegalArgumentException for names that could escape the user's directory
     */
    public Path folder(String user, String folder) {
        Path inbox = inbox(user);
        if (folder.isEmpty() || folder.equalsIgnoreCase("INBOX")) {
            return inbox;
        }
        checkName("folder", folder);
        return inbox.resolve("." + folder);
    }

    /**
     * Delivers a message to {@code user}'s inbox; returns once it is durably in {@code new/}.
     *
     * @return the delivered file
     * @throws IOException if it cannot be written; nothing is then left in {@code new/}
     */
    public Path deliver(String user, InputStream message) throws IOException {
        Path box = folder(user, "");
        return woke(box, write(box, message, watches));
    }

    /**
     * Delivers a message made of {@code parts} written one after the other (an SMTP server's
     * trace headers, then the message as received) to {@code user}'s inbox; see
     * {@link #deliver(String, InputStream)}.
     */
    public Path deliver(String user, byte[]... parts) throws IOException {
        Path box = folder(user, "");
        return woke(box, store(box, ch -> {
            ByteBuffer[] bufs = new ByteBuffer[parts.length];
            long size = 0;
            for (int i = 0; i < parts.length; i++) {
                bufs[i] = ByteBuffer.wrap(parts[i]);
                size += parts[i].length;
            }
            for (long left = size; left > 0; ) {
                left -= ch.write(bufs);
            }
            return size;
        }, watches));
    }

    /**
     * Delivers the bytes between {@code message}'s position and limit to {@code user}'s inbox in
     * one write; see {@link #deliver(String, InputStream)}. The buffer's position is left as it
     * was, so one buffer can be delivered to several users.
     */
    public Path deliver(String user, ByteBuffer message) throws IOException {
        Path box = folder(user, "");
        return woke(box, store(box, ch -> {
            ByteBuffer bb = message.duplicate();
            long size = bb.remaining();
            while (bb.hasRemaining()) {
                ch.write(bb);
            }
            return size;
        }, watches));
    }

    /**
     * Wakes this process's IMAP IDLE sessions on the folder a message was just delivered into
     * (the Maildir {@code box}), before the file system's event comes; returns {@code delivered}.
     */
    private Path woke(Path box, Path delivered) {
        watches.changed(box);
        return delivered;
    }

    /**
     * Delivers {@code message} to an existing or new Maildir directory; see
     * {@link #deliver(String, InputStream)}. Wakes this process's IMAP IDLE sessions on that folder.
     */
    public static Path deliver(Path maildir, InputStream message) throws IOException {
        Path delivered = write(maildir, message, FolderWatches.shared());
        FolderWatches.shared().changed(maildir);
        return delivered;
    }

    /**
     * Delivers {@code message} into {@code maildir}'s {@code new/} without waking anyone: the
     * caller tells the sessions of {@code watches} itself, and the file system's event for the
     * new file wakes none of them.
     */
    static Path write(Path maildir, InputStream message, FolderWatches watches) throws IOException {
        return store(maildir, ch -> {
            long size = 0;
            byte[] buf = new byte[16 * 1024];
            for (int n; (n = message.read(buf)) > 0; ) {
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                size += n;
            }
            return size;
        }, watches);
    }

    /** Writes a message's bytes into an open file and returns how many it wrote. */
    private interface Content {
        long writeTo(FileChannel ch) throws IOException;
    }

    /**
     * The one delivery protocol: write to {@code tmp/}, force the data, rename into {@code new/},
     * force {@code new/}. Directories are made on the first delivery, and again if they vanished;
     * the content is read once in any case, as a stream cannot be read twice.
     */
    private static Path store(Path maildir, Content content, FolderWatches watches) throws IOException {
        Box box = prepared(maildir);
        String unique = uniqueName();
        WRITING.add(unique);
        try {
            return store(maildir, box, unique, content, watches);
        } finally {
            WRITING.remove(unique);
        }
    }

    private static Path store(Path maildir, Box box, String unique, Content content, FolderWatches watches)
            throws IOException {
        Path file = box.tmp.resolve(unique);
        FileChannel opened;
        try {
            opened = PrivateFiles.open(file, CREATE);
        } catch (NoSuchFileException e) {
            // the directories were removed behind our back since we made them: make them again
            box = prepareAgain(maildir, box);
            file = box.tmp.resolve(unique);
            opened = PrivateFiles.open(file, CREATE);
        }
        long size;
        try (FileChannel ch = opened) {
            size = content.writeTo(ch);
            // fdatasync: the data and the size needed to read it back (POSIX), not the timestamps
            DurableFiles.force(ch, file, false);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        String name = unique + ",S=" + size;
        // the caller wakes the folder's sessions in this process itself
        watches.expect(maildir, "new", name);
        try {
            try {
                box.newDir.moveIn(file, box.nu.resolve(name));
            } catch (NoSuchFileException e) {
                if (!Files.exists(file)) {
                    throw e;
                }
                // new/ was removed since we made it
                box = prepareAgain(maildir, box);
                box.newDir.moveIn(file, box.nu.resolve(name));
            }
        } catch (IOException | RuntimeException e) {
            watches.unexpect(maildir, "new", name);
            Files.deleteIfExists(file);
            throw e;
        }
        return box.nu.resolve(name);
    }

    /** The maildir's tmp/, new/ and cur/, made if this process has not seen them yet. */
    private static Box prepared(Path maildir) throws IOException {
        Box box = PREPARED.get(maildir);
        if (box != null) {
            return box;
        }
        box = new Box(maildir.resolve("tmp"), maildir.resolve("new"));
        PrivateFiles.createDirectories(box.tmp);
        PrivateFiles.createDirectories(box.nu);
        PrivateFiles.createDirectories(maildir.resolve("cur"));
        Box raced = PREPARED.putIfAbsent(maildir, box);
        if (raced != null) {
            return raced; // one group commit per directory
        }
        removeStaleTmp(maildir);
        return box;
    }

    /**
     * Deletes the files in {@code maildir/tmp/} that nobody has touched for
     * {@link #STALE_TMP} (36 hours, as the Maildir specification says): leftovers of deliveries
     * that crashed before their rename. A file a delivery of this process is still writing is
     * never touched, however old; one another process is writing has a fresh modification time.
     * Failures are logged, never thrown: cleaning is a courtesy, not part of any operation.
     *
     * @return how many files were deleted
     */
    static int removeStaleTmp(Path maildir) {
        Path tmp = maildir.resolve("tmp");
        Instant cutoff = Instant.now().minus(STALE_TMP);
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
            for (Path p : ds) {
                if (WRITING.contains(p.getFileName().toString())) {
                    continue;
                }
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    // the later of the two: a reader that opened it (atime) or a writer (mtime) is recent use
                    Instant used = a.lastModifiedTime().toInstant();
                    if (a.lastAccessTime() != null && a.lastAccessTime().toInstant().isAfter(used)) {
                        used = a.lastAccessTime().toInstant();
                    }
                    if (a.isRegularFile() && used.isBefore(cutoff) && Files.deleteIfExists(p)) {
                        removed++;
                    }
                } catch (NoSuchFileException e) {
                    // renamed into new/ or deleted meanwhile
                }
            }
        } catch (NoSuchFileException e) {
            return removed;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot clean " + tmp, e);
        }
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed " + removed + " stale file(s) from " + tmp);
        }
        return removed;
    }

    private static Box prepareAgain(Path maildir, Box stale) throws IOException {
        PREPARED.remove(maildir, stale);
        return prepared(maildir);
    }

    /** A prepared Maildir: its tmp/, and its new/ with the group commit of renames into it. */
    private static final class Box {
        final Path tmp;
        final Path nu;
        final NewDirectory newDir;

        Box(Path tmp, Path nu) {
            this.tmp = tmp;
            this.nu = nu;
            this.newDir = new NewDirectory(nu);
        }
    }

    /**
     * Whether {@code user}'s folder exists (its directory has a {@code cur/}).
     *
     * @throws IllegalArgumentException for names that could escape the user's directory
     */
    boolean exists(String user, String folder) {
        return Files.isDirectory(folder(user, folder).resolve("cur"));
    }

    /**
     * The folder with UIDs and flags, creating its directories (and the user's inbox) if missing.
     *
     * @throws IOException if the directories cannot be created
     */
    MailFolder mailbox(String user, String folder) throws IOException {
        if (!folder.isEmpty() && !folder.equalsIgnoreCase("INBOX")) {
            folderAt(inbox(user));
        }
        return folderAt(folder(user, folder));
    }

    /**
     * The folder at {@code dir}, its directories made if missing: one instance per directory, so
     * sessions on the same folder see each other's changes at once.
     */
    MailFolder folderAt(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        MailFolder.prepare(abs);
        MailFolder f = open.computeIfAbsent(abs, d -> new MailFolder(d, watches));
        f.cleanTmpIfDue();
        return f;
    }

    /** Drops the view of the folder at {@code dir}, as a restart would; for tests. */
    void forget(Path dir) {
        open.remove(dir.toAbsolutePath().normalize());
    }

    /**
     * The names of {@code user}'s folders: {@code INBOX} first, then every Maildir++ {@code .Name}
     * directory, sorted. Hierarchy levels are separated by {@code .}.
     */
    List<String> folders(String user) throws IOException {
        Path inbox = inbox(user);
        List<String> names = new ArrayList<>();
        names.add("INBOX");
        if (!Files.isDirectory(inbox)) {
            return names;
        }
        List<String> rest = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(inbox)) {
            for (Path p : ds) {
                String fn = p.getFileName().toString();
                if (fn.length() > 1 && fn.startsWith(".") && !fn.startsWith("..") && Files.isDirectory(p.resolve("cur"))) {
                    rest.add(fn.substring(1));
                }
            }
        }
        Collections.sort(rest);
        names.addAll(rest);
        return names;
    }

    /**
     * Creates a folder.
     *
     * @return false if it already existed
     */
    boolean createFolder(String user, String folder) throws IOException {
        if (exists(user, folder)) {
            return false;
        }
        mailbox(user, folder);
        return true;
    }

    /**
     * Deletes a folder and its messages (not the inbox; Maildir++ sub-folders are separate
     * directories and stay).
     *
     * @return false if it did not exist
     * @throws IllegalArgumentException for the inbox
     */
    boolean deleteFolder(String user, String folder) throws IOException {
        if (folder.equalsIgnoreCase("INBOX") || folder.isEmpty()) {
            throw new IllegalArgumentException("the inbox cannot be deleted");
        }
        Path dir = folder(user, folder);
        if (!Files.isDirectory(dir.resolve("cur"))) {
            return false;
        }
        // rename first so no reader sees a half-deleted folder, then remove the files
        Path trash = inbox(user).resolve("..deleted-" + uniqueName());
        Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(inbox(user));
        forget(dir);
        deleteTree(trash);
        return true;
    }

    /**
     * Renames a folder and the folders below it ({@code A} to {@code B} also moves {@code A.x} to
     * {@code B.x}), as RFC 3501 §6.3.5 asks.
     *
     * @return false if {@code from} does not exist or {@code to} does
     * @throws IllegalArgumentException for the inbox or bad names
     */
    boolean renameFolder(String user, String from, String to) throws IOException {
        if (from.equalsIgnoreCase("INBOX") || to.equalsIgnoreCase("INBOX")) {
            throw new IllegalArgumentException("the inbox cannot be renamed here");
        }
        if (!exists(user, from) || exists(user, to)) {
            return false;
        }
        for (String name : folders(user)) {
            if (name.startsWith(from + ".")) {
                Files.move(folder(user, name), folder(user, to + name.substring(from.length())),
                        StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.move(folder(user, from), folder(user, to), StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(inbox(user));
        // the views of the old names would find their directories gone
        Path home = inbox(user).toAbsolutePath().normalize();
        open.keySet().removeIf(p -> home.equals(p.getParent())
                && (p.getFileName().toString().equals("." + from) || p.getFileName().toString().startsWith("." + from + ".")));
        return true;
    }

    /** The folders {@code user} subscribed to (Maildir++'s {@code subscriptions} file). */
    List<String> subscriptions(String user) throws IOException {
        Path f = inbox(user).resolve("subscriptions");
        if (!Files.exists(f)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                out.add(line.strip());
            }
        }
        return out;
    }

    /** Adds or removes a subscription; the file is replaced atomically (temp, fsync, rename). */
    void subscribe(String user, String folder, boolean subscribed) throws IOException {
        SUBSCRIPTIONS.lock();
        try {
            writeSubscription(user, folder, subscribed);
        } finally {
            SUBSCRIPTIONS.unlock();
        }
    }

    private void writeSubscription(String user, String folder, boolean subscribed) throws IOException {
        LinkedHashSet<String> names = new LinkedHashSet<>(subscriptions(user));
        boolean changed = subscribed ? names.add(folder) : names.remove(folder);
        if (!changed) {
            return;
        }
        Path dir = inbox(user);
        PrivateFiles.createDirectories(dir);
        StringBuilder sb = new StringBuilder();
        names.forEach(n -> sb.append(n).append('\n'));
        DurableFiles.replacePrivate(dir.resolve("subscriptions"), sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void deleteTree(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Forces a directory's entries (a rename into it) to disk: {@link DurableFiles#forceDirectory}. */
    public static void forceDirectory(Path dir) throws IOException {
        DurableFiles.forceDirectory(dir);
    }

    /** A new Maildir unique name (without the {@code ,S=} size or {@code :2,} flags). */
    public static String uniqueName() {
        // strictly increasing within the process, so that name order is arrival order
        Instant t = Instant.now();
        long wall = t.getEpochSecond() * 1_000_000 + t.getNano() / 1000;
        long now = LAST_MICROS.updateAndGet(prev -> Math.max(prev + 1, wall));
        return (now / 1_000_000) + ".M" + (now % 1_000_000) + "P" + PID + "Q" + COUNTER.incrementAndGet() + "." + HOST;
    }

    private static void checkName(String what, String name) {
        if (name == null || name.isEmpty() || name.startsWith(".") || name.contains("/") || name.contains("\\")
                || name.contains("..") || hasControl(name)) {
            throw new IllegalArgumentException("bad " + what + " name for a Maildir: '" + name + "'");
        }
    }

    private static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    private static String hostName() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            h = "localhost";
        }
        // the Maildir spec's escapes for the two characters that would break a file name
        return h.replace("/", "\\057").replace(":", "\\072");
    }
}

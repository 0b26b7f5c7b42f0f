package dev.twine.mail.maildir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

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
 * <p>File names follow the Maildir convention {@code <secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>}
 * (the {@code ,S=} part is Maildir++'s size, which lets readers skip a stat).
 */
public final class Maildir {
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final String HOST = hostName();
    private static final long PID = ProcessHandle.current().pid();

    private final Path root;

    private Maildir(Path root) {
        this.root = root;
    }

    /** The store under {@code root} (created on first delivery). */
    public static Maildir open(Path root) {
        return new Maildir(Objects.requireNonNull(root, "root").toAbsolutePath());
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
        return deliver(folder(user, ""), message);
    }

    /** Delivers {@code message} to an existing or new Maildir directory; see {@link #deliver(String, InputStream)}. */
    public static Path deliver(Path maildir, InputStream message) throws IOException {
        Path tmp = maildir.resolve("tmp");
        Path nu = maildir.resolve("new");
        Files.createDirectories(tmp);
        Files.createDirectories(nu);
        Files.createDirectories(maildir.resolve("cur"));
        String unique = uniqueName();
        Path file = tmp.resolve(unique);
        long size = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[16 * 1024];
            for (int n; (n = message.read(buf)) > 0; ) {
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                size += n;
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        Path target = nu.resolve(unique + ",S=" + size);
        try {
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(file);
            throw new IOException(maildir + ": tmp/ and new/ are on different file systems", e);
        }
        forceDirectory(nu);
        return target;
    }

    /** Forces a directory's entries (a rename into it) to disk. */
    public static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** A new Maildir unique name (without the {@code ,S=} size or {@code :2,} flags). */
    public static String uniqueName() {
        long now = System.currentTimeMillis() * 1000 + (System.nanoTime() / 1000) % 1000;
        return (now / 1_000_000) + ".M" + (now % 1_000_000) + "P" + PID + "Q" + COUNTER.incrementAndGet() + "." + HOST;
    }

    private static void checkName(String what, String name) {
        if (name == null || name.isEmpty() || name.startsWith(".") || name.contains("/") || name.contains("\\")
                || name.contains("..") || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("bad " + what + " name for a Maildir: '" + name + "'");
        }
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

package dev.twine.mail.sieve;

import dev.twine.core.DurableFiles;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Each user's Sieve scripts, kept as Dovecot Pigeonhole keeps them so that both (and its
 * {@code sieve-test}, {@code sievec}) can share them, and the {@link SieveFilter} that runs the
 * active one at delivery.
 *
 * <h2>On disk</h2>
 * A user's home is their Maildir ({@code MAILDIR/<user>}, which also holds {@code cur/},
 * {@code new/}, {@code tmp/} and the {@code .Folder}s), the closest equivalent here of
 * Pigeonhole's {@code ~} with {@code sieve = file:~/sieve;active=~/.dovecot.sieve}:
 * <ul>
 * <li>{@code <home>/sieve/NAME.sieve}: the scripts, one file each (UTF-8);</li>
 * <li>{@code <home>/.dovecot.sieve}: a symbolic link to {@code sieve/NAME.sieve} names the active
 *     script; no link, no filtering. A regular file there is used as the active script too (as
 *     Pigeonhole does), and is moved into the scripts as {@code dovecot.orig} when another
 *     script is activated;</li>
 * <li>{@code <home>/.dovecot.sieve.log}: what went wrong with the active script at delivery
 *     (Pigeonhole's per-user log), cut back when it passes 64 KiB; only with
 *     {@link Builder#userLog(boolean)}.</li>
 * </ul>
 * Dovecot configured with {@code mail_location = maildir:/srv/mail/%u} and
 * {@code sieve = file:/srv/mail/%u/sieve;active=/srv/mail/%u/.dovecot.sieve} sees the same.
 * Writes are durable when the methods return (the script written to a temporary file, forced,
 * renamed; the link replaced by a rename).
 *
 * <pre>{@code
 * SieveScripts scripts = SieveScripts.builder().maildir(maildir).userLog(true).build();
 * scripts.put("alice", "lists", "require \"fileinto\"; fileinto :create \"Lists\";");
 * scripts.activate("alice", "lists");
 * MaildirDelivery local = MaildirDelivery.builder().domain("example.org").maildir(maildir)
 *         .users(users).sieve(scripts).outbound(queue).build();
 * }</pre>
 *
 * <h2>At delivery</h2>
 * {@link #filter} parses the active script once and keeps it while the file's modification time
 * and size stay the same. A script that does not parse, and a run-time error, are logged (logger
 * {@code dev.twine.mail.sieve.SieveScripts}, and the user log) and the message is kept in INBOX.
 *
 * <h2>Error handling</h2>
 * The storage methods throw {@link IllegalArgumentException} for a name that cannot be a script
 * name ({@link #checkName}), {@link NoSuchFileException} for a script that is not there,
 * {@link SieveException} for a script that does not parse (nothing is then written), and
 * {@link IOException} when the disk fails. Safe for concurrent use.
 */
public final class SieveScripts implements SieveFilter, SieveScriptStore {
    private static final System.Logger LOG = System.getLogger(SieveScripts.class.getName());
    /** The active-script link, as Pigeonhole names it. */
    static final String ACTIVE = ".dovecot.sieve";
    static final String DIRECTORY = "sieve";
    static final String SUFFIX = ".sieve";
    private static final long LOG_LIMIT = 64 * 1024;

    private final Function<String, Path> home;
    private final boolean userLog;
    private final int maxSize;
    private final Clock clock;
    private final ConcurrentHashMap<Path, Compiled> cache = new ConcurrentHashMap<>();

    /** A parsed script, or why it did not parse, for the file as it was at {@code modified}. */
    private record Compiled(FileTime modified, long size, SieveScript script, SieveException error) {}

    private SieveScripts(Builder b) {
        this.home = b.home;
        this.userLog = b.userLog;
        this.maxSize = b.maxSize;
        this.clock = b.clock;
    }

    /** A builder; {@link Builder#maildir} (or {@link Builder#home}) is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether {@code name} may name a script: 1 to 128 characters, none a control character,
     * {@code /} or {@code \}, not starting with a dot (RFC 5804 §1.6 allows more; these are what a
     * file name can carry safely).
     *
     * @param name the script name
     * @throws IllegalArgumentException saying what is wrong
     */
    public static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > 128) {
            throw new IllegalArgumentException("a script name has 1 to 128 characters");
        }
        if (name.startsWith(".")) {
            throw new IllegalArgumentException("a script name does not start with a dot");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '/' || c == '\\' || c == 0x2028 || c == 0x2029) {
                throw new IllegalArgumentException("a script name holds no control character, / or \\");
            }
        }
    }

    /**
     * The largest script {@link #put} takes, in octets.
     *
     * @return the limit
     */
    @Override
    public int maxSize() {
        return maxSize;
    }

    /**
     * The names of {@code user}'s scripts, sorted. Blocks while it lists the directory.
     *
     * @param user the user
     * @return the names, without {@code .sieve}
     * @throws IOException if the directory cannot be read
     */
    @Override
    public List<String> names(String user) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(directory(user), "*" + SUFFIX)) {
            for (Path p : ds) {
                String f = p.getFileName().toString();
                String name = f.substring(0, f.length() - SUFFIX.length());
                if (!name.isEmpty() && !name.startsWith(".") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(name);
                }
            }
        } catch (NoSuchFileException none) {
            // no script yet
        }
        out.sort(null);
        return out;
    }

    /**
     * The name of {@code user}'s active script, if the active link points at one of the scripts.
     *
     * @param user the user
     * @return the name, or empty when no script (or a regular file not in the scripts) is active
     * @throws IOException if the link cannot be read
     */
    @Override
    public Optional<String> active(String user) throws IOException {
        Path link = home(user).resolve(ACTIVE);
        if (!Files.isSymbolicLink(link)) {
            return Optional.empty();
        }
        Path target = Files.readSymbolicLink(link);
        String f = target.getFileName() == null ? "" : target.getFileName().toString();
        Path parent = target.getParent();
        if (parent == null || !parent.toString().equals(DIRECTORY) || !f.endsWith(SUFFIX)) {
            return Optional.empty(); // a link somewhere else: not one of ours to name
        }
        String name = f.substring(0, f.length() - SUFFIX.length());
        return Files.isRegularFile(link) ? Optional.of(name) : Optional.empty();
    }

    /**
     * A script's text.
     *
     * @param user the user
     * @param name the script
     * @return the text
     * @throws NoSuchFileException if there is no such script
     * @throws IOException if it cannot be read
     */
    @Override
    public String read(String user, String name) throws IOException {
        return Files.readString(file(user, name), StandardCharsets.UTF_8);
    }

    /**
     * Checks {@code text} as a script ({@link SieveScript#parse}) and stores it as {@code name},
     * replacing a script of that name (the active one too, which is then used from the next
     * delivery). Durable when it returns.
     *
     * @param user the user
     * @param name the script name
     * @param text the script
     * @throws SieveException naming the line of the first problem; nothing is written
     * @throws IllegalArgumentException for a bad name, or a script over {@link #maxSize()}
     * @throws IOException if it cannot be written
     */
    @Override
    public void put(String user, String name, String text) throws IOException, SieveException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > maxSize) {
            throw new IllegalArgumentException("a script is at most " + maxSize + " octets");
        }
        SieveScript.parse(text);
        Path file = file(user, name);
        if (!Files.isDirectory(file.getParent())) {
            Files.createDirectories(file.getParent().getParent());
            try {
                // only its owner reads a user's filters, as the Maildir's own directories (0700)
                Files.createDirectory(file.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException notPosix) {
                Files.createDirectories(file.getParent());
            } catch (FileAlreadyExistsException raced) {
                // made by another upload meanwhile
            }
        }
        DurableFiles.replacePrivate(file, bytes);
    }

    /**
     * Makes {@code name} the active script, or with an empty name makes none active (RFC 5804
     * §2.8). The link is replaced by a rename, so a delivery sees the old script or the new.
     *
     * @param user the user
     * @param name the script, or {@code ""}
     * @throws NoSuchFileException if there is no such script
     * @throws IOException if the link cannot be changed
     */
    @Override
    public void activate(String user, String name) throws IOException {
        Path home = home(user);
        Path link = home.resolve(ACTIVE);
        if (name.isEmpty()) {
            Files.deleteIfExists(link);
            DurableFiles.forceDirectory(home);
            return;
        }
        Path file = file(user, name);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(name);
        }
        if (Files.isRegularFile(link, LinkOption.NOFOLLOW_LINKS)) {
            // Pigeonhole's habit: a hand-made active file is kept among the scripts, not lost
            Path orig = file(user, "dovecot.orig");
            Files.move(link, orig, StandardCopyOption.REPLACE_EXISTING);
        }
        Path temp = home.resolve(ACTIVE + ".tmp-" + Long.toHexString(System.nanoTime()));
        Files.createSymbolicLink(temp, Path.of(DIRECTORY, name + SUFFIX));
        try {
            Files.move(temp, link, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
        DurableFiles.forceDirectory(home);
    }

    /**
     * Deletes a script that is not the active one (RFC 5804 §2.10).
     *
     * @param user the user
     * @param name the script
     * @throws IllegalStateException if it is the active script
     * @throws NoSuchFileException if there is no such script
     * @throws IOException if it cannot be deleted
     */
    @Override
    public void delete(String user, String name) throws IOException {
        Path file = file(user, name);
        if (active(user).filter(name::equals).isPresent()) {
            throw new IllegalStateException("the active script cannot be deleted");
        }
        Files.delete(file);
        DurableFiles.forceDirectory(file.getParent());
    }

    /**
     * Renames a script; the active one stays active under its new name (RFC 5804 §2.11.1).
     *
     * @param user the user
     * @param from the script
     * @param to its new name
     * @throws NoSuchFileException if there is no script {@code from}
     * @throws FileAlreadyExistsException if there is a script {@code to}
     * @throws IOException if it cannot be renamed
     */
    @Override
    public void rename(String user, String from, String to) throws IOException {
        Path source = file(user, from);
        Path target = file(user, to);
        if (!Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(from);
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(to);
        }
        boolean wasActive = active(user).filter(from::equals).isPresent();
        // a hard link then an unlink: never a moment without the script, and never over another
        Files.createLink(target, source);
        if (wasActive) {
            activate(user, to);
        }
        Files.delete(source);
        DurableFiles.forceDirectory(source.getParent());
    }

    /**
     * The octets {@code user}'s scripts take, for a quota (RFC 5804 §2.3).
     *
     * @param user the user
     * @return the sum of the scripts' sizes
     * @throws IOException if they cannot be listed
     */
    @Override
    public long used(String user) throws IOException {
        long used = 0;
        for (String name : names(user)) {
            try {
                used += Files.size(file(user, name));
            } catch (NoSuchFileException gone) {
                // deleted meanwhile
            }
        }
        return used;
    }

    /**
     * Runs {@code user}'s active script on {@code message}. Never throws for the script's faults:
     * a script that does not parse or fails when run is logged and the message kept
     * ({@link SieveFilter#KEEP}).
     *
     * @throws IOException if the active script cannot be read (the deliverer keeps the message)
     */
    @Override
    public List<SieveAction> filter(String user, SieveMessage message) throws IOException {
        Path link = home(user).resolve(ACTIVE);
        Path file;
        BasicFileAttributes attrs;
        try {
            file = link.toRealPath();
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException none) {
            return KEEP; // no active script (or a dangling link): the implicit keep
        }
        if (!attrs.isRegularFile()) {
            return KEEP;
        }
        Compiled c = cache.get(file);
        if (c == null || !c.modified.equals(attrs.lastModifiedTime()) || c.size != attrs.size()) {
            c = compile(file, attrs);
            cache.put(file, c);
        }
        if (c.error != null) {
            problem(user, link, "cannot use the active script: " + c.error.getMessage());
            return KEEP;
        }
        try {
            return c.script.evaluate(message, clock);
        } catch (SieveException e) {
            problem(user, link, "run-time error, message kept in INBOX: " + e.getMessage());
            return KEEP;
        }
    }

    private Compiled compile(Path file, BasicFileAttributes attrs) throws IOException {
        if (attrs.size() > maxSize) {
            return new Compiled(attrs.lastModifiedTime(), attrs.size(), null,
                    new SieveException(1, "the script is larger than " + maxSize + " octets"));
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            return new Compiled(attrs.lastModifiedTime(), attrs.size(), null, new SieveException(1, "the script is not UTF-8"));
        }
        try {
            return new Compiled(attrs.lastModifiedTime(), attrs.size(), SieveScript.parse(text), null);
        } catch (SieveException e) {
            return new Compiled(attrs.lastModifiedTime(), attrs.size(), null, e);
        }
    }

    /** One log line, and a line in the user's log beside the script when asked for. */
    private void problem(String user, Path link, String what) {
        LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": " + what);
        if (!userLog) {
            return;
        }
        Path log = link.resolveSibling(ACTIVE + ".log");
        try {
            if (Files.size(log) > LOG_LIMIT) {
                Files.move(log, link.resolveSibling(ACTIVE + ".log.0"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (NoSuchFileException none) {
            // first problem
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "sieve: cannot rotate " + log + ": " + e);
        }
        try {
            Files.writeString(log, Instant.now() + " " + what + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "sieve: cannot write " + log + ": " + e);
        }
    }

    private Path home(String user) {
        return home.apply(user);
    }

    private Path directory(String user) {
        return home(user).resolve(DIRECTORY);
    }

    private Path file(String user, String name) {
        checkName(name);
        return directory(user).resolve(name + SUFFIX);
    }

    /** Configuration for {@link SieveScripts}. */
    public static final class Builder {
        private Function<String, Path> home;
        private boolean userLog;
        private int maxSize = 1 << 20;
        private Clock clock = Clock.systemDefaultZone();

        private Builder() {}

        /**
         * The clock the scripts run by: {@code currentdate}'s "now" and the local zone of the date
         * extension (RFC 5260, see {@link SieveScript#evaluate(SieveMessage, Clock)}); the system
         * clock and zone by default (tests: a fixed one).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Keeps each user's scripts in their Maildir ({@link Maildir#inbox(String)}), as the class
         * describes.
         *
         * @param maildir the store
         * @return this builder
         */
        public Builder maildir(Maildir maildir) {
            Objects.requireNonNull(maildir, "maildir");
            this.home = maildir::inbox;
            return this;
        }

        /**
         * Where each user's home is, for a layout of one's own (it must not let a user name escape
         * it: {@link Maildir#inbox(String)} refuses such names).
         *
         * @param home the user's home directory, from the user name
         * @return this builder
         */
        public Builder home(Function<String, Path> home) {
            this.home = Objects.requireNonNull(home, "home");
            return this;
        }

        /**
         * Whether problems with a user's active script are also written to
         * {@code .dovecot.sieve.log} in their home, for them to read; off by default.
         *
         * @param on whether to write it
         * @return this builder
         */
        public Builder userLog(boolean on) {
            this.userLog = on;
            return this;
        }

        /**
         * The largest script, in octets (1 MiB by default); a larger active script is not run.
         *
         * @param octets the limit, at least 1
         * @return this builder
         */
        public Builder maxSize(int octets) {
            if (octets < 1) {
                throw new IllegalArgumentException("maxSize must be positive: " + octets);
            }
            this.maxSize = octets;
            return this;
        }

        /**
         * Builds the scripts.
         *
         * @return the scripts
         * @throws IllegalStateException if neither maildir(...) nor home(...) was given
         */
        public SieveScripts build() {
            if (home == null) {
                throw new IllegalStateException("maildir(...) is required");
            }
            return new SieveScripts(this);
        }
    }
}

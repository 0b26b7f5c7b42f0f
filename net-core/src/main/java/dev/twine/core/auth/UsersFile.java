package dev.twine.core.auth;

import dev.twine.core.internal.Durable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user database in Dovecot's passwd-file format, so that Dovecot and Twine can share it.
 *
 * <h2>Format</h2>
 * UTF-8 text, one user per line, LF or CRLF line ends:
 * <pre>
 * # comment
 * name:{SCHEME}secret:uid:gid:gecos:home:shell:extra_fields
 * </pre>
 * Fields are separated by {@code :}; only the first two matter to Twine and everything after the
 * second field is kept byte for byte when Twine rewrites a line. Empty lines, lines of blanks and
 * lines starting with {@code #} or {@code :} are skipped, as Dovecot does. A line with a name and no
 * password field is a user who cannot log in with a password. Schemes, matched ignoring case:
 * <ul>
 *   <li>{@code {PLAIN}password} (also {@code {CLEAR}}, {@code {CLEARTEXT}}), and a password
 *       without a {@code {SCHEME}} prefix, which Twine reads as plain (Dovecot's default scheme is
 *       configurable; Twine has no such setting). A plain password cannot contain {@code :}.</li>
 *   <li>{@code {SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey} with the last three in
 *       base64, the layout {@code doveadm pw -s SCRAM-SHA-256} prints, and the same for
 *       {@code {SCRAM-SHA-1}} (20-byte keys). As in Dovecot, at least 4096 iterations.</li>
 * </ul>
 * SCRAM keys serve one hash only, and XMPP clients need SCRAM-SHA-1 (RFC 6120 §13.8) while mail
 * clients prefer SCRAM-SHA-256. So a user may also carry SCRAM-SHA-1 keys in the extra fields
 * (the eighth field, space-separated {@code key=value} pairs, which Dovecot passes on and
 * otherwise ignores): {@code scram_sha1=iterations,salt,StoredKey,ServerKey}. Twine writes both:
 * <pre>
 * alice:{SCRAM-SHA-256}4096,c2FsdA==,...::::::scram_sha1=4096,c2FsdDI=,...
 * </pre>
 * {@link #find(String)} returns the password field's secret; {@link #secrets(String)} returns it
 * and the SCRAM-SHA-1 keys.
 * Any other scheme ({@code {SHA512-CRYPT}}, {@code {BLF-CRYPT}}, ...), a bare {@code crypt(3)} hash
 * such as {@code $6$...} (Dovecot would read it as MD5-CRYPT or CRYPT, Twine would otherwise take it
 * for a plain password), a malformed SCRAM entry, a line that is not UTF-8 and a user name that
 * appears twice are errors: loading fails with a {@link UsersFileException} naming the file and
 * line.
 *
 * <h2>Reloading</h2>
 * {@link #find(String)} compares the file's modification time, size and file key (inode) with
 * those of the version it has loaded, one {@code stat} per lookup, and reloads when they differ, so
 * {@code ./twine user add} takes effect in running servers without a restart. If the changed file
 * cannot be read or has an error, the previous version stays in use and one warning is logged
 * through {@link System.Logger}; {@link #reload()} reports such errors to the caller instead.
 * Lookups are served from an immutable snapshot that a reload replaces atomically, so any number of
 * virtual threads may call {@code find} at once; one of them re-reads a changed file while the
 * others wait for it.
 *
 * <h2>Writing</h2>
 * {@link #addUser}, {@link #changePassword} and {@link #removeUser} read the file, change one line,
 * write the result to a temporary file in the same directory, {@code fsync} it, rename it over the
 * original atomically and then {@code fsync} the directory where the platform allows it. Other
 * lines, comments included, are kept byte for byte. A reader therefore sees the old file or the new
 * one, never a mix, and a crash leaves one of the two. A new file is created with mode 0600 on POSIX
 * file systems; a rewritten one keeps the original's permission bits (and, when the process may
 * change them, its owner and group). If the file is a symbolic link, the file it points to is
 * replaced. Writers in one JVM are serialized; a writer in another process that changes the file
 * between this one's read and rename is detected by the same stamp comparison, and the update is
 * redone from the new content, up to three times.
 *
 * <p>New passwords are stored as {@code {SCRAM-SHA-256}} plus {@code scram_sha1=} keys, each
 * with its own random 16-byte salt and 4096 iterations: the minimum RFC 7677 §4 asks for and the count Dovecot generates by default. More
 * would protect a stolen file better, but Twine computes the same derivation on every PLAIN login
 * attempt, including attempts for unknown users, so the count sets how much CPU an unauthenticated
 * client can make the server spend; the file is protected by its 0600 mode instead.
 */
public final class UsersFile implements UserStore {

    private static final System.Logger LOG = System.getLogger(UsersFile.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Map<Path, ReentrantLock> WRITE_LOCKS = new ConcurrentHashMap<>();
    private static final Pattern CRYPT_HASH = Pattern.compile("\\$[0-9A-Za-z]{1,3}\\$.*");
    private static final int MIN_ITERATIONS = 4096;
    private static final int WRITE_ATTEMPTS = 3;
    /** The extra field that holds a user's SCRAM-SHA-1 keys. */
    private static final String SCRAM_SHA1_FIELD = "scram_sha1=";
    private static final Pattern SCRAM_SHA1_TOKEN = Pattern.compile("(?:^| )(" + SCRAM_SHA1_FIELD + "[^ ]*)");

    private final Path path;
    private final ReentrantLock reloadLock = new ReentrantLock();
    private final AtomicReference<Snapshot> current;
    /** The stamp of a changed version that failed to load, so it is not re-read on every lookup. */
    private volatile Stamp rejected;
    /** The last problem logged, so a persistent problem is logged once. */
    private volatile String lastProblem;

    private UsersFile(Path path, Snapshot snapshot) {
        this.path = path;
        this.current = new AtomicReference<>(snapshot);
    }

    /**
     * Loads a users file. Blocks while reading it.
     *
     * @param file the file
     * @return the loaded users, reloading themselves when the file changes
     * @throws UsersFileException if a line is invalid; its message names the file and line
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if the file cannot be read
     */
    public static UsersFile load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return new UsersFile(file, read(file));
    }

    /**
     * The file this database was loaded from.
     *
     * @return the path as given to {@link #load(Path)}
     */
    public Path path() {
        return path;
    }

    /**
     * Finds a user's stored secret, first reloading the file if it has changed (see the class
     * description). Blocks for one {@code stat}, and for a re-read when the file has changed; never
     * throws for I/O or format problems, which are logged.
     *
     * @param username the exact user name (case-sensitive, as in Dovecot)
     * @return the secret, or empty if there is no such user or the user has no password field
     */
    @Override
    public Optional<StoredSecret> find(String username) {
        return secrets(username).stream().findFirst();
    }

    /**
     * Finds a user's secrets as {@link #find(String)} does: the password field's secret first,
     * then the {@code scram_sha1=} keys if the line has them.
     *
     * @param username the exact user name (case-sensitive, as in Dovecot)
     * @return the secrets, empty if there is no such user or the user has no password field
     */
    @Override
    public List<StoredSecret> secrets(String username) {
        Objects.requireNonNull(username, "username");
        refreshIfChanged();
        return current.get().secrets().getOrDefault(username, List.of());
    }

    /**
     * Reads the file again now, whether or not it has changed. Blocks while reading. On failure
     * the previous version stays in use.
     *
     * @throws UsersFileException if a line is invalid
     * @throws IOException if the file cannot be read
     */
    public void reload() throws IOException {
        reloadLock.lock();
        try {
            current.set(read(path));
            rejected = null;
            lastProblem = null;
        } finally {
            reloadLock.unlock();
        }
    }

    /**
     * Adds a user with new {@code {SCRAM-SHA-256}} and {@code scram_sha1=} keys (each with a
     * random 16-byte salt, 4096 iterations), creating the file with mode 0600 if it does not exist. The new line is appended;
     * all other bytes stay as they were. Blocks for the key derivation and the write.
     *
     * @param file the users file
     * @param name the new user's name: not empty, no {@code :}, white space, control characters,
     *     {@code /} or {@code \}, not starting with {@code #}, not {@code .} or {@code ..} (it also
     *     names the user's mail directory)
     * @param password the password; not kept, and not cleared either (that is the caller's choice)
     * @throws IllegalArgumentException if the user already exists, or the name or password is not
     *     acceptable (an empty password, or one with characters SASLprep prohibits)
     * @throws UsersFileException if the existing file has an invalid line; nothing is written
     * @throws IOException if the file cannot be read or written
     */
    public static void addUser(Path file, String name, char[] password) throws IOException {
        Objects.requireNonNull(file, "file");
        checkName(name);
        byte[] line = Line.format(name, newSecrets(password));
        update(file, true, parsed -> {
            if (parsed.users().containsKey(name)) {
                throw new IllegalArgumentException("user " + name + " already exists in " + file);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Line l : parsed.lines()) {
                out.writeBytes(l.raw());
            }
            byte[] eol = parsed.lineEnding();
            List<Line> lines = parsed.lines();
            if (!lines.isEmpty() && !lines.get(lines.size() - 1).terminated()) {
                Line last = lines.get(lines.size() - 1);
                // The reader took a CR at the very end for the last line's end, as Dovecot does:
                // complete it to CRLF, or the CR would become part of that line's content.
                out.writeBytes(last.raw().length > last.contentLength() ? new byte[] {'\n'} : eol);
            }
            out.writeBytes(line);
            out.writeBytes(eol);
            return out.toByteArray();
        });
    }

    /**
     * Replaces a user's password with new {@code {SCRAM-SHA-256}} and {@code scram_sha1=} keys.
     * Only the password field and the {@code scram_sha1=} extra field of that user's line change;
     * its other fields and all other lines stay byte for byte.
     * Blocks for the key derivation and the write.
     *
     * @param file the users file
     * @param name the user's name
     * @param password the new password; not kept, not cleared
     * @throws IllegalArgumentException if there is no such user or the password is not acceptable
     * @throws UsersFileException if the file has an invalid line; nothing is written
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if the file cannot be read or written
     */
    public static void changePassword(Path file, String name, char[] password) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(name, "name");
        List<StoredSecret.Scram> secrets = newSecrets(password);
        update(file, false, parsed -> {
            Line target = parsed.users().get(name);
            if (target == null) {
                throw new IllegalArgumentException("no user " + name + " in " + file);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Line l : parsed.lines()) {
                out.writeBytes(l == target ? l.withSecrets(secrets) : l.raw());
            }
            return out.toByteArray();
        });
    }

    /**
     * Removes a user's line. All other lines stay byte for byte. Blocks for the write.
     *
     * @param file the users file
     * @param name the user's name
     * @throws IllegalArgumentException if there is no such user
     * @throws UsersFileException if the file has an invalid line; nothing is written
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if the file cannot be read or written
     */
    public static void removeUser(Path file, String name) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(name, "name");
        update(file, false, parsed -> {
            Line target = parsed.users().get(name);
            if (target == null) {
                throw new IllegalArgumentException("no user " + name + " in " + file);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Line l : parsed.lines()) {
                if (l != target) {
                    out.writeBytes(l.raw());
                }
            }
            return out.toByteArray();
        });
    }

    /**
     * Describes this database by its path.
     *
     * @return {@code UsersFile[PATH]}
     */
    @Override
    public String toString() {
        return "UsersFile[" + path + "]";
    }

    // ---------------------------------------------------------------- reading

    /** Which version of the file a snapshot was read from. */
    private record Stamp(FileTime modified, long size, Object fileKey) {
    }

    private record Snapshot(Stamp stamp, Map<String, List<StoredSecret>> secrets) {
    }

    /**
     * One line with its terminator; {@code user} is null for comments and blank lines, and
     * {@code secrets} empty for them and for users without a password field.
     */
    private record Line(int number, byte[] raw, int contentLength, String user, List<StoredSecret> secrets) {

        /** The field after {@code shell}: Dovecot's space-separated extra fields. */
        private static final int EXTRA_FIELDS = 7;

        boolean terminated() {
            return raw.length > 0 && raw[raw.length - 1] == '\n';
        }

        /** A new user's line, without its terminator: name, password field, SHA-1 extra field. */
        static byte[] format(String name, List<StoredSecret.Scram> secrets) {
            String[] fields = {name, "", "", "", "", "", "", ""};
            fields[1] = formatScram(secrets.get(0));
            fields[EXTRA_FIELDS] = SCRAM_SHA1_FIELD + formatKeys(secrets.get(1));
            return String.join(":", fields).getBytes(StandardCharsets.UTF_8);
        }

        /**
         * This line with its password field and its {@code scram_sha1=} extra field replaced,
         * every other field kept as it was. The content was checked to be UTF-8 when it was
         * read, so decoding and encoding it again gives the same bytes.
         */
        byte[] withSecrets(List<StoredSecret.Scram> secrets) {
            String content = new String(raw, 0, contentLength, StandardCharsets.UTF_8);
            List<String> fields = new ArrayList<>(Arrays.asList(content.split(":", EXTRA_FIELDS + 1)));
            while (fields.size() <= EXTRA_FIELDS) {
                fields.add("");
            }
            fields.set(1, formatScram(secrets.get(0)));
            String extra = fields.get(EXTRA_FIELDS);
            String sha1 = SCRAM_SHA1_FIELD + formatKeys(secrets.get(1));
            Matcher old = SCRAM_SHA1_TOKEN.matcher(extra);
            if (old.find()) {
                extra = extra.substring(0, old.start(1)) + sha1 + extra.substring(old.end(1));
            } else {
                extra = extra.isEmpty() ? sha1 : extra + " " + sha1;
            }
            fields.set(EXTRA_FIELDS, extra);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(String.join(":", fields).getBytes(StandardCharsets.UTF_8));
            out.write(raw, contentLength, raw.length - contentLength);
            return out.toByteArray();
        }
    }

    private record Parsed(List<Line> lines, Map<String, Line> users, Map<String, List<StoredSecret>> secrets) {

        /** CRLF if the file's first line ends so, else LF. */
        byte[] lineEnding() {
            for (Line l : lines) {
                if (l.terminated()) {
                    boolean crlf = l.raw().length >= 2 && l.raw()[l.raw().length - 2] == '\r';
                    return crlf ? new byte[] {'\r', '\n'} : new byte[] {'\n'};
                }
            }
            return new byte[] {'\n'};
        }
    }

    private void refreshIfChanged() {
        Stamp now;
        try {
            now = stamp(path);
        } catch (IOException e) {
            problem("cannot stat " + path + ", still using the version loaded before: " + e);
            return;
        }
        if (now.equals(current.get().stamp()) || now.equals(rejected)) {
            return;
        }
        reloadLock.lock();
        try {
            // Another thread may have reloaded while this one waited.
            if (now.equals(current.get().stamp()) || now.equals(rejected)) {
                return;
            }
            try {
                current.set(read(path));
                lastProblem = null;
            } catch (IOException e) {
                rejected = now;
                problem(e.getMessage() + " (still using the version loaded before)");
            }
        } finally {
            reloadLock.unlock();
        }
    }

    private void problem(String message) {
        if (!message.equals(lastProblem)) {
            lastProblem = message;
            LOG.log(System.Logger.Level.WARNING, message);
        }
    }

    private static Snapshot read(Path file) throws IOException {
        // Stamp first: if the file changes while it is read, the next lookup sees a newer stamp
        // and reads it again.
        Stamp stamp = stamp(file);
        byte[] bytes = Files.readAllBytes(file);
        return new Snapshot(stamp, parse(file, bytes).secrets());
    }

    private static Stamp stamp(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return new Stamp(a.lastModifiedTime(), a.size(), a.fileKey());
    }

    private static Parsed parse(Path file, byte[] bytes) throws UsersFileException {
        List<Line> lines = new ArrayList<>();
        Map<String, Line> users = new HashMap<>();
        Map<String, List<StoredSecret>> secrets = new HashMap<>();
        int start = 0;
        int number = 0;
        while (start < bytes.length) {
            number++;
            int nl = indexOf(bytes, '\n', start, bytes.length);
            int end = nl < 0 ? bytes.length : nl + 1;
            int contentEnd = nl < 0 ? bytes.length : nl;
            if (contentEnd > start && bytes[contentEnd - 1] == '\r') {
                contentEnd--;
            }
            Line line = parseLine(file, number, Arrays.copyOfRange(bytes, start, end), contentEnd - start);
            if (line.user() != null) {
                Line first = users.putIfAbsent(line.user(), line);
                if (first != null) {
                    throw new UsersFileException(file, number,
                            "duplicate user " + line.user() + " (first on line " + first.number() + ")");
                }
                if (!line.secrets().isEmpty()) {
                    secrets.put(line.user(), line.secrets());
                }
            }
            lines.add(line);
            start = end;
        }
        return new Parsed(List.copyOf(lines), users, Map.copyOf(secrets));
    }

    private static Line parseLine(Path file, int number, byte[] raw, int length) throws UsersFileException {
        if (length == 0 || raw[0] == '#' || raw[0] == ':') {
            return new Line(number, raw, length, null, List.of());
        }
        String content;
        try {
            content = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw, 0, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new UsersFileException(file, number, "line is not valid UTF-8");
        }
        if (content.isBlank()) {
            return new Line(number, raw, length, null, List.of());
        }
        String[] fields = content.split(":", Line.EXTRA_FIELDS + 1);
        try {
            // a name `twine user add` would refuse is no user line but garbage: say so, with the line
            checkName(fields[0]);
        } catch (IllegalArgumentException e) {
            throw new UsersFileException(file, number, "not a user line (" + e.getMessage() + "); lines are NAME:{SCHEME}SECRET");
        }
        if (fields.length < 2) {
            return new Line(number, raw, length, fields[0], List.of());
        }
        List<StoredSecret> secrets = new ArrayList<>();
        secrets.add(parseSecret(file, number, fields[1]));
        if (fields.length > Line.EXTRA_FIELDS) {
            for (String token : fields[Line.EXTRA_FIELDS].split(" ")) {
                if (token.startsWith(SCRAM_SHA1_FIELD)) {
                    secrets.add(parseScram(file, number, ScramHash.SHA_1,
                            token.substring(SCRAM_SHA1_FIELD.length())));
                }
            }
        }
        return new Line(number, raw, length, fields[0], List.copyOf(secrets));
    }

    private static StoredSecret parseSecret(Path file, int number, String field) throws UsersFileException {
        int close = field.indexOf('}');
        if (field.startsWith("{") && close > 1) {
            String scheme = field.substring(1, close);
            String value = field.substring(close + 1);
            return switch (scheme.toUpperCase(Locale.ROOT)) {
                case "PLAIN", "CLEAR", "CLEARTEXT" -> new StoredSecret.Plain(value);
                case "SCRAM-SHA-256" -> parseScram(file, number, ScramHash.SHA_256, value);
                case "SCRAM-SHA-1" -> parseScram(file, number, ScramHash.SHA_1, value);
                default -> throw new UsersFileException(file, number,
                        "unsupported password scheme {" + scheme + "}");
            };
        }
        if (CRYPT_HASH.matcher(field).matches()) {
            throw new UsersFileException(file, number,
                    "password looks like a crypt(3) hash, which Twine does not support;"
                            + " write {PLAIN} before it if it really is the password");
        }
        return new StoredSecret.Plain(field);
    }

    private static StoredSecret parseScram(Path file, int number, ScramHash hash, String value)
            throws UsersFileException {
        String name = hash.mechanism;
        String[] parts = value.split(",", -1);
        if (parts.length != 4) {
            throw new UsersFileException(file, number, name + " keys need iterations,salt,StoredKey,ServerKey");
        }
        if (!parts[0].matches("[0-9]{1,10}")) {
            throw new UsersFileException(file, number, "bad " + name + " iteration count " + parts[0]);
        }
        long iterations = Long.parseLong(parts[0]);
        if (iterations < MIN_ITERATIONS || iterations > Integer.MAX_VALUE) {
            throw new UsersFileException(file, number, name + " iteration count " + iterations
                    + " is outside 4096.." + Integer.MAX_VALUE + " (RFC 7677 §4)");
        }
        byte[] salt = base64(file, number, parts[1], name + " salt");
        byte[] storedKey = base64(file, number, parts[2], name + " StoredKey");
        byte[] serverKey = base64(file, number, parts[3], name + " ServerKey");
        if (salt.length == 0) {
            throw new UsersFileException(file, number, "empty " + name + " salt");
        }
        if (storedKey.length != hash.length || serverKey.length != hash.length) {
            throw new UsersFileException(file, number,
                    name + " StoredKey and ServerKey must be " + hash.length + " bytes");
        }
        return new StoredSecret.Scram(name, (int) iterations, salt, storedKey, serverKey);
    }

    private static byte[] base64(Path file, int number, String text, String what) throws UsersFileException {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new UsersFileException(file, number, "bad base64 in " + what);
        }
    }

    private static int indexOf(byte[] b, char c, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- writing

    /** Computes a file's new content from its parsed old content; may throw for a user error. */
    @FunctionalInterface
    private interface Edit {
        byte[] apply(Parsed parsed);
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("user name is empty");
        }
        if (name.startsWith("#")) {
            throw new IllegalArgumentException("user name must not start with '#', which starts a comment");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("user name must not be '.' or '..'");
        }
        name.codePoints().forEach(cp -> {
            if (cp == ':') {
                throw new IllegalArgumentException("user name must not contain ':', the field separator");
            }
            if (cp == '/' || cp == '\\') {
                throw new IllegalArgumentException("user name must not contain '/' or '\\': it names a mail directory");
            }
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                throw new IllegalArgumentException("user name must not contain white space");
            }
            if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT
                    || (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
                throw new IllegalArgumentException("user name must not contain control characters");
            }
        });
    }

    /** New SCRAM-SHA-256 and SCRAM-SHA-1 keys of a password, each with its own salt. */
    private static List<StoredSecret.Scram> newSecrets(char[] password) {
        Objects.requireNonNull(password, "password");
        List<StoredSecret.Scram> out = new ArrayList<>();
        for (String mechanism : List.of(StoredSecret.Scram.SHA_256, StoredSecret.Scram.SHA_1)) {
            byte[] salt = new byte[ScramKeys.SALT_LENGTH];
            RANDOM.nextBytes(salt);
            out.add(StoredSecret.Scram.derive(mechanism, CharBuffer.wrap(password), salt,
                    ScramKeys.DEFAULT_ITERATIONS));
        }
        return out;
    }

    /** Dovecot's layout: {MECHANISM}iterations,base64(salt),base64(StoredKey),base64(ServerKey). */
    private static String formatScram(StoredSecret.Scram secret) {
        return "{" + secret.mechanism() + "}" + formatKeys(secret);
    }

    private static String formatKeys(StoredSecret.Scram secret) {
        ScramKeys keys = secret.keys();
        return keys.iterations()
                + "," + ScramKeys.base64(keys.salt())
                + "," + ScramKeys.base64(keys.storedKey())
                + "," + ScramKeys.base64(keys.serverKey());
    }

    private static void update(Path file, boolean create, Edit edit) throws IOException {
        // Replace the file a symbolic link points to, not the link.
        Path target = Files.exists(file) ? file.toRealPath() : file.toAbsolutePath().normalize();
        ReentrantLock lock = WRITE_LOCKS.computeIfAbsent(target, k -> new ReentrantLock());
        lock.lock();
        try {
            for (int attempt = 1; ; attempt++) {
                Stamp before;
                byte[] bytes;
                try {
                    before = stamp(target);
                    bytes = Files.readAllBytes(target);
                } catch (NoSuchFileException e) {
                    if (!create) {
                        throw e;
                    }
                    before = null;
                    bytes = new byte[0];
                }
                byte[] updated = edit.apply(parse(file, bytes));
                if (replace(target, updated, before)) {
                    return;
                }
                if (attempt == WRITE_ATTEMPTS) {
                    throw new IOException(file + ": changed by another process during every attempt to update it");
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes {@code bytes} to a temporary file beside {@code target}, syncs it and renames it over
     * {@code target}, unless {@code target} is no longer the version stamped {@code before}
     * (null: did not exist). Returns false, having written nothing visible, in that case.
     */
    private static boolean replace(Path target, byte[] bytes, Stamp before) throws IOException {
        Path dir = target.getParent();
        Path temp = createTemp(target, before != null);
        boolean moved = false;
        try {
            Durable.writeAndForce(temp, bytes);
            Stamp now;
            try {
                now = stamp(target);
            } catch (NoSuchFileException e) {
                now = null;
            }
            if (!Objects.equals(before, now)) {
                return false;
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
        Durable.forceDirectory(dir);
        return true;
    }

    private static Path createTemp(Path target, boolean exists) throws IOException {
        Path dir = target.getParent();
        String prefix = "." + target.getFileName() + ".";
        if (!dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return Files.createTempFile(dir, prefix, ".tmp");
        }
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        Path temp = Files.createTempFile(dir, prefix, ".tmp", PosixFilePermissions.asFileAttribute(ownerOnly));
        try {
            if (exists) {
                PosixFileAttributes original = Files.readAttributes(target, PosixFileAttributes.class);
                // Set explicitly: the mode given at creation is subject to the umask.
                Files.setPosixFilePermissions(temp, original.permissions());
                copyOwnership(temp, original);
            } else {
                Files.setPosixFilePermissions(temp, ownerOnly);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        return temp;
    }

    private static void copyOwnership(Path temp, PosixFileAttributes original) {
        PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class);
        try {
            if (!view.readAttributes().group().equals(original.group())) {
                view.setGroup(original.group());
            }
            if (!view.readAttributes().owner().equals(original.owner())) {
                view.setOwner(original.owner());
            }
        } catch (IOException e) {
            // Only a privileged process may give a file away; the new file then belongs to the
            // user running this process, which can read it.
        }
    }
}

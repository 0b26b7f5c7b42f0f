package dev.twine.ssh;

import dev.twine.core.auth.PublicKeyStore;
import dev.twine.ssh.internal.AddressPatterns;
import dev.twine.ssh.internal.Keys;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A {@link PublicKeyStore} over a directory of OpenSSH {@code authorized_keys} files, one per
 * user: the keys of user {@code alice} are in {@code DIR/alice}. Ed25519, RSA and ECDSA
 * ({@code nistp256/384/521}) lines are understood; blank lines, {@code #} comments and lines that
 * do not parse are skipped, as {@code sshd} does.
 *
 * <h2>Options</h2>
 * <ul>
 *   <li>{@code from="pattern-list"} is honoured: the key works only from an address the list
 *       admits ({@code *}/{@code ?} wildcards, {@code addr/bits} blocks, {@code !} to exclude;
 *       host names never match, as with sshd's default {@code UseDNS no}), and not at all when the
 *       address is unknown.</li>
 *   <li>{@code expiry-time="YYYYMMDD[HHMM[SS]][Z]"} is honoured (local time unless {@code Z}).</li>
 *   <li>{@code permitopen=}, {@code permitlisten=} and {@code no-port-forwarding} are what
 *       {@link #forwardingPermits} reports, for the server to enforce.</li>
 *   <li>Options that restrict what a session may do, which Twine does not enforce
 *       ({@code command=}, {@code restrict}, {@code no-pty}, {@code tunnel=}), and
 *       {@code cert-authority}/{@code principals=} (per-user CAs: use {@link
 *       UserCertificateAuthorities} for certificates) make the key <em>refused</em>, with a
 *       warning in the log: ignoring them would grant more than the file says.</li>
 *   <li>The rest change nothing here: {@code no-agent-forwarding}, {@code no-X11-forwarding} and
 *       {@code no-user-rc} (Twine offers none of those), {@code environment=}, {@code pty} and
 *       the like.</li>
 * </ul>
 *
 * <p>The file is read on every check, so edits take effect at once, and is never written. User
 * names that could leave the directory (containing {@code /}, starting with {@code .}, or using
 * characters outside {@code [A-Za-z0-9._@-]}) are rejected without touching the file system.
 * Thread-safe.
 */
public final class AuthorizedKeysDirectory implements PublicKeyStore {

    private static final System.Logger LOG = System.getLogger(AuthorizedKeysDirectory.class.getName());
    /** Options that limit a session in ways Twine does not enforce, or that need certificates. */
    private static final List<String> UNENFORCED = List.of("command", "restrict", "no-pty", "tunnel",
            "cert-authority", "principals");
    private static final Pattern SAFE_USER = Pattern.compile("[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}");

    private final Path dir;
    /** For {@link #ofFile}: the one user the file is for; null for a directory. */
    private final String onlyUser;

    private AuthorizedKeysDirectory(Path dir, String onlyUser) {
        this.dir = dir;
        this.onlyUser = onlyUser;
    }

    /**
     * A store over {@code dir}. The directory need not exist yet (then no key is authorized).
     *
     * @param dir the directory holding one {@code authorized_keys} file per user
     * @return the store
     */
    public static AuthorizedKeysDirectory of(Path dir) {
        return new AuthorizedKeysDirectory(Objects.requireNonNull(dir, "dir"), null);
    }

    /**
     * A store over one {@code authorized_keys} file that holds the keys of one user, as
     * {@code ~/.ssh/authorized_keys} does for sshd: every other user name has no key. The options
     * are read as for a directory. The file need not exist yet.
     *
     * @param username the user the keys are for
     * @param file the {@code authorized_keys} file
     * @return the store
     * @throws IllegalArgumentException if {@code username} is not a name a directory would accept
     */
    public static AuthorizedKeysDirectory ofFile(String username, Path file) {
        if (!SAFE_USER.matcher(Objects.requireNonNull(username, "username")).matches()) {
            throw new IllegalArgumentException("not a safe user name: " + username);
        }
        return new AuthorizedKeysDirectory(Objects.requireNonNull(file, "file"), username);
    }

    /**
     * Tells whether {@code key} is listed in {@code DIR/<username>} without an address
     * restriction (the address is unknown here). Blocks while reading the file.
     *
     * @return false for an unsafe or unknown user name, an unreadable file or an unlisted key
     */
    @Override
    public boolean isAuthorized(String username, PublicKey key) {
        return isAuthorized(username, key, null);
    }

    /**
     * Tells whether {@code key} is listed in {@code DIR/<username>} on a line whose options admit
     * a login from {@code client} (see the class description). Blocks while reading the file.
     *
     * @return false for an unsafe or unknown user name, an unreadable file, an unlisted key, or
     *     lines whose options refuse it
     */
    @Override
    public boolean isAuthorized(String username, PublicKey key, InetAddress client) {
        return admittingLine(username, key, client).isPresent();
    }

    /**
     * What a login with {@code key} as {@code username} from {@code client} may forward, from the
     * {@code permitopen=}, {@code permitlisten=} and {@code no-port-forwarding} options of the
     * line that admits it (see {@link ForwardingPermits}). {@link SshServer} enforces them when
     * given this directory through {@link SshServer.Builder#forwardingPermits}. Blocks while
     * reading the file.
     *
     * @return the permits, or empty if no line admits the key (then there is no such login)
     */
    public Optional<ForwardingPermits> forwardingPermits(String username, PublicKey key, InetAddress client) {
        return admittingLine(username, key, client).map(k -> {
            Map<String, String> options = k.options();
            if (options.containsKey("no-port-forwarding")) {
                return ForwardingPermits.NONE;
            }
            return new ForwardingPermits(patterns(options.get("permitopen")), patterns(options.get("permitlisten")));
        });
    }

    /** An option's values: sshd allows the option several times, which MINA joins with commas. */
    private static List<String> patterns(String value) {
        return value == null ? List.of() : Arrays.stream(value.split(",")).map(String::strip)
                .filter(v -> !v.isEmpty()).toList();
    }

    /** The first line listing {@code key} whose options admit a login from {@code client}. */
    private Optional<Keys.AuthorizedKey> admittingLine(String username, PublicKey key, InetAddress client) {
        if (username == null || key == null || !SAFE_USER.matcher(username).matches()) {
            return Optional.empty();
        }
        if (onlyUser != null && !onlyUser.equals(username)) {
            return Optional.empty();
        }
        Path file = onlyUser != null ? dir : dir.resolve(username);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        List<Keys.AuthorizedKey> keys;
        try {
            keys = Keys.readAuthorizedKeys(file);
        } catch (IOException e) {
            return Optional.empty();
        }
        for (Keys.AuthorizedKey k : keys) {
            if (Keys.sameKey(k.key(), key) && optionsAdmit(file, k, client)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    private static boolean optionsAdmit(Path file, Keys.AuthorizedKey k, InetAddress client) {
        Map<String, String> options = k.options();
        for (String o : UNENFORCED) {
            if (options.containsKey(o)) {
                LOG.log(System.Logger.Level.WARNING, "{0}: key {1} has the option {2}, which Twine does not"
                        + " enforce: the key is refused", file, Keys.fingerprint(k.key()), o);
                return false;
            }
        }
        String from = options.get("from");
        if (from != null && !AddressPatterns.admits(from, client)) {
            return false;
        }
        String expiry = options.get("expiry-time");
        return expiry == null || !expired(file, expiry);
    }

    /** sshd's {@code expiry-time} forms; a malformed one counts as expired, as sshd refuses it. */
    private static boolean expired(Path file, String value) {
        String v = value.strip();
        boolean utc = v.endsWith("Z") || v.endsWith("z");
        String digits = utc ? v.substring(0, v.length() - 1) : v;
        if (!digits.matches("\\d{8}|\\d{12}|\\d{14}")) {
            LOG.log(System.Logger.Level.WARNING, "{0}: bad expiry-time \"{1}\": the key is refused", file, value);
            return true;
        }
        String padded = (digits + "000000").substring(0, 14);
        try {
            LocalDateTime t = LocalDateTime.parse(padded, DateTimeFormatter.ofPattern("uuuuMMddHHmmss"));
            Instant end = utc ? t.toInstant(ZoneOffset.UTC) : t.atZone(ZoneId.systemDefault()).toInstant();
            return !Instant.now().isBefore(end);
        } catch (DateTimeException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: bad expiry-time \"{1}\": the key is refused", file, value);
            return true;
        }
    }

    /**
     * Describes the store.
     *
     * @return {@code AuthorizedKeysDirectory[DIR]}, or {@code AuthorizedKeysDirectory[USER=FILE]}
     */
    @Override
    public String toString() {
        return "AuthorizedKeysDirectory[" + (onlyUser != null ? onlyUser + "=" : "") + dir + "]";
    }
}

package dev.twine.ssh;

import dev.twine.core.auth.PublicKeyStore;
import dev.twine.ssh.internal.Keys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A {@link PublicKeyStore} over a directory of OpenSSH {@code authorized_keys} files, one per
 * user: the keys of user {@code alice} are in {@code DIR/alice}. Ed25519, RSA and ECDSA
 * ({@code nistp256/384/521}) lines are understood; blank lines, {@code #} comments and lines that
 * do not parse are skipped, as {@code sshd} does.
 *
 * <p><b>Options are ignored.</b> A line's leading options ({@code from="..."},
 * {@code command="..."}, {@code restrict}, {@code no-pty} ...) are parsed and then ignored: a key
 * listed with {@code from=} is accepted from any address. Do not rely on options for access
 * control with this store.
 *
 * <p>The file is read on every check, so edits take effect at once, and is never written. User
 * names that could leave the directory (containing {@code /}, starting with {@code .}, or using
 * characters outside {@code [A-Za-z0-9._@-]}) are rejected without touching the file system.
 * Thread-safe.
 */
public final class AuthorizedKeysDirectory implements PublicKeyStore {

    private static final Pattern SAFE_USER = Pattern.compile("[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}");

    private final Path dir;

    private AuthorizedKeysDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * A store over {@code dir}. The directory need not exist yet (then no key is authorized).
     *
     * @param dir the directory holding one {@code authorized_keys} file per user
     * @return the store
     */
    public static AuthorizedKeysDirectory of(Path dir) {
        return new AuthorizedKeysDirectory(Objects.requireNonNull(dir, "dir"));
    }

    /**
     * Tells whether {@code key} is listed in {@code DIR/<username>}. Blocks while reading the
     * file.
     *
     * @return false for an unsafe or unknown user name, an unreadable file or an unlisted key
     */
    @Override
    public boolean isAuthorized(String username, PublicKey key) {
        if (username == null || key == null || !SAFE_USER.matcher(username).matches()) {
            return false;
        }
        Path file = dir.resolve(username);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        List<PublicKey> keys;
        try {
            keys = Keys.readAuthorizedKeys(file);
        } catch (IOException e) {
            return false;
        }
        for (PublicKey k : keys) {
            if (Keys.sameKey(k, key)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Describes the store.
     *
     * @return {@code AuthorizedKeysDirectory[DIR]}
     */
    @Override
    public String toString() {
        return "AuthorizedKeysDirectory[" + dir + "]";
    }
}

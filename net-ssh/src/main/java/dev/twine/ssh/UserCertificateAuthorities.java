package dev.twine.ssh;

import dev.twine.core.auth.PublicKeyStore;
import dev.twine.ssh.internal.AddressPatterns;
import dev.twine.ssh.internal.Keys;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.sshd.common.config.keys.OpenSshCertificate;

/**
 * A {@link PublicKeyStore} that admits OpenSSH user certificates (PROTOCOL.certkeys) signed by a
 * trusted certificate authority, like sshd's {@code TrustedUserCAKeys}: the file lists the CA
 * public keys, one per line in {@code authorized_keys} syntax ({@code #} comments and blank lines
 * skipped). A certificate logs its holder in as user {@code u} when all of these hold:
 * <ul>
 *   <li>it is a user certificate ({@code ssh-keygen -s CA -I ID -n PRINCIPALS key.pub}), signed
 *       by one of the listed keys with an algorithm Twine accepts;</li>
 *   <li>{@code u} is one of its principals (a certificate without principals admits nobody, as
 *       sshd without an {@code AuthorizedPrincipalsFile});</li>
 *   <li>now is inside its validity window ({@code ssh-keygen -V});</li>
 *   <li>its critical options are only ones Twine enforces: {@code source-address} (the client's
 *       address must be in one of its CIDR blocks) and {@code force-command} (enforced by {@link
 *       SshServer}: every {@code exec} and {@code shell} request runs that command instead, with
 *       the client's command in {@code SSH_ORIGINAL_COMMAND}, and the SFTP subsystem is refused).
 *       Any other critical option, {@code verify-required} included, refuses the certificate.</li>
 * </ul>
 * Certificates are never looked up in users' {@code authorized_keys}; plain keys are never
 * admitted here. Give both to one {@link dev.twine.core.auth.Portal} with {@link #or}.
 *
 * <pre>{@code
 * Portal portal = Portal.builder()
 *         .users(users)
 *         .publicKeys(UserCertificateAuthorities.of(Path.of("/etc/twine/user_ca.pub"))
 *                 .or(AuthorizedKeysDirectory.of(Path.of("/etc/twine/keys"))))
 *         .build();
 * }</pre>
 *
 * <p>The file is read once, by {@link #of}. Thread-safe.
 *
 * <h2>Error handling</h2>
 * A certificate failing any check is simply not authorized ({@code false}): the SSH client sees
 * a failed publickey attempt, counted by the portal's policy.
 */
public final class UserCertificateAuthorities implements PublicKeyStore {

    /** The critical options enforced (PROTOCOL.certkeys "Critical options"). */
    private static final Set<String> ENFORCED = Set.of(OpenSshCertificate.FORCE_COMMAND,
            OpenSshCertificate.SOURCE_ADDRESS);

    private final Path file;
    private final List<PublicKey> authorities;
    private final Clock clock;

    private UserCertificateAuthorities(Path file, List<PublicKey> authorities, Clock clock) {
        this.file = file;
        this.authorities = authorities;
        this.clock = clock;
    }

    /**
     * Reads the trusted CA keys from {@code file}. Blocks while reading.
     *
     * @param file one CA public key per line
     * @return the store
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file if it lists no usable key
     */
    public static UserCertificateAuthorities of(Path file) throws IOException {
        return of(file, Clock.systemUTC());
    }

    /**
     * As {@link #of(Path)}, with the clock that tells whether a certificate is inside its
     * validity window (for tests, a {@code ManualClock}).
     *
     * @param file one CA public key per line
     * @param clock what "now" is
     * @return the store
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file if it lists no usable key
     */
    public static UserCertificateAuthorities of(Path file, Clock clock) throws IOException {
        Objects.requireNonNull(clock, "clock");
        List<PublicKey> keys = Keys.readAuthorizedKeys(Objects.requireNonNull(file, "file")).stream()
                .map(Keys.AuthorizedKey::key)
                .filter(k -> !(k instanceof OpenSshCertificate))
                .toList();
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(file + ": no certificate authority key in it");
        }
        return new UserCertificateAuthorities(file, keys, clock);
    }

    /**
     * Like {@link #isAuthorized(String, PublicKey, InetAddress)} for an unknown address, so a
     * certificate with a {@code source-address} option is refused.
     */
    @Override
    public boolean isAuthorized(String username, PublicKey key) {
        return isAuthorized(username, key, null);
    }

    /**
     * Tells whether {@code key} is a user certificate that admits {@code username} from {@code
     * client} now (see the class description). Does not block.
     *
     * @return false for a plain key, an untrusted or bad signature, another principal, a
     *     certificate outside its validity window, one with a critical option not enforced here,
     *     or a {@code source-address} that does not admit {@code client}
     */
    @Override
    public boolean isAuthorized(String username, PublicKey key, InetAddress client) {
        if (!(key instanceof OpenSshCertificate cert) || cert.getType() != OpenSshCertificate.Type.USER
                || username == null || !cert.getPrincipals().contains(username)
                || !OpenSshCertificate.isValidAt(cert, clock.instant())) {
            return false;
        }
        Map<String, String> critical = cert.getCriticalOptionsMap();
        if (!ENFORCED.containsAll(critical.keySet())) {
            return false;
        }
        String sources = critical.get(OpenSshCertificate.SOURCE_ADDRESS);
        if (sources != null && !AddressPatterns.admits(sources, client)) {
            return false;
        }
        return authorities.stream().anyMatch(ca -> Keys.signedBy(cert, ca));
    }

    /**
     * A store admitting what this one admits, and otherwise what {@code other} admits (with the
     * client's address passed on), for example certificates or a user's {@code authorized_keys}.
     *
     * @param other the store asked when this one refuses
     * @return the combined store
     */
    public PublicKeyStore or(PublicKeyStore other) {
        Objects.requireNonNull(other, "other");
        UserCertificateAuthorities first = this;
        return new PublicKeyStore() {
            @Override
            public boolean isAuthorized(String username, PublicKey key) {
                return first.isAuthorized(username, key) || other.isAuthorized(username, key);
            }

            @Override
            public boolean isAuthorized(String username, PublicKey key, InetAddress client) {
                return first.isAuthorized(username, key, client) || other.isAuthorized(username, key, client);
            }

            @Override
            public String toString() {
                return first + " or " + other;
            }
        };
    }

    /**
     * Describes the store.
     *
     * @return {@code UserCertificateAuthorities[FILE, N keys]}
     */
    @Override
    public String toString() {
        return "UserCertificateAuthorities[" + file + ", " + authorities.size() + " keys]";
    }
}

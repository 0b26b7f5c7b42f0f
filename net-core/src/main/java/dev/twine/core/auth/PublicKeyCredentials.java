package dev.twine.core.auth;

import java.net.InetAddress;
import java.security.PublicKey;
import java.util.Objects;

/**
 * A user name and an SSH public key. The SSH layer has already verified the client's signature
 * with this key (RFC 4252 §7) before it asks a {@link Portal}; what remains to check is only
 * whether the key is authorized for the user, which a {@link PublicKeyStore} answers.
 *
 * @param username the claimed user name
 * @param key the public key whose possession the client proved
 * @param clientAddress the address the client connects from, for stores that restrict keys by
 *     address (OpenSSH's {@code from=}); null if unknown
 */
public record PublicKeyCredentials(String username, PublicKey key, InetAddress clientAddress) implements Credentials {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if the user name or the key is null
     */
    public PublicKeyCredentials {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(key, "key");
    }

    /**
     * Credentials without a client address: keys restricted to addresses do not match them.
     *
     * @param username the claimed user name
     * @param key the public key whose possession the client proved
     */
    public PublicKeyCredentials(String username, PublicKey key) {
        this(username, key, null);
    }

    /**
     * Describes these credentials by user name and key algorithm only.
     *
     * @return {@code PublicKeyCredentials[username=NAME, key=ALGORITHM]}
     */
    @Override
    public String toString() {
        return "PublicKeyCredentials[username=" + username + ", key=" + key.getAlgorithm() + "]";
    }
}

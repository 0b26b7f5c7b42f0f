package dev.twine.core.auth;

import java.security.PublicKey;
import java.util.Objects;

/**
 * A user name and an SSH public key. The SSH layer has already verified the client's signature
 * with this key (RFC 4252 §7) before it asks a {@link Portal}; what remains to check is only
 * whether the key is authorized for the user, which a {@link PublicKeyStore} answers.
 *
 * @param username the claimed user name
 * @param key the public key whose possession the client proved
 */
public record PublicKeyCredentials(String username, PublicKey key) implements Credentials {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if either component is null
     */
    public PublicKeyCredentials {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(key, "key");
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

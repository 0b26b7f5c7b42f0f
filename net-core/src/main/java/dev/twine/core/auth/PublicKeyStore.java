package dev.twine.core.auth;

import java.net.InetAddress;
import java.security.PublicKey;

/**
 * Says which public keys a user may log in with (for SSH: the user's {@code authorized_keys}).
 * A {@link Portal} uses it to check {@link PublicKeyCredentials}.
 *
 * <p>Implementations are called from many virtual threads at once and must be thread-safe.
 */
@FunctionalInterface
public interface PublicKeyStore {

    /**
     * Tells whether a key is authorized for a user. The caller has already verified that the
     * client holds the private key.
     *
     * @param username the user name the client claims
     * @param key the client's public key
     * @return true if the key may be used to log in as {@code username}; false for an unknown user
     */
    boolean isAuthorized(String username, PublicKey key);

    /**
     * Tells whether a key is authorized for a user connecting from an address. A store whose
     * entries can be restricted to addresses (OpenSSH's {@code from=}) overrides this; the default
     * ignores the address.
     *
     * @param username the user name the client claims
     * @param key the client's public key
     * @param client the client's address, or null if unknown (an address-restricted entry must
     *     then not match)
     * @return true if the key may be used to log in as {@code username} from {@code client}
     */
    default boolean isAuthorized(String username, PublicKey key, InetAddress client) {
        return isAuthorized(username, key);
    }
}

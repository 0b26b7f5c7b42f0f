package dev.twine.core.auth;

import java.util.List;
import java.util.Optional;

/**
 * Looks up the stored secret of a user: the user database behind password logins and SCRAM.
 * {@link UsersFile} is the built-in one; a directory or SQL store implements this interface.
 *
 * <p>Implementations are called from many virtual threads at once and must be thread-safe.
 * A lookup may block; it should be cheap enough to run once per login attempt.
 */
@FunctionalInterface
public interface UserStore {

    /**
     * Finds the secret stored for a user.
     *
     * @param username the user name exactly as the client sent it (no case folding is done here)
     * @return the user's secret, or empty if there is no such user or the user has no password
     */
    Optional<StoredSecret> find(String username);

    /**
     * Every stored form of a user's password, the one {@link #find} returns first. A store that
     * keeps SCRAM keys for more than one hash (SCRAM-SHA-256 and SCRAM-SHA-1, say) returns them
     * all, so that each SCRAM mechanism finds the keys of its own hash. The default returns what
     * {@code find} returns.
     *
     * @param username the user name exactly as the client sent it
     * @return the user's secrets, empty if there is no such user or the user has no password
     */
    default List<StoredSecret> secrets(String username) {
        return find(username).map(List::of).orElse(List.of());
    }
}

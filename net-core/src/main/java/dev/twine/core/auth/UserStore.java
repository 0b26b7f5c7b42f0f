package dev.twine.core.auth;

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
}

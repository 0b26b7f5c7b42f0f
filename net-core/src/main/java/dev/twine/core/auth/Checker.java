package dev.twine.core.auth;

import java.util.Optional;

/**
 * Decides whether one kind of {@link Credentials} is valid: Twisted's credentials checker.
 *
 * <p>The contract has three outcomes, and a {@link Portal} relies on them:
 * <ul>
 *   <li>a principal: the checker handles this credentials type and accepts them;</li>
 *   <li>{@link Optional#empty()}: the checker does not handle this credentials type (for example
 *       a password checker given a public key), so the portal asks the next checker;</li>
 *   <li>{@link AuthenticationException}: the checker handles this type and rejects the
 *       credentials; the portal stops and rethrows it, later checkers are not asked.</li>
 * </ul>
 * A checker that handles a type must reject an unknown user and a wrong secret with the same
 * exception message (the no-argument {@link AuthenticationException#AuthenticationException()}
 * is meant for this), and should spend the same time on both.
 *
 * <p>Checkers are called from many virtual threads at once and must be thread-safe. A checker may
 * block (a directory lookup, a file read); it must then respond to interruption by restoring the
 * interrupt flag and throwing, never by swallowing it.
 */
@FunctionalInterface
public interface Checker {

    /**
     * Checks credentials.
     *
     * @param credentials what the client presented, never null
     * @return the authenticated principal, or empty if this checker does not handle the type of
     *     {@code credentials}
     * @throws AuthenticationException if this checker handles the type and rejects the credentials
     */
    Optional<Principal> check(Credentials credentials) throws AuthenticationException;
}

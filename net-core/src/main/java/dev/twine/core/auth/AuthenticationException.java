package dev.twine.core.auth;

import java.security.GeneralSecurityException;

/**
 * Authentication failed: wrong password, unknown user, unauthorized key, or a malformed SASL
 * message.
 *
 * <p>For rejected credentials the message is always {@code "authentication failed"}, whether or not the user
 * exists, so that a protocol may pass it on to the client without revealing which user names are
 * valid. Malformed SASL messages get a message describing the syntax error, which reveals nothing
 * about users either.
 */
public sealed class AuthenticationException extends GeneralSecurityException permits LoginRefusedException {

    static final String FAILED = "authentication failed";

    /**
     * Creates the exception for rejected credentials, with the message
     * {@code "authentication failed"}.
     */
    public AuthenticationException() {
        super(FAILED);
    }

    /**
     * Creates the exception with a specific message, for failures that are not a rejected
     * credential (a malformed message, a mechanism feature that is not supported).
     *
     * @param message what went wrong; must not reveal whether a user exists
     */
    public AuthenticationException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a specific message and cause.
     *
     * @param message what went wrong; must not reveal whether a user exists
     * @param cause the underlying failure
     */
    public AuthenticationException(String message, Throwable cause) {
        super(message, cause);
    }
}

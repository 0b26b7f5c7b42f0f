package dev.twine.core.auth;

import java.time.Duration;

/**
 * A login was not even tried: the client's address, or the user from this address, is penalised
 * after too many failures, or the connection has used up its attempts. The protocol answers with
 * its <em>temporary</em> failure (SMTP {@code 454 4.7.0}, IMAP {@code NO [UNAVAILABLE]}, POP3
 * {@code -ERR [SYS/TEMP]}, XMPP {@code <temporary-auth-failure/>}), the same whether or not the
 * password would have been right, so that guessing learns nothing while it lasts.
 */
public final class LoginRefusedException extends AuthenticationException {
    private final transient Duration retryAfter;
    private final boolean mayRetry;

    LoginRefusedException(String message, Duration retryAfter, boolean mayRetry) {
        super(message);
        this.retryAfter = retryAfter;
        this.mayRetry = mayRetry;
    }

    /** How long the penalty has left (zero if it is the connection's own limit). */
    public Duration retryAfter() {
        return retryAfter;
    }

    /**
     * Whether this connection may try again; false means the protocol says goodbye and closes it,
     * as after the last allowed failure.
     */
    public boolean mayRetry() {
        return mayRetry;
    }
}

package dev.twine.core.auth;

import java.util.Objects;

/**
 * A user name and a cleartext password, as sent by SASL PLAIN (RFC 4616), IMAP {@code LOGIN},
 * POP3 {@code USER}/{@code PASS} or SSH password authentication.
 *
 * <p>{@link #toString()} never shows the password. The password is kept as given; checkers
 * prepare it with SASLprep (RFC 4013) before comparing.
 *
 * @param username the claimed user name, exactly as the client sent it
 * @param password the cleartext password
 */
public record UsernamePassword(String username, String password) implements Credentials {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if either component is null
     */
    public UsernamePassword {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(password, "password");
    }

    /**
     * Describes these credentials without the password.
     *
     * @return {@code UsernamePassword[username=NAME, password=***]}
     */
    @Override
    public String toString() {
        return "UsernamePassword[username=" + username + ", password=***]";
    }
}

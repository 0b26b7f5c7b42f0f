package dev.twine.core.auth;

import java.util.Objects;
import java.util.Optional;

/**
 * How one login went, once the {@link AuthPolicy} has had its say: what
 * {@link SaslExchange#run} and {@link LoginAttempts#authenticate} return, so that a protocol only
 * turns the outcome into its own reply.
 *
 * <pre>{@code
 * switch (exchange.run(initial, profile, attempts)) {
 *     case LoginResult.LoggedIn in -> { user = in.principal(); reply("235 2.7.0 Authentication successful"); }
 *     case LoginResult.Failed f -> { reply("535 5.7.8 Authentication credentials invalid"); closing = !f.mayRetry(); }
 *     case LoginResult.Refused r -> { reply("454 4.7.0 Try again later"); closing = !r.mayRetry(); }
 *     case LoginResult.Abandoned a -> { } // the profile already answered the cancel or bad input
 * }
 * }</pre>
 *
 * <p>By the time a result is returned the policy has been told: a failure is logged, counted and
 * its delay already waited; a success is logged.
 */
public sealed interface LoginResult {

    /**
     * The client is authenticated.
     *
     * @param principal who logged in
     * @param additionalData SASL's additional data with success (RFC 4422 §3.6: SCRAM's
     *     server-final-message) for a protocol whose success reply carries it (XMPP's
     *     {@code <success/>}); empty otherwise, and always empty when the profile said its success
     *     cannot carry data (the exchange then sent it as a last challenge)
     */
    record LoggedIn(Principal principal, byte[] additionalData) implements LoginResult {
        /**
         * Validates the components.
         *
         * @throws NullPointerException if either is null
         */
        public LoggedIn {
            Objects.requireNonNull(principal, "principal");
            Objects.requireNonNull(additionalData, "additionalData");
        }
    }

    /**
     * The credentials were wrong or the exchange malformed. The policy's delay has already been
     * waited; answer with the protocol's failure reply, then close the connection if
     * {@code mayRetry} is false.
     *
     * @param username the user name the client gave, if it gave one
     * @param mayRetry whether this connection may try again
     */
    record Failed(Optional<String> username, boolean mayRetry) implements LoginResult {
        /**
         * Validates the components.
         *
         * @throws NullPointerException if {@code username} is null
         */
        public Failed {
            Objects.requireNonNull(username, "username");
        }
    }

    /**
     * The policy refused the login (the address or the user is penalised, or the connection has
     * failed too often), whatever the credentials: answer with the protocol's <em>temporary</em>
     * failure, then close the connection if {@link #mayRetry()} is false.
     *
     * @param reason the refusal, with its retry-after
     */
    record Refused(LoginRefusedException reason) implements LoginResult {
        /**
         * Validates the component.
         *
         * @throws NullPointerException if {@code reason} is null
         */
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }

        /**
         * Tells whether this connection may try again.
         *
         * @return {@link LoginRefusedException#mayRetry()} of the reason
         */
        public boolean mayRetry() {
            return reason.mayRetry();
        }
    }

    /**
     * The exchange ended without a verdict: the client cancelled it or sent a response the
     * protocol could not decode, and the {@link SaslExchange.Profile} has already answered that
     * in the protocol's own words. Nothing counts against the client.
     */
    record Abandoned() implements LoginResult {
    }
}

package dev.twine.core.auth;

import java.util.Objects;

/**
 * An authenticated user: who it is and how it proved it.
 *
 * @param name the user name that was authenticated, never blank
 * @param mechanism how the user authenticated: a SASL mechanism name ({@code "PLAIN"},
 *     {@code "SCRAM-SHA-256"}), {@code "password"} for a {@link UsernamePassword} checked outside
 *     SASL, {@code "publickey"} for {@link PublicKeyCredentials}, {@code "EXTERNAL"} for
 *     {@link CertificateCredentials} checked by a {@link CertificateChecker}, or whatever a custom
 *     {@link Checker} reports
 */
public record Principal(String name, String mechanism) {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if either component is null
     * @throws IllegalArgumentException if {@code name} or {@code mechanism} is blank
     */
    public Principal {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(mechanism, "mechanism");
        if (name.isBlank()) {
            throw new IllegalArgumentException("principal name is blank");
        }
        if (mechanism.isBlank()) {
            throw new IllegalArgumentException("mechanism is blank");
        }
    }
}

package dev.twine.core.auth;

/**
 * What a client presents to prove who it is. A {@link Portal} hands credentials to its
 * {@link Checker}s; a checker decides by the credentials' type whether it handles them.
 *
 * <p>SASL exchanges do not go through this type: they are multi-step and run through
 * {@link Portal#sasl(String)}; SASL PLAIN ends in a {@link UsernamePassword}, though, so custom
 * checkers see PLAIN logins too.
 */
public sealed interface Credentials permits UsernamePassword, PublicKeyCredentials, CertificateCredentials {

    /**
     * The user name the client claims.
     *
     * @return the claimed user name, never null
     */
    String username();
}

package dev.twine.core.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * A TLS client certificate chain, already verified by the handshake, and the user name the client
 * asks to act as: what SASL EXTERNAL (RFC 4422 Appendix A) hands to a {@link Portal}. A
 * {@link CertificateChecker} decides which users the certificate stands for.
 *
 * <pre>{@code
 * // SASL EXTERNAL in a protocol: the client's message is its authorization identity, maybe empty
 * List<X509Certificate> chain = connection.peerCertificates();
 * if (chain.isEmpty()) {
 *     // answer the protocol's "no credentials" failure: EXTERNAL needs a client certificate
 * }
 * Principal who = portal.authenticate(new CertificateCredentials(authzid, chain));
 * }</pre>
 *
 * <p>Only pass a chain from {@link dev.twine.core.Connection#peerCertificates()} (or one verified
 * as carefully): checkers trust it and look only at who it names.
 *
 * @param username the user name the client asks for, or {@code ""} to be whoever the certificate
 *     names (RFC 4422 Appendix A: an empty authorization identity)
 * @param chain the client's verified chain, leaf first
 */
public record CertificateCredentials(String username, List<X509Certificate> chain) implements Credentials {

    /**
     * Validates and copies the components.
     *
     * @throws NullPointerException if a component is null
     * @throws IllegalArgumentException if the chain is empty
     */
    public CertificateCredentials {
        Objects.requireNonNull(username, "username");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a certificate chain has at least the client's certificate");
        }
    }

    /**
     * Describes these credentials by user name and certificate subject.
     *
     * @return {@code CertificateCredentials[username=NAME, subject=DN]}
     */
    @Override
    public String toString() {
        return "CertificateCredentials[username=" + username + ", subject=" + chain.get(0).getSubjectX500Principal().getName() + "]";
    }
}

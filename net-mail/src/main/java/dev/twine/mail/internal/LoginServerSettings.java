package dev.twine.mail.internal;

import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Endpoint;
import dev.twine.core.Metrics;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The settings that the servers users log in to (IMAP, POP3, ManageSieve) take alike: the portal,
 * where to listen, TLS, whether to log in before it, connection limits, metrics, the service name
 * and the inactivity limit. Each server's builder holds one and hands its public setters' values
 * here (the setters keep their names and documentation, which differ by protocol); the server
 * reads them back and gets its {@link ListeningService} from {@link #service}.
 */
public final class LoginServerSettings {
    private final List<String> endpoints = new ArrayList<>();
    private Portal portal;
    private Tls tls;
    private Metrics metrics;
    private boolean allowPlainLogin;
    private ConnectionLimits limits;
    private String serviceName;
    private Duration idleTimeout;

    /**
     * @param serviceName the protocol's service name, until {@link #serviceName(String)}
     * @param idleTimeout the protocol's inactivity limit, until {@link #idleTimeout(Duration)}
     */
    public LoginServerSettings(String serviceName, Duration idleTimeout) {
        this.serviceName = serviceName;
        this.idleTimeout = idleTimeout;
    }

    public void portal(Portal portal) {
        this.portal = Objects.requireNonNull(portal, "portal");
    }

    /** Adds an endpoint, parsed by {@link #service} (so a malformed one fails the build). */
    public void listen(String endpoint) {
        endpoints.add(Objects.requireNonNull(endpoint, "endpoint"));
    }

    public void tls(Tls tls) {
        this.tls = Objects.requireNonNull(tls, "tls");
    }

    public void metrics(Metrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    public void allowPlainLogin(boolean allow) {
        this.allowPlainLogin = allow;
    }

    public void limits(ConnectionLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public void serviceName(String name) {
        this.serviceName = Objects.requireNonNull(name, "name");
    }

    public void idleTimeout(Duration timeout) {
        this.idleTimeout = Objects.requireNonNull(timeout, "timeout");
    }

    /** The builder's first check: a server users log in to needs its portal. */
    public void requirePortal() {
        if (portal == null) {
            throw new IllegalStateException("portal(...) is required");
        }
    }

    public Portal portal() {
        return portal;
    }

    /** The STARTTLS configuration, or null. */
    public Tls tls() {
        return tls;
    }

    /** Whether logins work before TLS: when allowed, or when there is no TLS to protect them. */
    public boolean plainLoginAllowed() {
        return allowPlainLogin || tls == null;
    }

    public String serviceName() {
        return serviceName;
    }

    /** The limits given, or else a new {@link ConnectionLimits#defaults()}: fresh counts on each call. */
    public ConnectionLimits limits() {
        return limits != null ? limits : ConnectionLimits.defaults();
    }

    /**
     * The server's service half: listening on the endpoints given, if any.
     *
     * @param limits the server's limits, as {@link #limits()} gave them
     * @param overLimit the line a connection over the limits gets before it is closed
     * @param alpn the protocol's ALPN name (RFC 7301) for its implicit-TLS listeners
     * @throws IllegalArgumentException for a malformed endpoint
     */
    public ListeningService service(ConnectionHandler handler, ConnectionLimits limits, byte[] overLimit, String alpn) {
        return new ListeningService(serviceName, handler, endpoints.stream().map(Endpoint::parseServer).toList(),
                idleTimeout, limits, overLimit, metrics, tls, alpn);
    }
}

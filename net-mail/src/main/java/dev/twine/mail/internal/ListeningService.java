package dev.twine.mail.internal;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Endpoint;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.Tls;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * The {@link Service} half of a protocol server that may be built with endpoints (then it runs a
 * {@link Server} with the protocol's handler, limits and over-limit line) or without (then only
 * its handler is used, embedded or in tests, and starting it is an error).
 */
public final class ListeningService implements Service {
    private final String name;
    private final Server server;
    private final Tls tls;

    /**
     * @param endpoints where to listen; none for a handler-only server
     * @param readTimeout the protocol's inactivity limit (zero: none)
     * @param overLimit the line a connection over {@code limits} gets before it is closed
     * @param metrics where the server's series go, or null
     * @param tls the protocol's STARTTLS configuration, reloaded by {@link #reload}, or null
     * @param alpn the protocol's ALPN name (RFC 7301) for its implicit-TLS listeners, if IANA
     *     registers one ({@code imap}, {@code pop3}; submission has none)
     * @throws IllegalArgumentException for a malformed endpoint
     */
    public ListeningService(String name, ConnectionHandler handler, List<Endpoint> endpoints, Duration readTimeout,
            ConnectionLimits limits, byte[] overLimit, Metrics metrics, Tls tls, String... alpn) {
        this.name = name;
        this.tls = tls;
        if (endpoints.isEmpty()) {
            this.server = null;
        } else {
            Server.Builder b = Server.builder(name).handler(handler).readTimeout(readTimeout).limits(limits)
                    .overLimit(conn -> conn.output().write(overLimit)).alpn(alpn);
            endpoints.forEach(b::listen);
            if (metrics != null) {
                b.metrics(metrics);
            }
            if (tls != null) {
                b.tls(tls); // tls:993 without cert= and key= is implicit TLS with this pair
            }
            this.server = b.build();
        }
    }

    /**
     * Rereads the STARTTLS pair and the {@code tls:} endpoints' pairs if their files changed.
     *
     * @throws IOException naming the file of a bad renewed pair; the old one stays in use
     */
    @Override
    public boolean reload() throws IOException {
        boolean changed = tls != null && tls.reload();
        return (server != null && server.reload()) | changed;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void start() throws IOException {
        listening().start();
    }

    @Override
    public List<Binding> bindings() {
        return server == null ? List.of() : server.bindings();
    }

    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        if (server != null) {
            server.shutdown(grace);
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        listening().awaitTermination();
    }

    private Server listening() {
        if (server == null) {
            throw new IllegalStateException(name + ": listen(...) was not given, so there is only a handler()");
        }
        return server;
    }
}

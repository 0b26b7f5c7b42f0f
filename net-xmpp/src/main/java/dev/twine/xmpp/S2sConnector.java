package dev.twine.xmpp;

import dev.twine.core.Client;
import dev.twine.core.Connection;
import dev.twine.core.Tls;
import java.io.IOException;
import java.net.UnknownHostException;
import java.util.Map;

/**
 * How the server reaches another domain's server for federation (RFC 6120 §13.9.3: a server
 * stream to the remote domain): a remote domain in, a connection to its server out, on which
 * {@link XmppServer} then opens an XML stream, negotiates STARTTLS (unless the connection is
 * already TLS: direct TLS, XEP-0368) and authenticates by SASL EXTERNAL or Server Dialback
 * (XEP-0220). The shipped implementations are {@link #routes(Map)}, a static table, and
 * {@link #dns}; tests hand in one that connects in memory, and a deployment may look names up
 * as it likes. A connector that may connect with direct TLS implements
 * {@link #connect(String, Tls)} too, to handshake with the server's own TLS client configuration.
 *
 * <p>Called on a virtual thread of the server's own (one per remote domain being connected),
 * never on a client's: it may block, and is bounded by the server's s2s timeout only once the
 * connection is returned (connect within your own timeout).
 *
 * <pre>{@code
 * XmppServer server = XmppServer.builder().domain("example.test")
 *         .users(users).dataDirectory(dir)
 *         .s2sListen("tcp:5269")
 *         .s2sConnector(S2sConnector.routes(Map.of("other.test", "tcp:10.0.0.7:5269")))
 *         .build();
 * }</pre>
 *
 * <p>Error handling: an {@link UnknownHostException} means the domain has no server (the stanzas
 * waiting for it bounce with {@code remote-server-not-found}, RFC 6120 §8.3.3.15); a
 * {@link java.net.SocketTimeoutException} means it did not answer in time
 * ({@code remote-server-timeout}, §8.3.3.16); any other {@link IOException} is
 * {@code remote-server-not-found}. A {@link RuntimeException} is logged and treated as an
 * {@code IOException}.
 */
@FunctionalInterface
public interface S2sConnector {
    /**
     * Connects to the server of {@code domain}.
     *
     * @param domain the remote domain, as in the stanza's {@code to}
     * @return a plain connection (the server negotiates TLS on it), which the server owns and closes
     * @throws IOException if there is no such server or it cannot be reached
     * @throws InterruptedException if the server is stopping
     */
    Connection connect(String domain) throws IOException, InterruptedException;

    /**
     * Connects to the server of {@code domain}, with {@code directTls} for a target reached by
     * direct TLS (XEP-0368): the server calls this one. {@code directTls} presents the server's
     * own certificate (for SASL EXTERNAL), sends ALPN {@code xmpp-server} and accepts any
     * certificate, which the server then judges for the domain (RFC 6125); handshake it with
     * {@link Connection#startTls(Tls, String)} and the domain as the server name (SNI). The default
     * ignores it and calls {@link #connect(String)}.
     *
     * @param domain the remote domain
     * @param directTls the client TLS configuration for direct-TLS targets
     * @return a plain connection, or one already in TLS (the server then skips STARTTLS)
     * @throws IOException if there is no such server or it cannot be reached
     * @throws InterruptedException if the server is stopping
     */
    default Connection connect(String domain, Tls directTls) throws IOException, InterruptedException {
        return connect(domain);
    }

    /**
     * A static route table: each remote domain to a client endpoint ({@code tcp:HOST:PORT}, or
     * {@code tls:HOST:PORT} for direct TLS, XEP-0368, handshaken with the server's
     * {@code directTls} and the domain as SNI), connected with net-core's default client options
     * (30 seconds to connect); a domain not in the table is {@link UnknownHostException}.
     *
     * @param routes remote domain to endpoint
     * @return the connector
     * @throws IllegalArgumentException if an endpoint is not a {@code tcp:} or {@code tls:} one
     */
    static S2sConnector routes(Map<String, String> routes) {
        Map<String, String> table = new java.util.HashMap<>();
        routes.forEach((d, ep) -> {
            if (!ep.matches("(tcp|tls):.+:[0-9]+")) {
                throw new IllegalArgumentException("an s2s route needs tcp:HOST:PORT or tls:HOST:PORT, not " + ep);
            }
            table.put(d.toLowerCase(java.util.Locale.ROOT), ep);
        });
        Map<String, String> copy = Map.copyOf(table);
        return new S2sConnector() {
            @Override
            public Connection connect(String domain) throws IOException, InterruptedException {
                return connect(domain, Tls.clientAcceptingAnyCertificate().withAlpn("xmpp-server"));
            }

            @Override
            public Connection connect(String domain, Tls directTls) throws IOException {
                String ep = copy.get(domain.toLowerCase(java.util.Locale.ROOT));
                if (ep == null) {
                    throw new UnknownHostException("no s2s route for " + domain);
                }
                if (!ep.startsWith("tls:")) {
                    return Client.connect(ep);
                }
                Connection c = Client.connect("tcp:" + ep.substring(4));
                try {
                    c.startTls(directTls, domain); // XEP-0368 §4: SNI is the domain
                    return c;
                } catch (IOException e) {
                    c.close();
                    throw e;
                }
            }
        };
    }

    /**
     * Discovery through DNS (RFC 6120 §3.2.1, RFC 2782): the {@code _xmpp-server._tcp.DOMAIN}
     * SRV records, tried by priority and, within one priority, in an order drawn by weight;
     * with none, the domain's own addresses (A, then AAAA) at port 5269 (§3.2.2). Each target's
     * addresses come from the same resolver and are tried in turn, 30 seconds each. A single SRV
     * record with the target {@code .} means the domain offers no service
     * ({@link UnknownHostException}). Direct-TLS records ({@code _xmpps-server._tcp}, XEP-0368
     * §3) are looked up too and merged in: by priority, and at equal priority direct TLS first;
     * such a target gets TLS at once, with the domain as SNI and ALPN {@code xmpp-server}.
     *
     * @param resolver the resolver asked (net-dns), for example one pointed at a private zone's server
     * @return the connector
     */
    static S2sConnector dns(dev.twine.dns.Resolver resolver) {
        return new dev.twine.xmpp.internal.SrvConnector(resolver);
    }

    /**
     * This connector, then {@code next} for the domains this one does not know (it threw
     * {@link UnknownHostException}): a static table in front of DNS, say.
     *
     * @param next the connector asked second
     * @return the combined connector
     */
    default S2sConnector orElse(S2sConnector next) {
        S2sConnector first = this;
        return new S2sConnector() {
            @Override
            public Connection connect(String domain) throws IOException, InterruptedException {
                try {
                    return first.connect(domain);
                } catch (UnknownHostException e) {
                    return next.connect(domain);
                }
            }

            @Override
            public Connection connect(String domain, Tls directTls) throws IOException, InterruptedException {
                try {
                    return first.connect(domain, directTls);
                } catch (UnknownHostException e) {
                    return next.connect(domain, directTls);
                }
            }
        };
    }
}

package dev.twine.xmpp;

import dev.twine.core.Client;
import dev.twine.core.Connection;
import java.io.IOException;
import java.net.UnknownHostException;
import java.util.Map;

/**
 * How the server reaches another domain's server for federation (RFC 6120 §13.9.3: a server
 * stream to the remote domain): a remote domain in, a connection to its server out, on which
 * {@link XmppServer} then opens an XML stream, negotiates STARTTLS and authenticates with Server
 * Dialback (XEP-0220). The shipped implementation is {@link #routes(Map)}, a static table;
 * tests hand in one that connects in memory, and a deployment may look names up as it likes.
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
     * A static route table: each remote domain to a client endpoint ({@code tcp:HOST:PORT}, or
     * {@code tls:HOST:PORT} for direct TLS, XEP-0368), connected with net-core's default client
     * options (30 seconds to connect); a domain not in the table is {@link UnknownHostException}.
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
        return domain -> {
            String ep = copy.get(domain.toLowerCase(java.util.Locale.ROOT));
            if (ep == null) {
                throw new UnknownHostException("no s2s route for " + domain);
            }
            return Client.connect(ep);
        };
    }

    /**
     * Discovery through DNS (RFC 6120 §3.2.1, RFC 2782): the {@code _xmpp-server._tcp.DOMAIN}
     * SRV records, tried by priority and, within one priority, in an order drawn by weight;
     * with none, the domain's own addresses (A, then AAAA) at port 5269 (§3.2.2). Each target's
     * addresses come from the same resolver and are tried in turn, 30 seconds each. A single SRV
     * record with the target {@code .} means the domain offers no service
     * ({@link UnknownHostException}). Direct-TLS records ({@code _xmpps-server._tcp}, XEP-0368)
     * are not looked up.
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
        return domain -> {
            try {
                return connect(domain);
            } catch (UnknownHostException e) {
                return next.connect(domain);
            }
        };
    }
}

package dev.twine.mail.smtp;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Finds the hosts that accept mail for a domain (RFC 5321 §5.1): the MX targets in preference
 * order, or the domain itself when it has no MX record. The relay queue asks it for each
 * recipient domain. {@link DnsMxResolver} implements it over net-dns's resolver; tests and
 * {@code --smarthost} use {@link #fixed} and {@link #of}.
 */
@FunctionalInterface
public interface MxResolver {
    /**
     * The next hops for {@code domain}, best first.
     *
     * @return {@code host:port} strings (the port is 25 for real MX hosts); empty if the domain
     *     accepts no mail (a null MX, RFC 7505, or a domain that does not exist): its
     *     recipients then bounce at once
     * @throws IOException if the lookup failed for now (a temporary DNS failure): the queue
     *     retries later
     */
    List<String> lookup(String domain) throws IOException;

    /**
     * The next hops for {@code domain}, best first, each with the host name its certificate is
     * checked against when TLS must be verified (REQUIRETLS, RFC 8689 §4.2.1; MTA-STS, RFC 8461
     * §4.1) and that an MTA-STS policy's {@code mx} patterns are matched with. By default each
     * {@link #lookup} entry names itself (the part before the port); {@link DnsMxResolver} gives
     * the MX host's name with each of its addresses.
     *
     * @throws IOException as {@link #lookup} does
     */
    default List<Host> hosts(String domain) throws IOException {
        return lookup(domain).stream().map(Host::of).toList();
    }

    /**
     * {@link #hosts}, and whether the hosts can be trusted to be the domain's own: true when the
     * MX answer was authenticated by DNSSEC, or when no DNS was asked (a {@linkplain #fixed fixed
     * next hop} or a {@linkplain #of table}, set by the operator). A message sent with REQUIRETLS
     * goes only to hosts so vouched for, or named by the domain's enforced MTA-STS policy
     * (RFC 8689 §4.2.1). By default {@link #hosts}, not authenticated.
     *
     * @throws IOException as {@link #lookup} does
     */
    default Hops hops(String domain) throws IOException {
        return new Hops(hosts(domain), false);
    }

    /**
     * The next hops for a domain and whether they are authenticated ({@link #hops}).
     *
     * @param hosts the hops, best first
     * @param authenticated whether the MX answer was DNSSEC-authenticated, or no DNS was asked
     */
    record Hops(List<Host> hosts, boolean authenticated) {
        /** Copies the list. */
        public Hops {
            hosts = List.copyOf(hosts);
        }
    }

    /**
     * One next hop.
     *
     * @param name the MX host name (or the address itself when no name is known), without a
     *     trailing dot
     * @param address where to connect, {@code host:port}
     */
    record Host(String name, String address) {
        /** Checks that nothing is null. */
        public Host {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(address, "address");
        }

        /** A hop named by its own {@code host:port} ({@code [v6]:port} too). */
        static Host of(String hostPort) {
            int colon = hostPort.lastIndexOf(':');
            String host = colon > 0 ? hostPort.substring(0, colon) : hostPort;
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            return new Host(host, hostPort);
        }
    }

    /**
     * Sends every domain's mail to one host ({@code --smarthost HOST:PORT}); its hop counts as
     * {@linkplain #hops authenticated}, the operator having named it.
     */
    static MxResolver fixed(String hostPort) {
        Objects.requireNonNull(hostPort, "hostPort");
        return configured(domain -> List.of(hostPort));
    }

    /** {@code lookup} as a resolver whose hops the operator configured: no DNS, so authenticated. */
    private static MxResolver configured(MxResolver lookup) {
        return new MxResolver() {
            @Override
            public List<String> lookup(String domain) throws IOException {
                return lookup.lookup(domain);
            }

            @Override
            public Hops hops(String domain) throws IOException {
                return new Hops(hosts(domain), true);
            }
        };
    }

    /**
     * A static table, domain (lower case) to {@code host:port} list; unknown domains fail
     * temporarily, as a DNS timeout would. Its hops count as {@linkplain #hops authenticated}.
     */
    static MxResolver of(Map<String, List<String>> table) {
        Map<String, List<String>> copy = Map.copyOf(table);
        return configured(domain -> {
            List<String> hosts = copy.get(domain.toLowerCase(java.util.Locale.ROOT));
            if (hosts == null) {
                throw new IOException("no MX data for " + domain);
            }
            return hosts;
        });
    }
}

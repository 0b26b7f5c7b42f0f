package dev.twine.mail.smtp;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An {@link MxResolver} over net-dns's {@link Resolver}: the MX targets of a domain by preference
 * (RFC 5321 §5.1), the domain itself when it has no MX record (the implicit MX), and no host at
 * all for a null MX (RFC 7505) or a domain that does not exist. The MX query asks for the AD bit:
 * {@link MxResolver#hops} says the hops are authenticated when the resolver trusts the bit and the
 * server set it ({@link Resolver#authenticatedLookup}), which a validating resolver on this host
 * does for a domain whose MX records DNSSEC proves.
 */
public final class DnsMxResolver {
    private DnsMxResolver() {}

    /** MX lookups with {@code resolver}; the next hops listen on port 25. */
    public static MxResolver over(Resolver resolver) {
        return over(resolver, 25);
    }

    /**
     * MX lookups with {@code resolver}, connecting to the hosts on {@code port} (25 on the
     * Internet; another port for tests on loopback).
     */
    public static MxResolver over(Resolver resolver, int port) {
        Objects.requireNonNull(resolver, "resolver");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        return new MxResolver() {
            @Override
            public List<String> lookup(String domain) throws IOException {
                return hosts(domain).stream().map(Host::address).toList();
            }

            @Override
            public List<Host> hosts(String domain) throws IOException {
                return hops(domain).hosts();
            }

            @Override
            public Hops hops(String domain) throws IOException {
                return resolve(resolver, port, domain);
            }
        };
    }

    private static MxResolver.Hops resolve(Resolver resolver, int port, String domain) throws IOException {
        List<DnsRecord.Mx> mx;
        boolean authenticated;
        try {
            Resolver.Lookup<DnsRecord.Mx> answer = resolver.authenticatedLookupMx(domain);
            mx = answer.records();
            authenticated = answer.authenticated();
        } catch (DnsException e) {
            if (e.isNameError()) {
                return new MxResolver.Hops(List.of(), false); // NXDOMAIN: permanent
            }
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("MX lookup for " + domain + " interrupted");
        }
        if (mx.isEmpty()) {
            // RFC 5321 §5.1: no MX record, the domain's own address is the implicit MX
            mx = List.of(new DnsRecord.Mx(domain, 0, 0, domain));
        }
        List<MxResolver.Host> hosts = new ArrayList<>();
        IOException lastFailure = null;
        for (DnsRecord.Mx m : mx) {
            String host = m.exchange().endsWith(".") ? m.exchange().substring(0, m.exchange().length() - 1) : m.exchange();
            if (host.isEmpty()) {
                return new MxResolver.Hops(List.of(), authenticated); // RFC 7505 null MX: the domain takes no mail
            }
            // the exchange's addresses come from the same resolver, not the system's
            try {
                for (InetAddress a : resolver.lookupAddresses(host)) {
                    String ip = a.getHostAddress();
                    hosts.add(new MxResolver.Host(host, (a instanceof Inet6Address ? "[" + ip + "]" : ip) + ":" + port));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("address lookup for " + host + " interrupted");
            } catch (IOException e) {
                lastFailure = e; // try the other exchanges
            }
        }
        if (hosts.isEmpty()) {
            throw lastFailure != null ? lastFailure : new IOException("no address for any MX host of " + domain);
        }
        // the MX answer is what REQUIRETLS needs vouched for (RFC 8689 §4.2.1): the certificate,
        // checked against the MX name, covers the address lookups
        return new MxResolver.Hops(hosts, authenticated);
    }
}

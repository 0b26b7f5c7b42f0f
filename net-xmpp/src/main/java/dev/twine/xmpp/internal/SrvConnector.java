package dev.twine.xmpp.internal;

import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.Endpoint;
import dev.twine.core.Tls;
import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import dev.twine.xmpp.S2sConnector;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@link S2sConnector#dns}: {@code _xmpps-server._tcp} (direct TLS, XEP-0368) and
 * {@code _xmpp-server._tcp} SRV records, else the domain's addresses at 5269.
 */
public final class SrvConnector implements S2sConnector {
    private static final int DEFAULT_PORT = 5269; // RFC 6120 §3.2.2 (IANA's xmpp-server)
    private static final ClientOptions OPTIONS = ClientOptions.builder().name("xmpp-s2s")
            .connectTimeout(Duration.ofSeconds(30)).build();

    private final Resolver resolver;

    /** Looks names up with {@code resolver}. */
    public SrvConnector(Resolver resolver) {
        this.resolver = resolver;
    }

    /** A host and port to try, with TLS from the first byte (XEP-0368) or not. */
    record Target(String host, int port, boolean directTls) {}

    @Override
    public Connection connect(String domain) throws IOException, InterruptedException {
        return connect(domain, Tls.clientAcceptingAnyCertificate().withAlpn("xmpp-server"));
    }

    @Override
    public Connection connect(String domain, Tls directTls) throws IOException, InterruptedException {
        IOException last = null;
        for (Target t : targets(domain)) {
            List<InetAddress> addresses;
            try {
                addresses = resolver.lookupAddresses(t.host());
            } catch (IOException e) {
                last = e;
                continue;
            }
            for (InetAddress a : addresses) {
                Connection c = null;
                try {
                    c = Client.connect(new Endpoint.Tcp(a.getHostAddress(), t.port(), 0), OPTIONS);
                    if (t.directTls()) {
                        c.startTls(directTls, domain); // XEP-0368 §4: SNI is the domain, not the SRV target
                    }
                    return c;
                } catch (IOException e) {
                    if (c != null) {
                        c.close();
                    }
                    last = e; // RFC 6120 §3.2.1 step 9: the next address, then the next target
                }
            }
        }
        if (last instanceof java.net.SocketTimeoutException) {
            throw last;
        }
        UnknownHostException none = new UnknownHostException("no server reachable for " + domain);
        if (last != null) {
            none.initCause(last);
        }
        throw none;
    }

    /**
     * RFC 6120 §3.2.1 and XEP-0368 §3: the SRV targets of both services in the order to try, or
     * the domain itself at 5269 (§3.2.2) if neither has records.
     */
    List<Target> targets(String domain) throws IOException, InterruptedException {
        List<DnsRecord.Srv> direct = srv("_xmpps-server._tcp." + domain);
        List<DnsRecord.Srv> plain = srv("_xmpp-server._tcp." + domain);
        boolean directNone = offersNone(direct);
        boolean plainNone = offersNone(plain);
        if (directNone && (plainNone || plain.isEmpty()) || plainNone && direct.isEmpty()) {
            throw new UnknownHostException(domain + " says it offers no XMPP server service (SRV target '.')");
        }
        if (direct.isEmpty() && plain.isEmpty()) {
            return List.of(new Target(domain, DEFAULT_PORT, false));
        }
        return merge(directNone ? List.of() : order(direct), plainNone ? List.of() : order(plain));
    }

    /**
     * XEP-0368 §3: both services' records by priority, and at equal priority the direct-TLS ones
     * first; each list comes already in RFC 2782 order.
     */
    static List<Target> merge(List<DnsRecord.Srv> direct, List<DnsRecord.Srv> plain) {
        List<Target> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < direct.size() || j < plain.size()) {
            if (j == plain.size() || i < direct.size() && direct.get(i).priority() <= plain.get(j).priority()) {
                out.add(new Target(strip(direct.get(i).target()), direct.get(i++).port(), true));
            } else {
                out.add(new Target(strip(plain.get(j).target()), plain.get(j++).port(), false));
            }
        }
        return out;
    }

    private List<DnsRecord.Srv> srv(String name) throws IOException, InterruptedException {
        try {
            return resolver.lookup(name, RecordType.SRV, DnsRecord.Srv.class);
        } catch (DnsException e) {
            if (!e.isNameError()) {
                throw e;
            }
            return List.of();
        }
    }

    /** RFC 2782: a single record with the target "." says the service is not offered. */
    private static boolean offersNone(List<DnsRecord.Srv> srv) {
        return srv.size() == 1 && (srv.get(0).target().equals(".") || srv.get(0).target().isEmpty());
    }

    /** RFC 2782: by priority, lowest first; within one, a weighted random order (weight 0 last but possible). */
    static List<DnsRecord.Srv> order(List<DnsRecord.Srv> records) {
        List<DnsRecord.Srv> sorted = new ArrayList<>(records);
        sorted.sort(Comparator.comparingInt(DnsRecord.Srv::priority));
        List<DnsRecord.Srv> out = new ArrayList<>();
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            while (j < sorted.size() && sorted.get(j).priority() == sorted.get(i).priority()) {
                j++;
            }
            List<DnsRecord.Srv> group = new ArrayList<>(sorted.subList(i, j));
            group.sort(Comparator.comparingInt(DnsRecord.Srv::weight)); // zero weights first, as RFC 2782 says
            while (!group.isEmpty()) {
                int sum = 0;
                for (DnsRecord.Srv r : group) {
                    sum += r.weight();
                }
                int pick = ThreadLocalRandom.current().nextInt(sum + 1);
                int running = 0;
                for (int k = 0; k < group.size(); k++) {
                    running += group.get(k).weight();
                    if (running >= pick) {
                        out.add(group.remove(k));
                        break;
                    }
                }
            }
            i = j;
        }
        return out;
    }

    private static String strip(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }
}
